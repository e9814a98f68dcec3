//! One chunk of a size class: its header, its bitmap and its free list, and the per-class
//! list of chunks that have free blocks. Every function here runs with the class's lock
//! held, and never calls user code.

use core::ptr::{self, NonNull};

use super::table::{GEOMETRY, Geometry, HEADER_BYTES};

/// The start of every chunk. Mutable fields are accessed only with the class lock held.
#[repr(C)]
pub(super) struct Header {
    /// The most recently freed block (its first word links to the next), or null.
    free: *mut u8,
    /// The partial list (chunks of the class with a free block): next and previous.
    next: *mut Header,
    prev: *mut Header,
    /// Blocks `0..bump` have been handed out at least once; the others were never used
    /// (handed out in address order before the free list, so a new chunk is not touched).
    bump: u32,
    /// Blocks handed out now.
    used: u32,
    /// Whether the chunk is on the partial list.
    listed: bool,
}

const _: () = assert!(core::mem::size_of::<Header>() <= HEADER_BYTES);

/// The mutable state of one class, behind its lock.
pub(super) struct ClassState {
    /// First chunk of the partial list, or null.
    partial: *mut Header,
    /// Chunks on the partial list with no block handed out.
    pub(super) empty: usize,
}

impl ClassState {
    pub(super) const fn new() -> Self {
        Self {
            partial: ptr::null_mut(),
            empty: 0,
        }
    }

    /// Pops a block from the first chunk with a free one.
    ///
    /// # Safety
    ///
    /// The class lock is held; every chunk on the list is a live chunk of class `class`.
    #[inline]
    pub(super) unsafe fn take(&mut self, class: usize) -> Option<NonNull<u8>> {
        let h = self.partial;
        if h.is_null() {
            return None;
        }
        // SAFETY: forwarded; `h` is a live listed chunk with a free block.
        Some(unsafe { self.take_from(h, class) })
    }

    /// Pops a block from chunk `h` (which has a free block); unlists it if it becomes full.
    ///
    /// # Safety
    ///
    /// The class lock is held; `h` is a live chunk of class `class` with a free block,
    /// listed or not.
    pub(super) unsafe fn take_from(&mut self, h: *mut Header, class: usize) -> NonNull<u8> {
        let g = &GEOMETRY[class];
        let chunk = h.cast::<u8>();
        // SAFETY: `h` is a live chunk header (caller), only accessed under the lock.
        unsafe {
            let block = if (*h).free.is_null() {
                let index = (*h).bump as usize;
                debug_assert!(index < g.count);
                (*h).bump += 1;
                chunk.add(g.offset + index * g.size)
            } else {
                let block = (*h).free;
                // A free block's first word holds the link (written by `give`).
                (*h).free = block.cast::<*mut u8>().read();
                block
            };
            let index = (block.addr() - chunk.addr() - g.offset) / g.size;
            let word = bitmap(chunk).add(index / 64);
            debug_assert!(*word & (1 << (index % 64)) == 0, "handing out a used block");
            *word |= 1 << (index % 64);
            if (*h).used == 0 && (*h).listed {
                self.empty -= 1;
            }
            (*h).used += 1;
            if (*h).used as usize == g.count && (*h).listed {
                self.unlink(h);
            }
            NonNull::new_unchecked(block)
        }
    }

    /// Takes back block `index` of chunk `h`. Returns `Ok(true)` if the chunk is now empty
    /// and surplus (more than `max_empty` empty chunks): it has been unlisted and must be
    /// given back to the parent (after the lock is released).
    ///
    /// # Errors
    ///
    /// `Err(())` if the block is not handed out (a double free); nothing changed.
    ///
    /// # Safety
    ///
    /// The class lock is held; `h` is a live chunk of class `class`; `index` is a block
    /// index of the class (below its count), and if the block is handed out, its user no
    /// longer uses it.
    pub(super) unsafe fn give(
        &mut self,
        h: *mut Header,
        class: usize,
        index: usize,
        max_empty: usize,
    ) -> Result<bool, ()> {
        let g: &Geometry = &GEOMETRY[class];
        let chunk = h.cast::<u8>();
        // SAFETY: `h` is a live chunk header and `index` a block of it (caller); under the
        // lock. The block's first word is written only once it is known to be handed out,
        // so no longer used by anyone.
        unsafe {
            let word = bitmap(chunk).add(index / 64);
            let bit = 1u64 << (index % 64);
            if *word & bit == 0 {
                return Err(());
            }
            *word &= !bit;
            let block = chunk.add(g.offset + index * g.size);
            block.cast::<*mut u8>().write((*h).free);
            (*h).free = block;
            (*h).used -= 1;
            if !(*h).listed {
                self.push_front(h);
            }
            if (*h).used == 0 {
                if self.empty >= max_empty {
                    self.unlink(h);
                    return Ok(true);
                }
                self.empty += 1;
            }
            Ok(false)
        }
    }

    /// Whether block `index` of chunk `h` is handed out.
    ///
    /// # Safety
    ///
    /// As for [`give`](Self::give).
    pub(super) unsafe fn is_allocated(h: *mut Header, index: usize) -> bool {
        // SAFETY: as for `give`.
        unsafe { *bitmap(h.cast()).add(index / 64) & (1 << (index % 64)) != 0 }
    }

    /// Lists chunk `h` first (the caller counts it in `empty` if it has no used block).
    ///
    /// # Safety
    ///
    /// The class lock is held; `h` is a live unlisted chunk of this class.
    pub(super) unsafe fn push_front(&mut self, h: *mut Header) {
        // SAFETY: `h` and the list's chunks are live headers, under the lock.
        unsafe {
            (*h).prev = ptr::null_mut();
            (*h).next = self.partial;
            if !self.partial.is_null() {
                (*self.partial).prev = h;
            }
            self.partial = h;
            (*h).listed = true;
        }
    }

    /// Unlists chunk `h`.
    ///
    /// # Safety
    ///
    /// The class lock is held; `h` is a live listed chunk of this class.
    unsafe fn unlink(&mut self, h: *mut Header) {
        // SAFETY: `h` and its neighbours are live listed headers, under the lock.
        unsafe {
            let (prev, next) = ((*h).prev, (*h).next);
            if prev.is_null() {
                self.partial = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*h).listed = false;
        }
    }
}

/// Writes the header of a fresh chunk of class `class` (no block handed out, unlisted) and
/// clears its bitmap; returns the header.
///
/// # Safety
///
/// `chunk` is a fresh chunk of class `class` (valid for its chunk size, aligned to it) that no other
/// thread can reach yet.
pub(super) unsafe fn init(chunk: NonNull<u8>, class: usize) -> *mut Header {
    let h = chunk.as_ptr().cast::<Header>();
    // SAFETY: the header and the bitmap lie inside the chunk (the table checks that the
    // first block comes after them), which is ours alone (caller).
    unsafe {
        h.write(Header {
            free: ptr::null_mut(),
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            bump: 0,
            used: 0,
            listed: false,
        });
        bitmap(chunk.as_ptr()).write_bytes(0, GEOMETRY[class].words);
    }
    h
}

/// The allocation bitmap of a chunk (one bit per block, set while handed out).
///
/// # Safety
///
/// `chunk` is a live chunk.
unsafe fn bitmap(chunk: *mut u8) -> *mut u64 {
    // SAFETY: the bitmap starts `HEADER_BYTES` into the chunk (inside it), 8-aligned.
    unsafe { chunk.add(HEADER_BYTES).cast::<u64>() }
}
