//! [`Tlsf`]: the heap over the control structure, its regions and its parent.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError};

use crate::control::{Control, HDR, MIN_BLOCK, REGION, Refused};
use crate::mapping::{GRAN, MAX_BLOCK, block_size};

/// The parent of a heap that never grows: it has no memory to give (every non-empty
/// request fails with `OutOfMemory`), so a `Tlsf<NoParent>` serves only the memory given to
/// it ([`Tlsf::add_static`], [`Tlsf::add_region`]).
///
/// # Examples
///
/// ```
/// use alloc_tlsf::{Allocator, NoParent};
/// use core::alloc::Layout;
///
/// assert!(NoParent.allocate_raw(Layout::new::<u8>()).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoParent;

// SAFETY: hands out only empty blocks (the zero-size rule) and takes back only those.
unsafe impl Allocator for NoParent {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            Ok(Block::empty(layout))
        } else {
            Err(AllocatorError::OutOfMemory)
        }
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        assert!(
            block.is_empty(),
            "NoParent::deallocate_raw: {block:?} was never handed out (NoParent has no memory)"
        );
    }
}

/// A coalescing heap with O(1) allocation and deallocation (two-level segregated fit)
/// over regions of memory: a parent allocator's blocks (`P`, asked for `chunk` bytes at a
/// time when the heap runs out, and given them back when dropped), static buffers
/// ([`add_static`](Self::add_static)), and any other memory
/// ([`add_region`](Self::add_region)).
///
/// - **Allocation**: the first non-empty size class that fits, found with two bitmaps; the
///   block is split, the rest stays free. Any power-of-two alignment (the region is
///   searched for a block big enough to align, and the gap becomes a free block). The
///   returned block reports the usable size (a multiple of 16 bytes on 64-bit targets,
///   less the 16-byte header).
/// - **Deallocation**: merges the block with its free physical neighbours; O(1). The
///   block is checked first (see bad blocks below): against bounds of the most recent
///   region kept in the heap, so a block of it costs no walk; blocks of older regions
///   are found by a walk over the regions.
/// - **Reallocation**: shrinks in place (the rest is freed), grows in place into a free
///   next neighbour, else moves: down into a free previous neighbour (with the next one)
///   if they are large enough, as rlsf does, or to a new block.
/// - **Out of memory**: with a parent, one more region of `max(chunk, request)` bytes is
///   asked for and the request retried; without one, `OutOfMemory`. Requests of 2^39
///   bytes or more (2^31 on 32-bit targets) are `TooLarge`.
/// - **Bad blocks** given back (outside every region, not at a block's start, or already
///   free) **panic**, naming the problem, in every build, as long as the block's header is
///   intact; a block freed twice after its memory was handed out again is undefined
///   behaviour, as with the system heap.
/// - [`BlockOwner`]: by region, O(number of regions).
///
/// Its memory lives in the regions, not in the value (only the free-list heads do, and no
/// block points at them), so moving a `Tlsf` keeps every block valid. It is `Send` when
/// its parent is, and not `Sync`: share it with alloc-global's `Locked`, which is also how
/// it becomes a `#[global_allocator]`.
///
/// # Examples
///
/// Over a static buffer, with no parent (a `no_std` heap):
///
/// ```
/// use alloc_tlsf::{Allocator, Tlsf};
/// use core::mem::MaybeUninit;
///
/// static mut BUFFER: [MaybeUninit<u8>; 4096] = [MaybeUninit::uninit(); 4096];
///
/// // SAFETY: the only reference ever taken to `BUFFER` (an embedded program's heap).
/// let buffer: &'static mut [MaybeUninit<u8>] = unsafe { &mut *(&raw mut BUFFER) };
/// let heap = Tlsf::new();
/// heap.add_static(buffer);
/// let a = heap.allocate([1u64; 100]).unwrap();
/// let b = heap.allocate([2u64; 300]).unwrap();
/// assert!(heap.allocate([0u8; 4096]).is_err()); // out of memory: no parent to ask
/// drop(a);
/// drop(b); // merged back into one free block
/// assert!(heap.allocate([0u8; 3000]).is_ok());
/// ```
pub struct Tlsf<P: Allocator = NoParent> {
    /// The free lists and bitmaps. Borrowed mutably only inside one method call, never
    /// across a call into the parent (user code that may re-enter the heap).
    control: UnsafeCell<Control>,
    /// Where regions come from when the heap runs out, and go back to on drop.
    parent: P,
    /// Bytes asked of the parent at a time (0: never).
    chunk: usize,
}

