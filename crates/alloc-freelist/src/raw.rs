//! [`RawFreeList`]: the non-generic engine shared by [`FreeList`](crate::FreeList) and
//! [`SyncFreeList`](crate::SyncFreeList): geometry, the list, the fresh-block index, the
//! ownership test and the double-free bitmap.
//!
//! It does not own its memory (the wrappers give the region back to their parent) and it
//! is not thread-safe (`Cell`s): `SyncFreeList` calls it under its lock.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

use alloc_core::{Allocator, AllocatorError, Block, InitError};

/// Whether the double-free bitmap is kept: in debug builds, and in release builds with the
/// `double-free-check` feature.
pub(crate) const CHECKED: bool = cfg!(any(debug_assertions, feature = "double-free-check"));

/// The link stored in the first bytes of every free block: the next free block, or `None`.
///
/// Read and written unaligned, because blocks may be aligned to less than a pointer
/// (a 12-byte block is 4-aligned by default).
type Link = Option<NonNull<u8>>;

// The link must fit in the smallest block the constructors accept.
const _: () = assert!(
    size_of::<Link>() == size_of::<*mut u8>(),
    "a link is one pointer (the niche of NonNull)"
);

/// The default block alignment for `block_size`: its natural alignment (the largest power
/// of two dividing it), capped at 16.
///
/// 16 is what `malloc` guarantees on 64-bit targets and the largest alignment of a
/// primitive; larger alignments are available through the `with_layout` constructors.
#[inline]
pub(crate) const fn default_align(block_size: usize) -> usize {
    if block_size == 0 {
        return 16;
    }
    let natural = 1usize << block_size.trailing_zeros();
    if natural < 16 { natural } else { 16 }
}

/// Why a block given back was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FreeError {
    /// Outside the list's memory, not on a block boundary, or larger than a block.
    Foreign,
    /// One of the list's blocks that is not allocated and not on the list: never handed
    /// out since the list was (re)started, or freed already before the restart.
    NotAllocated,
    /// A block that is already free.
    DoubleFree,
}

impl FreeError {
    /// Panics with a message that names the problem.
    #[cold]
    #[inline(never)]
    #[track_caller]
    pub(crate) fn panic(self, what: &'static str) -> ! {
        match self {
            Self::Foreign => panic!(
                "{what}: deallocated a block this free list does not own \
                 (outside its memory, not on a block boundary, or larger than a block)"
            ),
            Self::NotAllocated => panic!(
                "{what}: deallocated a block that is not allocated \
                 (never handed out, or a double free)"
            ),
            Self::DoubleFree => panic!("{what}: double free: the block is already free"),
        }
    }
}

/// Geometry and state of one free list over one contiguous region.
///
/// Block `i` (for `i < capacity`) starts at `start + i * stride`. Blocks `fresh..capacity`
/// have not been handed out since the list was (re)started and are free without being on
/// the list; the list holds the blocks that were handed out and given back. When the last
/// allocated block comes back, every block is free and the list restarts (`fresh = 0`, an
/// empty list), so the next allocations are again in address order, without walking
/// links. Construction is O(1) (in checked builds, O(capacity / 64) to clear the bitmap).
pub(crate) struct RawFreeList {
    /// Start of the region; its provenance covers the whole region, and every pointer
    /// handed out is derived from it.
    start: NonNull<u8>,
    /// Usable size of a block (what every allocation reports).
    block_size: usize,
    /// Alignment of every block: a power of two dividing `stride`.
    align: usize,
    /// Distance between blocks: `block_size` rounded up to `align`.
    stride: usize,
    /// Number of blocks, at least 1; `capacity * stride` fits in the region.
    capacity: usize,
    /// Multiplicative inverse of the odd part of `stride`, modulo `2^usize::BITS`.
    inverse: usize,
    /// `stride.trailing_zeros()`.
    shift: u32,
    /// Layout of the parent allocation: the blocks, then the bitmap.
    region: Layout,
    /// One bit per block, set while the block is allocated; `capacity.div_ceil(64)` words
    /// inside the region after the blocks. Only used when `CHECKED`, dangling otherwise.
    bitmap: NonNull<u64>,
    /// The most recently freed block, or `None`. Every block on the list has index
    /// `< fresh`, is not allocated, and holds in its first bytes the link to the next.
    head: Cell<Link>,
    /// Index of the first block not handed out since the list was (re)started; blocks
    /// `fresh..capacity` are free and not on the list; `fresh <= capacity`, and
    /// `fresh == 0` whenever no block is allocated (see `push`).
    fresh: Cell<usize>,
    /// Number of blocks on the list; `listed <= fresh`, and `fresh - listed` blocks are
    /// allocated. (Counting the list rather than the allocated blocks leaves fresh
    /// allocations with a single counter to update.)
    listed: Cell<usize>,
}

