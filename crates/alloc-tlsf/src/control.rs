//! The TLSF control structure: free lists per size class, two bitmaps to find a non-empty
//! list in O(1), and the in-band block headers (physical neighbours, splitting and merging).
//!
//! Every block, free or used, starts with a [`Hdr`]: a pointer to the physically previous
//! block, marked in its low bit when that block is free, and the block's size with two
//! flag bits. A free block also holds the links of its free list after the header. Each
//! region ends with a used sentinel header of size 0, so the last block's "next" is never
//! free. Invariants (kept by every function here): no two free blocks are physical
//! neighbours; a header's `prev_phys` is marked exactly when its predecessor is free;
//! every free block is on the list of its size class, and that list's bit is set in both
//! bitmaps; block sizes are multiples of [`GRAN`] of at least [`MIN_BLOCK`]; headers are
//! [`GRAN`]-aligned.

use core::ptr;

use crate::mapping::{FL, GRAN, GRAN_LOG2, MAX_BLOCK, SL, SL_LOG2, insert_index, search_index};

/// Block header.
#[repr(C)]
pub(crate) struct Hdr {
    /// The physically previous block, with [`PREV_FREE`] set when it is free (see
    /// [`marked`]); null for the first block of a region. Freeing a block reads its own
    /// header for the mark instead of its predecessor's (another cache line).
    prev_phys: *mut Hdr,
    /// Size of the block (header included) | flags.
    size: usize,
}

/// A free block: the header, then its free-list links.
#[repr(C)]
struct FreeHdr {
    hdr: Hdr,
    next: *mut FreeHdr,
    prev: *mut FreeHdr,
}

/// Flag: the block is free.
const FREE: usize = 1;
/// Flag: the block is a region's end sentinel.
const SENTINEL: usize = 2;
const FLAGS: usize = FREE | SENTINEL;
/// The mark in a `prev_phys` pointer (GRAN-aligned, so its low bit is free): the
/// physically previous block is free.
const PREV_FREE: usize = 1;

/// `b`, marked as a free predecessor.
#[inline(always)]
fn marked(b: *mut Hdr) -> *mut Hdr {
    b.map_addr(|a| a | PREV_FREE)
}

/// Bytes of a used block's header.
pub(crate) const HDR: usize = size_of::<Hdr>();
/// The smallest block: a free block's header and links.
pub(crate) const MIN_BLOCK: usize = size_of::<FreeHdr>();

const _: () = assert!(HDR == GRAN && MIN_BLOCK == 2 * GRAN);

/// One region of memory given to the heap; its record sits at the region's start.
#[repr(C)]
pub(crate) struct Region {
    /// The next region (most recent first).
    pub(crate) next: *mut Region,
    /// Address of the first block's header.
    pub(crate) start: usize,
    /// Address of the sentinel header (the end of the last block).
    pub(crate) end: usize,
    /// The parent's block this region is, to be given back on drop (size 0: not a
    /// parent's block).
    pub(crate) parent_ptr: *mut u8,
    pub(crate) parent_size: usize,
    pub(crate) parent_align: usize,
}

/// Bytes taken by a region's record, rounded to [`GRAN`].
pub(crate) const REGION: usize = size_of::<Region>().next_multiple_of(GRAN);

/// Why a block given back was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not inside any region, or not where a block's memory starts.
    Foreign,
    /// Its header says it is free (a double free), or is not a header this heap wrote.
    NotAllocated,
}

/// Rows of the list table: [`FL`] rounded up to the bitmap's width, so that a list number
/// masked with `LISTS - 1` indexes the table without a bounds check.
const ROWS: usize = 32;
/// Lists in the table (`fl * SL + sl`; see `mapping::insert_index`).
const LISTS: usize = ROWS * SL;

const _: () = assert!(FL <= ROWS && ROWS.is_power_of_two() && SL.is_power_of_two());

/// List number `i` as a table index (below [`LISTS`] for every size below [`MAX_BLOCK`];
/// the mask only spares the bounds check).
#[inline(always)]
const fn list(i: usize) -> usize {
    i & (LISTS - 1)
}

/// The first level of list `i`, as a row index.
#[inline(always)]
const fn row(i: usize) -> usize {
    list(i) >> SL_LOG2
}