// SAFETY: the heap owns its regions (the control structure's pointers point into them)
// and they move with it; sending it is sound when its parent may be sent. Not `Sync`.
unsafe impl<P: Allocator + Send> Send for Tlsf<P> {}

impl Tlsf<NoParent> {
    /// An empty heap without a parent, for a `static`: give it memory with
    /// [`add_static`](Self::add_static) or [`add_region`](Self::add_region).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_tlsf::{Allocator, AllocatorError, Tlsf};
    ///
    /// let heap = Tlsf::new();
    /// assert!(matches!(heap.allocate(1u8), Err((AllocatorError::OutOfMemory, 1))));
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            control: UnsafeCell::new(Control::new()),
            parent: NoParent,
            chunk: 0,
        }
    }
}

impl Default for Tlsf<NoParent> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Allocator> Tlsf<P> {
    /// A heap that takes its memory from `parent`, `chunk` bytes at a time (or more for a
    /// larger request), starting with one chunk; dropping it gives every chunk back.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` if `chunk` is too small for one block (under 128 bytes) or too
    /// large for the size classes; otherwise the parent's error for the first chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_tlsf::{Allocator, Heap, Tlsf};
    ///
    /// let heap = Tlsf::new_in(Heap, 4096).unwrap();
    /// let big = heap.allocate([0u8; 100_000]).unwrap(); // a second, larger chunk
    /// assert_eq!(big.len(), 100_000);
    /// assert!(Tlsf::new_in(Heap, 16).is_err());
    /// ```
    pub fn new_in(parent: P, chunk: usize) -> Result<Self, InitError> {
        if !(128..MAX_BLOCK / 2).contains(&chunk) {
            return Err(InitError::invalid_argument(
                "Tlsf: the chunk size must be at least 128 bytes and below the largest block",
            ));
        }
        let heap = Self {
            control: UnsafeCell::new(Control::new()),
            parent,
            chunk,
        };
        heap.grow(chunk)?;
        Ok(heap)
    }