/// The geometry computed before any memory is taken.
pub(crate) struct Geometry {
    block_size: usize,
    align: usize,
    stride: usize,
    capacity: usize,
    region: Layout,
    bitmap_offset: usize,
}

impl Geometry {
    /// The layout of the parent allocation.
    pub(crate) fn region(&self) -> Layout {
        self.region
    }
}

impl Geometry {
    pub(crate) fn new(block: Layout, count: usize) -> Result<Self, InitError> {
        /// The one overflow error: the sizes below overflow only when this is true.
        const TOO_BIG: InitError = InitError::new(
            AllocatorError::SizeOverflow,
            "block size × count exceeds isize::MAX",
        );
        if block.size() < size_of::<Link>() {
            return Err(InitError::invalid_argument(
                "block size is smaller than a pointer",
            ));
        }
        if count == 0 {
            return Err(InitError::invalid_argument("block count is zero"));
        }
        // `Layout` guarantees the size rounded up to the alignment does not overflow.
        let stride = block.pad_to_align().size();
        let blocks_len = stride.checked_mul(count).ok_or(TOO_BIG)?;
        // The bitmap is reserved in every build (it is used in checked builds), so the
        // region's layout does not depend on the build profile.
        let bitmap_offset = blocks_len
            .checked_next_multiple_of(align_of::<u64>())
            .ok_or(TOO_BIG)?;
        let region_len = bitmap_offset
            .checked_add(count.div_ceil(64) * size_of::<u64>())
            .ok_or(TOO_BIG)?;
        let region_align = block.align().max(align_of::<u64>());
        let region = Layout::from_size_align(region_len, region_align).map_err(|_| TOO_BIG)?;
        Ok(Self {
            block_size: block.size(),
            align: block.align(),
            stride,
            capacity: count,
            region,
            bitmap_offset,
        })
    }
}

/// The inverse of the odd number `odd` modulo `2^usize::BITS` (Newton's iteration: each
/// step doubles the number of correct low bits, starting from 3).
const fn odd_inverse(odd: usize) -> usize {
    let mut x = odd;
    while odd.wrapping_mul(x) != 1 {
        x = x.wrapping_mul(2usize.wrapping_sub(odd.wrapping_mul(x)));
    }
    x
}

impl RawFreeList {
    /// Takes one region for `count` blocks of `block` from `parent`.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for a block smaller than a pointer or a zero count,
    /// `SizeOverflow` when the region's size overflows, or the parent's error (as the kind).
    pub(crate) fn new_in<A: Allocator + ?Sized>(
        block: Layout,
        count: usize,
        parent: &A,
    ) -> Result<Self, InitError> {
        let geometry = Geometry::new(block, count)?;
        let region = parent.allocate_raw(geometry.region).map_err(|kind| {
            InitError::new(
                kind,
                "the parent allocator cannot provide the free list's memory",
            )
        })?;
        Ok(Self::from_region(geometry, region.ptr()))
    }

    fn from_region(g: Geometry, start: NonNull<u8>) -> Self {
        let bitmap = if CHECKED {
            // SAFETY: `bitmap_offset + words * 8 <= region.size()`, and the region is
            // valid for that many bytes (the parent's contract); `bitmap_offset` is a
            // multiple of 8 and the region is at least 8-aligned, so the words are aligned.
            unsafe {
                let bitmap = start.add(g.bitmap_offset).cast::<u64>();
                bitmap.write_bytes(0, g.capacity.div_ceil(64));
                bitmap
            }
        } else {
            NonNull::dangling()
        };
        let shift = g.stride.trailing_zeros();
        Self {
            start,
            block_size: g.block_size,
            align: g.align,
            stride: g.stride,
            capacity: g.capacity,
            inverse: odd_inverse(g.stride >> shift),
            shift,
            region: g.region,
            bitmap,
            head: Cell::new(None),
            fresh: Cell::new(0),
            listed: Cell::new(0),
        }
    }

    /// The whole region, as taken from the parent (to give it back).
    pub(crate) fn region_block(&self) -> Block {
        Block::from_raw_parts(self.start, self.region)
    }