/// The bit of list `i` in its row's second-level bitmap.
#[inline(always)]
const fn sl_bit(i: usize) -> u32 {
    1 << (i & (SL - 1))
}

/// The control structure.
pub(crate) struct Control {
    /// Bit `fl`: row `fl` of `sl_bitmap` is not zero.
    fl_bitmap: u32,
    /// Bit `sl` of row `fl`: list `fl * SL + sl` is not empty.
    sl_bitmap: [u32; ROWS],
    /// The first free block of each list (null: empty).
    heads: [*mut FreeHdr; LISTS],
    /// Every region, most recent first.
    pub(crate) regions: *mut Region,
    /// The most recent region's block area, copied here so that the check of a block
    /// given back usually reads no record: its `start`, and the number of GRAN steps from
    /// `start` where a block may start (`(end - start - MIN_BLOCK) / GRAN + 1`, `end` the
    /// sentinel's address); 0 and 0 with no region.
    first_start: usize,
    first_slots: usize,
}

impl Control {
    pub(crate) const fn new() -> Self {
        Self {
            fl_bitmap: 0,
            sl_bitmap: [0; ROWS],
            heads: [ptr::null_mut(); LISTS],
            regions: ptr::null_mut(),
            first_start: 0,
            first_slots: 0,
        }
    }

    /// Puts free block `b` of `size` bytes (its size field set, FREE flag included) on its
    /// list.
    ///
    /// # Safety
    ///
    /// `b` is a block header of a region of this heap, of `size` bytes, at least
    /// [`MIN_BLOCK`].
    #[inline(always)]
    unsafe fn insert(&mut self, b: *mut FreeHdr, size: usize) {
        let i = insert_index(size);
        let head = self.heads[list(i)];
        // SAFETY: `b` has room for its links (caller); the head, if any, is a free block
        // of the same list.
        unsafe {
            (*b).next = head;
            (*b).prev = ptr::null_mut();
        }
        self.heads[list(i)] = b;
        if head.is_null() {
            self.fl_bitmap |= 1 << row(i);
            self.sl_bitmap[row(i)] |= sl_bit(i);
        } else {
            // SAFETY: as above (a non-empty list's bits are already set).
            unsafe { (*head).prev = b };
        }
    }

    /// Takes free block `b`, of `size` bytes, off its list.
    ///
    /// # Safety
    ///
    /// `b` is on its list; `size` is its size (flags cleared).
    #[inline(always)]
    unsafe fn remove(&mut self, b: *mut FreeHdr, size: usize) {
        // SAFETY: `b` and its neighbours on the list are free blocks (caller).
        unsafe {
            let (next, prev) = ((*b).next, (*b).prev);
            if !next.is_null() {
                (*next).prev = prev;
            }
            if prev.is_null() {
                // The head of its list: only then is its list number needed.
                self.pop_to(insert_index(size), next);
            } else {
                (*prev).next = next;
            }
        }
    }

    /// Makes `next` the head of list `i` whose head was just taken off, clearing the
    /// list's bits if it is now empty.
    #[inline(always)]
    fn pop_to(&mut self, i: usize, next: *mut FreeHdr) {
        self.heads[list(i)] = next;
        if next.is_null() {
            self.sl_bitmap[row(i)] &= !sl_bit(i);
            if self.sl_bitmap[row(i)] == 0 {
                self.fl_bitmap &= !(1 << row(i));
            }
        }
    }

    /// A free block of at least `size` bytes, taken off its list; null if none.
    #[inline(always)]
    fn take(&mut self, size: usize) -> *mut FreeHdr {
        let Some(i) = search_index(size) else {
            return ptr::null_mut();
        };
        let mut fl = row(i);
        let mut sl_map = self.sl_bitmap[fl] & (!0u32 << (i & (SL - 1)));
        if sl_map == 0 {
            let fl_map = self.fl_bitmap & (!0u32).checked_shl(fl as u32 + 1).unwrap_or(0);
            if fl_map == 0 {
                return ptr::null_mut();
            }
            fl = fl_map.trailing_zeros() as usize;
            sl_map = self.sl_bitmap[fl & (ROWS - 1)];
        }
        let i = (fl << SL_LOG2) + sl_map.trailing_zeros() as usize;
        let b = self.heads[list(i)];
        // SAFETY: a set bit means a non-empty list, whose head is a free block on it, with
        // no predecessor on the list.
        let next = unsafe { (*b).next };
        if !next.is_null() {
            // SAFETY: `next` is a free block on the same list.
            unsafe { (*next).prev = ptr::null_mut() };
        }
        self.pop_to(i, next);
        b
    }