    /// The parent.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_tlsf::{Heap, Tlsf};
    ///
    /// assert_eq!(*Tlsf::new_in(Heap, 4096).unwrap().parent(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub fn parent(&self) -> &P {
        &self.parent
    }

    /// The bytes free in the heap (headers of free blocks included): a walk over the free
    /// lists, for tests and statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_tlsf::{Allocator, Heap, Tlsf};
    ///
    /// let heap = Tlsf::new_in(Heap, 4096).unwrap();
    /// let before = heap.free_bytes();
    /// let b = heap.allocate([0u8; 100]).unwrap();
    /// assert_eq!(heap.free_bytes(), before - 128); // 100 bytes + header, in 16-byte steps
    /// ```
    #[must_use]
    pub fn free_bytes(&self) -> usize {
        // SAFETY: no other borrow of the control structure is alive: this method calls no
        // user code while it holds one.
        unsafe { (*self.control.get()).free_bytes() }
    }

    /// Gives the heap a static buffer (any alignment; a few bytes may be cut off at the
    /// ends to align the blocks). Buffers too small for one block are ignored.
    ///
    /// # Examples
    ///
    /// See [`Tlsf`].
    pub fn add_static(&self, buffer: &'static mut [MaybeUninit<u8>]) {
        let len = buffer.len();
        let ptr = NonNull::from(buffer).cast::<u8>();
        // SAFETY: a `&'static mut` buffer is valid for reads and writes of `len` bytes for
        // the rest of the program and nothing else uses it any more.
        unsafe { self.add_region(ptr, len) };
    }

    /// Gives the heap the memory at `ptr`, `len` bytes; returns whether it was big enough
    /// to be used (after alignment, at least one block).
    ///
    /// # Safety
    ///
    /// The memory is valid for reads and writes of `len` bytes, and nothing else uses it
    /// while the heap lives (the heap does not give it back).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_tlsf::{Allocator, Heap, Tlsf};
    /// use core::{alloc::Layout, ptr::NonNull};
    ///
    /// let memory = Heap.allocate_raw(Layout::from_size_align(1 << 16, 16).unwrap()).unwrap();
    /// let heap = Tlsf::new();
    /// // SAFETY: the block is valid for its size and only the heap uses it until the heap
    /// // is dropped (the heap does not give it back: that is ours to do, below).
    /// assert!(unsafe { heap.add_region(memory.ptr(), memory.size()) });
    /// assert!(heap.allocate([0u8; 60_000]).is_ok());
    /// drop(heap);
    /// // SAFETY: the heap is gone, and `memory` is Heap's block, given back once.
    /// unsafe { Heap.deallocate_raw(memory) };
    /// ```
    pub unsafe fn add_region(&self, ptr: NonNull<u8>, len: usize) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.add_memory(ptr, len, None) }
    }

    /// Adds a region; `parent` is the parent's block it is, if any.
    ///
    /// # Safety
    ///
    /// As [`add_region`](Self::add_region).
    unsafe fn add_memory(&self, ptr: NonNull<u8>, len: usize, parent: Option<Block>) -> bool {
        let base = ptr.as_ptr();
        let start = base.addr().next_multiple_of(GRAN);
        let end = base.addr().saturating_add(len) & !(GRAN - 1);
        if end <= start {
            return false;
        }
        // Regions past the size classes are cut to fit.
        let end = end.min(start + (MAX_BLOCK - GRAN));
        let parent = parent.map_or((core::ptr::null_mut(), 0, 0), |b| {
            (b.as_ptr(), b.size(), b.align())
        });
        // SAFETY: no other borrow of the control structure is alive (no user code runs
        // here); the memory is the heap's from now on (caller), `start..end` is inside it,
        // aligned, and below the size limit.
        unsafe { (*self.control.get()).add_region(base, start, end, parent) }
    }

    /// Asks the parent for a region of at least `size` usable bytes.
    #[cold]
    #[inline(never)]
    fn grow(&self, size: usize) -> Result<(), AllocatorError> {
        let bytes = size
            .checked_add(REGION + HDR + GRAN)
            .filter(|&b| b < MAX_BLOCK)
            .ok_or(AllocatorError::TooLarge)?;
        let layout =
            Layout::from_size_align(bytes, GRAN).map_err(|_| AllocatorError::SizeOverflow)?;
        // User code: no borrow of the control structure is alive across this call.
        let block = self.parent.allocate_raw(layout)?;
        // SAFETY: the parent's block is valid for its size and ours until we give it back,
        // which `drop` does (it is recorded in the region).
        if unsafe { self.add_memory(block.ptr(), block.size(), Some(block)) } {
            Ok(())
        } else {
            // SAFETY: the block was just allocated by the parent and not used.
            unsafe { self.parent.deallocate_raw(block) };
            Err(AllocatorError::OutOfMemory)
        }
    }

    /// The common allocation: alignment up to [`GRAN`], a free block found (`layout` of
    /// a non-zero size). Calls nothing, so that the common path of `allocate_raw` saves
    /// no registers.
    #[inline(always)]
    fn allocate_fast(&self, layout: Layout) -> Option<(NonNull<u8>, usize)> {
        if layout.align() > GRAN {
            return None;
        }
        debug_assert!(layout.size() != 0);
        // `block_size` without its checks: the sum cannot overflow (a layout's size is at
        // most `isize::MAX`), a non-zero size makes at least MIN_BLOCK bytes, and a size
        // past the largest class finds no list (`allocate_other` then reports it).
        let need = (layout.size() + HDR + GRAN - 1) & !(GRAN - 1);
        // SAFETY: no other borrow of the control structure is alive; `allocate_small`
        // calls no user code.
        let (p, usable) = unsafe { (*self.control.get()).allocate_small(need) }?;
        // SAFETY: `allocate_small` returns pointers into a region, never null.
        Some((unsafe { NonNull::new_unchecked(p) }, usable))
    }

    /// Every other allocation (see [`allocate_block`](Self::allocate_block)), as a block.
    #[inline(never)]
    fn allocate_other(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let (ptr, usable) = self.allocate_block(layout)?;
        // SAFETY: the block is aligned to `layout.align()` with `usable` bytes, inside a
        // region (so below `isize::MAX`).
        Ok(unsafe {
            Block::from_raw_parts_unchecked(
                ptr,
                Layout::from_size_align_unchecked(usable, layout.align()),
            )
        })
    }

    /// Allocation, then one region more from the parent and a second try.
    #[inline]
    fn allocate_block(&self, layout: Layout) -> Result<(NonNull<u8>, usize), AllocatorError> {
        let need = block_size(layout.size(), HDR, MIN_BLOCK).ok_or(AllocatorError::TooLarge)?;
        // SAFETY: no other borrow of the control structure is alive; `allocate` calls no
        // user code.
        if let Some((p, usable)) = unsafe { (*self.control.get()).allocate(need, layout.align()) } {
            // SAFETY: `allocate` returns pointers into a region, never null.
            return Ok((unsafe { NonNull::new_unchecked(p) }, usable));
        }
        self.allocate_slow(need, layout.align())
    }

    #[cold]
    #[inline(never)]
    fn allocate_slow(
        &self,
        need: usize,
        align: usize,
    ) -> Result<(NonNull<u8>, usize), AllocatorError> {
        if self.chunk == 0 {
            return Err(AllocatorError::OutOfMemory);
        }
        // The search rounds a request up to the next size class (at most 1/16 more), and
        // an aligned request needs room for the gap: the new region's block must cover
        // both.
        let search = need
            .checked_add(align + MIN_BLOCK)
            .ok_or(AllocatorError::TooLarge)?;
        let want = search
            .checked_add((search >> 4) + GRAN)
            .ok_or(AllocatorError::TooLarge)?
            .max(self.chunk);
        self.grow(want)?;
        // SAFETY: as in `allocate_block` (the parent's call has returned).
        match unsafe { (*self.control.get()).allocate(need, align) } {
            // SAFETY: `allocate` returns pointers into a region, never null.
            Some((p, usable)) => Ok((unsafe { NonNull::new_unchecked(p) }, usable)),
            None => Err(AllocatorError::OutOfMemory),
        }
    }

    /// The header of a block given back, or a panic naming the problem.
    #[inline(always)]
    fn header(&self, block: &Block, what: &'static str) -> *mut crate::control::Hdr {
        // SAFETY: no other borrow of the control structure is alive.
        match unsafe { (*self.control.get()).header_fast(block.as_ptr()) } {
            Some(h) => h,
            None => self.header_slow(*block, what),
        }
    }

    /// [`header`](Self::header) for blocks of older regions and bad blocks.
    #[cold]
    #[inline(never)]
    fn header_slow(&self, block: Block, what: &'static str) -> *mut crate::control::Hdr {
        // SAFETY: no other borrow of the control structure is alive.
        match unsafe { (*self.control.get()).header_of(block.as_ptr()) } {
            Ok(h) => h,
            Err(e) => refused(what, e, block),
        }
    }

    /// Frees a block of an older region, or panics: the rare part of
    /// [`deallocate_raw`](Allocator::deallocate_raw), kept apart so that the common one
    /// saves no registers.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[cold]
    #[inline(never)]
    unsafe fn deallocate_slow(&self, block: Block) {
        let h = self.header_slow(block, "deallocate_raw");
        // SAFETY: `h` is the header of a used block of ours (checked); no other borrow of
        // the control structure is alive.
        unsafe { (*self.control.get()).free(h) }
    }
}