    #[inline]
    pub(crate) fn block_size(&self) -> usize {
        self.block_size
    }

    #[inline]
    pub(crate) fn block_align(&self) -> usize {
        self.align
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    pub(crate) fn free_blocks(&self) -> usize {
        self.capacity - (self.fresh.get() - self.listed.get())
    }

    /// The index of the block at `addr` if `addr` is the start of one of the blocks, and
    /// otherwise a number `>= capacity`.
    ///
    /// With `stride = 2^k * m` (`m` odd), `x -> rotate_right(x * m⁻¹, k)` is a bijection
    /// of `usize` that maps `i * stride` to `i` for every `i < capacity` (`i * stride`
    /// does not overflow: it is inside the region). So exactly the block starts map below
    /// `capacity`: one subtraction, one multiplication and one rotation test the range
    /// and the block boundary together, without a division.
    #[inline]
    fn index_of(&self, addr: usize) -> usize {
        addr.wrapping_sub(self.start.as_ptr().addr())
            .wrapping_mul(self.inverse)
            .rotate_right(self.shift)
    }

    /// O(1): whether `block` is a non-empty block no larger than a block, starting on one
    /// of this list's block boundaries.
    #[inline]
    pub(crate) fn owns(&self, block: &Block) -> bool {
        !block.is_empty()
            && block.size() <= self.block_size
            && self.index_of(block.addr()) < self.capacity
    }

    /// Whether a request for `layout` can be served by a block: size in `1..=block_size`
    /// and alignment at most the blocks'.
    #[inline]
    pub(crate) fn serves(&self, layout: Layout) -> bool {
        layout.size().wrapping_sub(1) < self.block_size && layout.align() <= self.align
    }

    /// Why a non-empty request that [`serves`](Self::serves) refused, or that found no
    /// free block, fails: `TooLarge`, `UnsupportedAlignment` or `OutOfMemory`.
    ///
    /// The slow path of every allocation: out of line and cold, so that the callers' fast
    /// paths stay a handful of instructions, and returning a plain one-byte value (in a
    /// register) that the caller wraps in `Err`. (A `Result<Block, _>` returned from an
    /// out-of-line function travels through memory, and the caller's fast path then
    /// stored its own block there too: see ARCHITECTURE.md, "Performance rules".)
    #[cold]
    #[inline(never)]
    pub(crate) fn refusal(&self, layout: Layout) -> AllocatorError {
        if layout.size() > self.block_size {
            AllocatorError::TooLarge
        } else if layout.align() > self.align {
            AllocatorError::UnsupportedAlignment
        } else {
            AllocatorError::OutOfMemory
        }
    }

    /// The block at `ptr` (a block start) as handed out for a request with alignment
    /// `align`: the full block size, the requested alignment.
    #[inline]
    pub(crate) fn block(&self, ptr: NonNull<u8>, align: usize) -> Block {
        debug_assert!(align.is_power_of_two() && align <= self.align);
        // SAFETY: `align` is a power of two (it comes from a `Layout`) and at most
        // `self.align`, which divides `stride`; `block_size <= stride <= region size <=
        // isize::MAX`, so `block_size` rounded up to `align` does not overflow `isize`.
        let layout = unsafe { Layout::from_size_align_unchecked(self.block_size, align) };
        Block::from_raw_parts(ptr, layout)
    }

    /// Takes a free block: the head of the list, or else the next fresh block.
    #[inline]
    pub(crate) fn pop(&self) -> Option<NonNull<u8>> {
        let block = match self.head.get() {
            Some(head) => {
                // SAFETY: `head` is on the list: a free block of this region whose first
                // bytes hold the link written by `push` (blocks hold at least a pointer).
                let next = unsafe { head.as_ptr().cast::<Link>().read_unaligned() };
                if CHECKED {
                    self.check_link(next);
                }
                self.head.set(next);
                self.listed.set(self.listed.get() - 1);
                head
            }
            None => self.pop_fresh()?,
        };
        if CHECKED {
            let index = self.index_of(block.as_ptr().addr());
            let was_allocated = self.set_bit(index, true);
            assert!(!was_allocated, "alloc-freelist: free list corrupted");
        }
        Some(block)
    }

    #[inline]
    fn pop_fresh(&self) -> Option<NonNull<u8>> {
        let index = self.fresh.get();
        if index == self.capacity {
            return None;
        }
        self.fresh.set(index + 1);
        // SAFETY: `index < capacity`, so `index * stride` is inside the region (it does
        // not overflow: `capacity * stride` is at most the region's size).
        Some(unsafe { self.start.add(index * self.stride) })
    }

    /// Checked builds: the link read from a free block must be a block given back before.
    #[cold]
    fn check_link_failed() -> ! {
        panic!(
            "alloc-freelist: free list corrupted: a free block was written to \
             (use after free?)"
        )
    }

    #[inline]
    fn check_link(&self, next: Link) {
        if let Some(next) = next {
            if self.index_of(next.as_ptr().addr()) >= self.fresh.get() {
                Self::check_link_failed();
            }
        }
    }

    /// Sets bit `index` of the bitmap to `allocated`, returning its old value.
    ///
    /// Only called when `CHECKED`, with `index < capacity`.
    #[inline]
    fn set_bit(&self, index: usize, allocated: bool) -> bool {
        debug_assert!(CHECKED && index < self.capacity);
        // SAFETY: the bitmap has `capacity.div_ceil(64)` initialised, aligned words inside
        // the region (`CHECKED`), and `index / 64` is below that; no reference to them
        // exists, and `RawFreeList` is never used by two threads at once.
        unsafe {
            let word = self.bitmap.add(index / 64).as_ptr();
            let bit = 1u64 << (index % 64);
            let old = *word;
            *word = if allocated { old | bit } else { old & !bit };
            old & bit != 0
        }
    }

    #[inline]
    fn get_bit(&self, index: usize) -> bool {
        debug_assert!(CHECKED && index < self.capacity);
        // SAFETY: as in `set_bit`.
        unsafe { *self.bitmap.add(index / 64).as_ptr() & (1u64 << (index % 64)) != 0 }
    }

    /// Checks that `block` may be one of this list's allocated blocks, returning its index
    /// and its start rebuilt from the region's pointer.
    ///
    /// Always (O(1)): inside the region, on a block boundary, no larger than a block, and
    /// handed out at least once. Checked builds: also currently allocated.
    ///
    /// # Errors
    ///
    /// What is wrong with the block.
    #[inline]
    pub(crate) fn check_allocated(&self, block: &Block) -> Result<(usize, NonNull<u8>), FreeError> {
        let index = self.index_of(block.addr());
        if index >= self.fresh.get() || block.size() > self.block_size {
            return Err(self.classify(block, index));
        }
        if CHECKED && !self.get_bit(index) {
            return Err(FreeError::DoubleFree);
        }
        Ok((index, self.start.with_addr(block.ptr().addr())))
    }

    #[cold]
    fn classify(&self, block: &Block, index: usize) -> FreeError {
        if index >= self.capacity || block.size() > self.block_size {
            FreeError::Foreign
        } else {
            FreeError::NotAllocated
        }
    }

    /// Gives back a non-empty block, pushing it on the list.
    ///
    /// # Errors
    ///
    /// A foreign block or one never handed out, always; a double free in checked builds
    /// always, and in other builds when the block is the most recently freed one or when
    /// it was freed before the list last restarted (in particular when no block is
    /// allocated). The list is unchanged on error.
    ///
    /// # Safety
    ///
    /// If `block` passes the checks, it is not used by the caller after this call
    /// (release builds cannot tell every double free: if `block` is in fact already free,
    /// the caller broke `deallocate_raw`'s contract).
    #[inline]
    pub(crate) unsafe fn push(&self, block: &Block) -> Result<(), FreeError> {
        let (index, ptr) = self.check_allocated(block)?;
        let head = self.head.get();
        let listed = self.listed.get();
        if CHECKED {
            self.set_bit(index, false);
        } else if head == Some(ptr) {
            return Err(FreeError::DoubleFree);
        }
        // At least this block is allocated: `fresh - listed >= 1`.
        debug_assert!(listed < self.fresh.get());
        if listed + 1 == self.fresh.get() {
            // The last allocated block: every block is free. Restart in O(1) (the bitmap
            // is all clear already): the next allocations are fresh, in address order.
            self.head.set(None);
            self.fresh.set(0);
            self.listed.set(0);
            return Ok(());
        }
        // SAFETY: `ptr` is the start of block `index < fresh` of the region (checked
        // above), valid for `block_size >= size_of::<Link>()` bytes, and no longer used by
        // the caller (it is allocated and given back: the caller's promise).
        unsafe { ptr.as_ptr().cast::<Link>().write_unaligned(head) };
        self.head.set(Some(ptr));
        self.listed.set(listed + 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