    /// Adds the memory `[start, end)` (addresses of `base`'s provenance) as a region.
    /// Returns false if it is too small.
    ///
    /// # Safety
    ///
    /// `base..base + (end - base)` is memory valid for reads and writes, owned by the heap
    /// from now on, `start` and `end` are inside it, `start` is [`GRAN`]-aligned and
    /// `end - start` is a multiple of [`GRAN`] below [`MAX_BLOCK`].
    pub(crate) unsafe fn add_region(
        &mut self,
        base: *mut u8,
        start: usize,
        end: usize,
        parent: (*mut u8, usize, usize),
    ) -> bool {
        if end - start < REGION + MIN_BLOCK + HDR || end - start >= MAX_BLOCK {
            return false;
        }
        let at = |addr: usize| base.wrapping_add(addr - base.addr());
        let first = start + REGION;
        let sentinel = end - HDR;
        // SAFETY: the record, the first block and the sentinel are inside the region, at
        // GRAN-aligned addresses (caller), with room for their headers.
        unsafe {
            let region = at(start).cast::<Region>();
            region.write(Region {
                next: self.regions,
                start: first,
                end: sentinel,
                parent_ptr: parent.0,
                parent_size: parent.1,
                parent_align: parent.2,
            });
            self.regions = region;
            self.first_start = first;
            self.first_slots = (sentinel - first - MIN_BLOCK) / GRAN + 1;
            let b = at(first).cast::<FreeHdr>();
            (*b).hdr = Hdr {
                prev_phys: ptr::null_mut(),
                size: (sentinel - first) | FREE,
            };
            let s = at(sentinel).cast::<Hdr>();
            s.write(Hdr {
                prev_phys: marked(b.cast()),
                size: SENTINEL,
            });
            self.insert(b, sentinel - first);
        }
        true
    }

    /// Allocates a block whose user part (after the header) has `need - HDR` bytes and
    /// is aligned to `align`; the user pointer and the block's usable size.
    #[inline(always)]
    pub(crate) fn allocate(&mut self, need: usize, align: usize) -> Option<(*mut u8, usize)> {
        if align > GRAN {
            return self.allocate_aligned(need, align);
        }
        self.allocate_small(need)
    }

    /// [`allocate`](Self::allocate) for alignments up to [`GRAN`] (every block's).
    #[inline(always)]
    pub(crate) fn allocate_small(&mut self, need: usize) -> Option<(*mut u8, usize)> {
        let b = self.take(need).cast::<Hdr>();
        if b.is_null() {
            return None;
        }
        // SAFETY: `b` is a free block taken off its list, of at least `need` bytes.
        Some(unsafe { self.carve(b, need) })
    }

    /// [`allocate`](Self::allocate) for alignments above [`GRAN`]: a block with room for
    /// the gap before an aligned user part, the gap split off as a free block.
    #[inline(never)]
    fn allocate_aligned(&mut self, need: usize, align: usize) -> Option<(*mut u8, usize)> {
        let mut b = self
            .take(need.checked_add(align + MIN_BLOCK)?)
            .cast::<Hdr>();
        if b.is_null() {
            return None;
        }
        // SAFETY: `b` is a free block taken off its list, of at least `need + align +
        // MIN_BLOCK` bytes; the gap before the aligned user part is less than `align +
        // MIN_BLOCK`, so every address below stays inside it and `need` bytes are left;
        // its neighbours are valid headers.
        unsafe {
            let user = b.addr() + HDR;
            let mut gap = user.next_multiple_of(align) - user;
            if gap != 0 && gap < MIN_BLOCK {
                gap += align;
            }
            if gap != 0 {
                // The gap becomes a free block of its own before the aligned one.
                let size = (*b).size & !FLAGS;
                let rest = b.byte_add(gap);
                (*rest).prev_phys = marked(b);
                (*rest).size = (size - gap) | FREE;
                (*b).size = gap | FREE;
                self.set_next_prev(rest);
                self.insert(b.cast(), gap);
                b = rest;
            }
            Some(self.carve(b, need))
        }
    }