/// The panic for a block given back that the heap refutes.
#[cold]
#[inline(never)]
#[track_caller]
fn refused(what: &str, why: Refused, block: Block) -> ! {
    match why {
        Refused::Foreign => panic!(
            "Tlsf::{what}: {block:?} is not a block of this heap (outside its regions or not at a block's start)"
        ),
        Refused::NotAllocated => panic!(
            "Tlsf::{what}: {block:?} is not allocated (a double free, or not a block this heap handed out)"
        ),
    }
}

impl<P: Allocator> Drop for Tlsf<P> {
    fn drop(&mut self) {
        // Parents' regions go back (not the static ones or those added with
        // `add_region`); each record is read before its region is given back.
        let mut r = self.control.get_mut().regions;
        while !r.is_null() {
            // SAFETY: `regions` links region records written by `add_region`; the record is
            // read before the region that holds it is given back.
            let region = unsafe { r.read() };
            r = region.next;
            if region.parent_size != 0 {
                // SAFETY: the record describes a block of the parent, allocated in `grow`
                // with exactly this layout (a valid one) and given back once, here.
                unsafe {
                    let layout =
                        Layout::from_size_align_unchecked(region.parent_size, region.parent_align);
                    let ptr = NonNull::new_unchecked(region.parent_ptr);
                    self.parent
                        .deallocate_raw(Block::from_raw_parts_unchecked(ptr, layout));
                }
            }
        }
    }
}

impl<P: Allocator + fmt::Debug> fmt::Debug for Tlsf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tlsf")
            .field("parent", &self.parent)
            .field("chunk", &self.chunk)
            .finish_non_exhaustive()
    }
}

// SAFETY:
// 1. A block is the user part of a block taken off the free lists (no live block overlaps
//    a free one), inside a region the heap owns, aligned as requested (the gap before an
//    aligned part is split off), with at least the requested size (the block size was
//    computed from it).
// 2. Regions live outside the value (in the parent, a static buffer or memory given to
//    the heap); the control structure holds no pointer that a block depends on.
// 3. Zero-size requests return `Block::empty`, empty blocks are no-ops.
// 4. A failed request changes nothing: the control structure only changes on success
//    (growing from the parent adds free memory, which no block depends on).
// Re-entrancy: the only user code is the parent, called in `grow` with no borrow of the
// control structure alive; each method borrows it afresh after the call.
unsafe impl<P: Allocator> Allocator for Tlsf<P> {
    /// A block from the first size class that fits; one more region from the parent when
    /// the heap is full.
    ///
    /// # Errors
    ///
    /// `TooLarge` for requests past the largest size class; `OutOfMemory` when the heap is
    /// full and the parent (if any) refuses.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let Some((ptr, usable)) = self.allocate_fast(layout) else {
            return self.allocate_other(layout);
        };
        // SAFETY: the block is aligned to `layout.align()` with `usable` bytes, inside a
        // region (so below `isize::MAX`).
        Ok(unsafe {
            Block::from_raw_parts_unchecked(
                ptr,
                Layout::from_size_align_unchecked(usable, layout.align()),
            )
        })
    }

    /// Frees the block and merges it with its free neighbours.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// If the block is not an allocated block of this heap (see [`Tlsf`]).
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        // SAFETY: no other borrow of the control structure is alive.
        match unsafe { (*self.control.get()).header_fast(block.as_ptr()) } {
            // SAFETY: `h` is the header of a used block of ours (checked); no other borrow
            // of the control structure is alive.
            Some(h) => unsafe { (*self.control.get()).free(h) },
            // SAFETY: forwarded from the caller.
            None => unsafe { self.deallocate_slow(block) },
        }
    }

    /// In place when the block shrinks or its next neighbour is free and large enough;
    /// otherwise moves (into a free previous neighbour if it makes room, or to a new
    /// block).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); the block is then unchanged.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw).
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // The common case inline: a block of the most recent region resized in place; the
        // rest out of line.
        if !block.is_empty() && new_layout.size() != 0 {
            // SAFETY: no other borrow of the control structure is alive.
            if let Some(h) = unsafe { (*self.control.get()).header_fast(block.as_ptr()) } {
                // SAFETY: `h` is the header of `block`, a used block of ours (checked).
                if let Some(b) = unsafe { self.resize_in_place(h, block, new_layout) } {
                    return Ok(b);
                }
                // SAFETY: `h` is the header of `block`, a used block of ours (checked).
                return unsafe { self.reallocate_move(h, block, new_layout) };
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.reallocate_other(block, new_layout) }
    }
}

impl<P: Allocator> Tlsf<P> {
    /// Every reallocation but the common one: empty blocks, size 0, blocks of older
    /// regions, bad blocks (which panic).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    #[inline(never)]
    unsafe fn reallocate_other(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        let h = self.header(&block, "reallocate_raw");
        if new_layout.size() == 0 {
            // SAFETY: checked above: a used block of ours.
            unsafe { (*self.control.get()).free(h) };
            return Ok(Block::empty(new_layout));
        }
        // SAFETY: `h` is the header of `block`, a used block of ours (checked).
        if let Some(b) = unsafe { self.resize_in_place(h, block, new_layout) } {
            return Ok(b);
        }
        // SAFETY: `h` is the header of `block`, a used block of ours (checked).
        unsafe { self.reallocate_move(h, block, new_layout) }
    }