    /// Makes free block `b` (off its list) a used block of `need` bytes, the rest split
    /// off as a free block if it makes one; the user pointer and the usable size.
    ///
    /// # Safety
    ///
    /// `b` is a free block header of this heap, taken off its list, of at least `need`
    /// bytes (a multiple of [`GRAN`], at least [`MIN_BLOCK`]).
    #[inline(always)]
    unsafe fn carve(&mut self, b: *mut Hdr, need: usize) -> (*mut u8, usize) {
        // SAFETY: `b` is a free block of at least `need` bytes (caller); the rest starts
        // inside it. Its next neighbour is not free (no two free blocks are neighbours),
        // so the rest needs no merging.
        unsafe {
            let mut size = (*b).size & !FLAGS;
            let rest_size = size - need;
            if rest_size >= MIN_BLOCK {
                let rest = b.byte_add(need);
                (*rest).prev_phys = b;
                (*rest).size = rest_size | FREE;
                // Still marked: `b` was free and the rest is.
                (*rest.byte_add(rest_size)).prev_phys = marked(rest);
                self.insert(rest.cast(), rest_size);
                size = need;
            } else {
                // The mark goes: the whole block is used now.
                (*b.byte_add(size)).prev_phys = b;
            }
            (*b).size = size;
            (b.cast::<u8>().add(HDR), size - HDR)
        }
    }

    /// Shrinks used block `b` (of `size` bytes) to `need` bytes if the rest makes a block,
    /// freeing the rest (merged with a free next neighbour); sets `b`'s size.
    ///
    /// # Safety
    ///
    /// `b` is a used block header of this heap, with `need <= size`, and `size` reaches
    /// the header of a block (or of the sentinel).
    #[inline(always)]
    unsafe fn split(&mut self, b: *mut Hdr, size: usize, need: usize) {
        if size - need < MIN_BLOCK {
            // SAFETY: `b` is a header (caller).
            unsafe { (*b).size = size };
            return;
        }
        // SAFETY: the rest starts inside `b` at a GRAN multiple and has room for a free
        // header; `b`'s next neighbour is a valid header.
        unsafe {
            (*b).size = need;
            let rest = b.byte_add(need);
            (*rest).prev_phys = b;
            let mut rest_size = size - need;
            let next = rest.byte_add(rest_size);
            let next_size = (*next).size;
            if next_size & FREE != 0 {
                self.remove(next.cast(), next_size & !FLAGS);
                rest_size += next_size & !FLAGS;
            }
            (*rest).size = rest_size | FREE;
            (*rest.byte_add(rest_size)).prev_phys = marked(rest);
            self.insert(rest.cast(), rest_size);
        }
    }

    /// Makes the physical successor of `b` point back to `b`.
    ///
    /// # Safety
    ///
    /// `b` is a block header of this heap with its final size.
    #[inline(always)]
    unsafe fn set_next_prev(&mut self, b: *mut Hdr) {
        // SAFETY: every block is followed by a header (another block or the sentinel).
        unsafe {
            let next = b.byte_add((*b).size & !FLAGS);
            (*next).prev_phys = b;
        }
    }

    /// The header of the used block whose user part starts at `user`, if it is in the
    /// most recent region and passes the checks; `None` for anything else (another
    /// region, or a bad block), which [`header_of`](Self::header_of) then sorts out.
    ///
    /// Reads the most recent region's bounds from `self`, not from its record.
    #[inline(always)]
    pub(crate) fn header_fast(&self, user: *mut u8) -> Option<*mut Hdr> {
        let addr = user.addr().wrapping_sub(HDR);
        // One comparison for three facts: `addr` is in the most recent region, a multiple
        // of GRAN from its start (the rotation moves a remainder to the top bits), and at
        // least MIN_BLOCK bytes before its end.
        let slot = addr.wrapping_sub(self.first_start).rotate_right(GRAN_LOG2);
        if slot >= self.first_slots {
            return None;
        }
        // The header is reached through the region's own pointer, never through the
        // caller's: a caller's pointer may carry the provenance of the user part only (a
        // `Box` retags it so), and may not be ours at all.
        let h = self.regions.cast::<u8>().with_addr(addr).cast::<Hdr>();
        // SAFETY: `h` is a GRAN-aligned address inside the block area of `regions`
        // (checked), with the provenance of its record, which covers the whole region;
        // every position the heap ever used as a header there was written by it.
        let size = unsafe { (*h).size };
        // One comparison for `MIN_BLOCK <= size <= end - addr` (`end` the sentinel's
        // address) with no flag set: a used block's size is a multiple of GRAN, so the
        // rotation leaves `(size - MIN_BLOCK) / GRAN` and sends any remainder (a flag) or
        // a wrap-around (a size below MIN_BLOCK) to the top bits; `(end - addr -
        // MIN_BLOCK) / GRAN` is `first_slots - 1 - slot`.
        if size.wrapping_sub(MIN_BLOCK).rotate_right(GRAN_LOG2) >= self.first_slots - slot {
            return None;
        }
        // SAFETY: the block lies inside the region (checked), so its successor's header
        // is too.
        if unsafe { (*h.byte_add(size)).prev_phys } != h {
            return None;
        }
        Some(h)
    }