    /// `block` (of header `h`) resized in place to `new_layout`, if its address has the
    /// alignment and it shrinks or its next neighbour is free and large enough; `None`
    /// (nothing changed) otherwise.
    ///
    /// # Safety
    ///
    /// `block` is a used block of this heap with header `h`; `new_layout.size() != 0`.
    #[inline(always)]
    unsafe fn resize_in_place(
        &self,
        h: *mut crate::control::Hdr,
        block: Block,
        new_layout: Layout,
    ) -> Option<Block> {
        if block.addr() & (new_layout.align() - 1) != 0 {
            return None;
        }
        // As in `allocate_fast`: no overflow, at least MIN_BLOCK, and a size past the
        // largest class never fits in place (the move then reports it).
        let need = (new_layout.size() + HDR + GRAN - 1) & !(GRAN - 1);
        // SAFETY: `h` is a used block of ours (caller); no other borrow is alive.
        let usable = unsafe { (*self.control.get()).resize_in_place(h, need) }?;
        // SAFETY: the same address, now with `usable` bytes in a region.
        Some(unsafe {
            Block::from_raw_parts_unchecked(
                block.ptr(),
                Layout::from_size_align_unchecked(usable, new_layout.align()),
            )
        })
    }

    /// Moves `block` (of header `h`) to a new block of `new_layout`: a new block, the
    /// contents, and `h` freed without checking it again.
    ///
    /// # Safety
    ///
    /// `block` is a used block of this heap with header `h`, currently allocated and
    /// owned by the caller; `new_layout.size() != 0`.
    #[inline(never)]
    unsafe fn reallocate_move(
        &self,
        h: *mut crate::control::Hdr,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        let len = block.size().min(new_layout.size());
        if new_layout.align() <= GRAN {
            if let Some(need) = block_size(new_layout.size(), HDR, MIN_BLOCK) {
                // SAFETY: `h` is a used block of ours (caller), `len` at most its usable
                // size (the caller's size); no other borrow is alive.
                let moved = unsafe { (*self.control.get()).move_into_prev(h, need, len) };
                if let Some((p, usable)) = moved {
                    // SAFETY: a block of `usable` bytes in a region, GRAN-aligned, never
                    // null.
                    return Ok(unsafe {
                        Block::from_raw_parts_unchecked(
                            NonNull::new_unchecked(p),
                            Layout::from_size_align_unchecked(usable, new_layout.align()),
                        )
                    });
                }
            }
        }
        // The parent may run (and re-enter the heap) while the new block is found, but `h`
        // stays the header of the caller's block: a used block is never moved, merged or
        // given back while it is allocated, and its region lives as long as the heap.
        let (ptr, usable) = self.allocate_block(new_layout)?;
        // SAFETY: `block` is valid for reads of its size (caller) and the new block for
        // writes of at least `new_layout.size()` bytes; both are allocated, so distinct.
        unsafe {
            ptr::copy_nonoverlapping(block.as_ptr(), ptr.as_ptr(), len);
        }
        // SAFETY: `h` is still the header of the caller's used block (above); no other
        // borrow of the control structure is alive (the parent's call has returned).
        unsafe { (*self.control.get()).free(h) };
        // SAFETY: as in `allocate_raw`.
        Ok(unsafe {
            Block::from_raw_parts_unchecked(
                ptr,
                Layout::from_size_align_unchecked(usable, new_layout.align()),
            )
        })
    }
}

// SAFETY: every block handed out lies inside the blocks of one region, so it is claimed;
// a block outside every region is refused. (Free memory inside a region may be claimed:
// the trait allows either answer for it.)
unsafe impl<P: Allocator> BlockOwner for Tlsf<P> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        // SAFETY: no other borrow of the control structure is alive.
        !block.is_empty() && unsafe { (*self.control.get()).contains(block.addr(), block.size()) }
    }
}

alloc_core::impl_allocator_api2!(impl[P: Allocator] for Tlsf<P>);
alloc_core::impl_allocator_api2!(NoParent);