    /// The header of the used block whose user part starts at `user`, checked in every
    /// region (a walk over the records); why it is refused otherwise.
    #[cold]
    #[inline(never)]
    pub(crate) fn header_of(&self, user: *mut u8) -> Result<*mut Hdr, Refused> {
        let addr = user.addr().wrapping_sub(HDR);
        let mut r = self.regions;
        while !r.is_null() {
            // SAFETY: `regions` links only region records written by `add_region`.
            let region = unsafe { &*r };
            if addr >= region.start && addr < region.end {
                // SAFETY: `addr` is inside the block area of region `r`, which ends at
                // `region.end`.
                return unsafe { Self::check(r, addr, region.end) };
            }
            r = region.next;
        }
        Err(Refused::Foreign)
    }

    /// Checks that `addr` is the header of a used block of region `r`.
    ///
    /// # Safety
    ///
    /// `r` is a region record of this heap, whose block area holds `addr` and ends at
    /// `end` (the sentinel's address).
    #[inline(always)]
    unsafe fn check(r: *mut Region, addr: usize, end: usize) -> Result<*mut Hdr, Refused> {
        if addr % GRAN != 0 {
            return Err(Refused::Foreign);
        }
        // The header is reached through the region's own pointer, never through the
        // caller's: a caller's pointer may carry the provenance of the user part only (a
        // `Box` retags it so), and may not be ours at all.
        let h = r.cast::<u8>().with_addr(addr).cast::<Hdr>();
        // SAFETY: `h` is a GRAN-aligned address inside a region (caller, checked), with
        // the provenance of the region's record, which covers the whole region; every
        // position the heap ever used as a header there was written by it.
        let size = unsafe { (*h).size };
        if size & FLAGS != 0 || size < MIN_BLOCK || size > end - addr {
            return Err(Refused::NotAllocated);
        }
        // SAFETY: the block lies inside the region (checked), so its successor's header
        // is too.
        let back = unsafe { (*h.byte_add(size)).prev_phys };
        if back != h {
            return Err(Refused::NotAllocated);
        }
        Ok(h)
    }

    /// The usable size of used block `h`.
    ///
    /// # Safety
    ///
    /// `h` is a used block header of this heap.
    #[inline(always)]
    pub(crate) unsafe fn usable(h: *mut Hdr) -> usize {
        // SAFETY: caller.
        (unsafe { (*h).size } & !FLAGS) - HDR
    }

    /// Frees used block `h`, merging it with free neighbours.
    ///
    /// # Safety
    ///
    /// `h` is a used block header of this heap.
    #[inline(always)]
    pub(crate) unsafe fn free(&mut self, h: *mut Hdr) {
        // SAFETY: `h` and its physical neighbours are valid headers (caller, and the
        // region layout); merged neighbours are taken off their lists first.
        unsafe {
            let mut b = h;
            let mut size = (*b).size & !FLAGS;
            let next = b.byte_add(size);
            let next_size = (*next).size;
            if next_size & FREE != 0 {
                self.remove(next.cast(), next_size & !FLAGS);
                size += next_size & !FLAGS;
            }
            let prev = (*b).prev_phys;
            if prev.addr() & PREV_FREE != 0 {
                let prev = prev.map_addr(|a| a & !PREV_FREE);
                let prev_size = (*prev).size & !FLAGS;
                self.remove(prev.cast(), prev_size);
                size += prev_size;
                b = prev;
            }
            (*b).size = size | FREE;
            (*b.byte_add(size)).prev_phys = marked(b);
            self.insert(b.cast(), size);
        }
    }

    /// Resizes used block `h` in place to `need` bytes: shrinks, or grows into a free next
    /// neighbour. Returns the new usable size, or `None` if it cannot (nothing changed).
    ///
    /// # Safety
    ///
    /// `h` is a used block header of this heap.
    #[inline(always)]
    pub(crate) unsafe fn resize_in_place(&mut self, h: *mut Hdr, need: usize) -> Option<usize> {
        // SAFETY: as in `free`.
        unsafe {
            let size = (*h).size & !FLAGS;
            if need <= size {
                self.split(h, size, need);
                return Some(Self::usable(h));
            }
            let next = h.byte_add(size);
            let next_size = (*next).size;
            let total = size + (next_size & !FLAGS);
            if next_size & FREE == 0 || total < need {
                return None;
            }
            self.remove(next.cast(), next_size & !FLAGS);
            (*h.byte_add(total)).prev_phys = h;
            self.split(h, total, need);
            Some(Self::usable(h))
        }
    }

    /// Moves used block `h` down into its free previous neighbour, together with its
    /// free next neighbour if there is one, when they hold `need` bytes: the first `len`
    /// bytes of its user part are moved, the rest split off; the new user pointer and
    /// usable size, or `None` (nothing changed). The block then starts where it would
    /// have grown from had it been allocated there, so later growth is more often in
    /// place.
    ///
    /// # Safety
    ///
    /// `h` is a used block header of this heap, `len` at most its usable size, `need` a
    /// block size (a multiple of [`GRAN`], at least [`MIN_BLOCK`]).
    #[inline]
    pub(crate) unsafe fn move_into_prev(
        &mut self,
        h: *mut Hdr,
        need: usize,
        len: usize,
    ) -> Option<(*mut u8, usize)> {
        // SAFETY: `h` and its physical neighbours are valid headers (caller, and the
        // region layout); merged neighbours are taken off their lists before their links
        // are overwritten; the user part moves down within the merged block and never
        // past `h`'s end (`len` is at most its usable size), so the next block's header
        // is untouched; headers are written after the move.
        unsafe {
            let prev = (*h).prev_phys;
            if prev.addr() & PREV_FREE == 0 {
                return None;
            }
            let prev = prev.map_addr(|a| a & !PREV_FREE);
            let prev_size = (*prev).size & !FLAGS;
            let size = (*h).size & !FLAGS;
            let next = h.byte_add(size);
            let next_size = (*next).size;
            let mut total = prev_size + size;
            if next_size & FREE != 0 {
                total += next_size & !FLAGS;
            }
            if total < need {
                return None;
            }
            self.remove(prev.cast(), prev_size);
            if next_size & FREE != 0 {
                self.remove(next.cast(), next_size & !FLAGS);
            }
            ptr::copy(h.cast::<u8>().add(HDR), prev.cast::<u8>().add(HDR), len);
            (*prev).size = total;
            (*prev.byte_add(total)).prev_phys = prev;
            self.split(prev, total, need);
            Some((prev.cast::<u8>().add(HDR), Self::usable(prev)))
        }
    }

    /// Whether `[addr, addr + len)` lies inside the blocks of one region.
    pub(crate) fn contains(&self, addr: usize, len: usize) -> bool {
        let mut r = self.regions;
        while !r.is_null() {
            // SAFETY: `regions` links only region records written by `add_region`.
            let region = unsafe { &*r };
            if addr >= region.start + HDR && len <= region.end.saturating_sub(addr) {
                return true;
            }
            r = region.next;
        }
        false
    }

    /// Free bytes (headers of free blocks included), by walking the lists.
    pub(crate) fn free_bytes(&self) -> usize {
        let mut total = 0;
        for &head in &self.heads {
            let mut b = head;
            while !b.is_null() {
                // SAFETY: lists link free blocks only.
                unsafe {
                    total += (*b).hdr.size & !FLAGS;
                    b = (*b).next;
                }
            }
        }
        total
    }
}
