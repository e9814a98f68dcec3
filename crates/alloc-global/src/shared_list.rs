//! [`SharedFreeList`]: fixed-size blocks shared by threads without a lock (a Treiber stack
//! with a tagged head over a side table of atomic links).
//!
//! # Design
//!
//! The stack holds block *indices*, not pointers. Its head is one `AtomicU64`: the index
//! (plus one; 0 is the empty stack) of the top free block in the low 32 bits and a tag in
//! the high 32 bits that every successful push and pop increments. The link of each free
//! block (the index of the next one) lives in a side table of `AtomicU32`, one per block,
//! placed after the blocks in the same parent allocation.
//!
//! Why a side table rather than links inside the free blocks (as `FreeList` does):
//!
//! - **No data race on user memory.** A pop reads the link of the block on top, then tries
//!   to swing the head past it. Between the two, another thread may pop that same block and
//!   its user may write into it. A link inside the block would then be read by one thread
//!   while the user writes it with plain stores: a data race, undefined behaviour under the
//!   Rust memory model (Miri reports it), even though the stale value is thrown away when
//!   the compare-and-swap fails. In the side table both accesses are atomic and the user's
//!   memory is never touched by the list.
//! - **ABA safety without 128-bit CAS.** An index fits in 32 bits, so index and tag share
//!   one 64-bit word, which every 64-bit target (and wasm32) compares and swaps natively.
//!   A 32-bit tag wraps after 2^32 operations; an ABA then needs one thread to stall
//!   between its load and its CAS while exactly 2^32 others complete (the usual accepted
//!   risk of tagged pointers, with a wider tag than the 16 spare bits of a pointer).
//! - **Strict provenance for free.** Block pointers are always derived from the region
//!   pointer (`add`); a block given back is turned into an index by its address, and the
//!   list never dereferences the caller's pointer.
//! - **Checks.** A popped block's link is set to a marker (`ALLOCATED`), so a block given
//!   back whose link is not the marker is a double free (always detected when the two frees
//!   do not race; debug builds use a compare-and-swap that also catches two racing frees).
//!   Addresses outside the region or off a block boundary are foreign blocks. Both panic
//!   with a message naming the problem, and the list is unchanged.
//!
//! The cost: 4 bytes per block, and construction writes the table (O(count)). Allocation
//! is one Acquire load, one link load, one CAS and one Relaxed store; deallocation one
//! load of the link (a compare-and-swap in debug builds), one load of the head and one CAS.
//! Against `SyncFreeList` (a spin lock: one CAS to lock, a plain store to unlock) that is
//! the same number of read-modify-writes in the uncontended case, and under contention no
//! thread ever waits for a preempted lock holder. The benchmark `shared` measures both (see
//! the crate docs for the figures).
//!
//! Measured (benchmark `shared/free_list_64B`, 256 blocks of 64 B per thread, each
//! thread allocating and freeing in its own shuffled order; two runs on a 2-core VM at
//! load average 17 to 20, other engineers compiling, so only a rough picture): time per
//! round `SharedFreeList` / `SyncFreeList` 1.21 and 1.23 at one thread, 1.10 and 1.31 at
//! two, 1.14 and 2.46 at four. On this machine the lock-free stack did **not** beat the
//! spin lock: both serialise on one cache line, and with one thread per core a spin-lock
//! holder is rarely preempted. What the lock-free list buys is that no thread ever waits
//! for a preempted holder (many more threads than cores, signal handlers, priorities),
//! and the no-data-race, no-lock guarantees; the figures should be taken again on a quiet
//! machine with more cores before choosing it for speed alone.
//!
//! The model checker `loom` explores the interleavings of pushes and pops
//! (`tests/loom.rs`), Miri checks the memory accesses, and the conformance kit the
//! contract.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError};

use crate::sync::{AtomicU32, AtomicU64};

/// The link of a block that is handed out (no free block has this index plus one).
const ALLOCATED: u32 = u32::MAX;
/// The most blocks a list can have: indices plus one must stay below [`ALLOCATED`].
const MAX_BLOCKS: usize = (u32::MAX - 1) as usize;

macro_rules! shared_free_list_struct {
    ($($default:ty)?) => {
        /// A lock-free pool of fixed-size blocks that threads share: `Send + Sync`, a block
        /// allocated on one thread may be freed on any other.
        ///
        /// The same blocks and answers as `SyncFreeList` (alloc-freelist), without its spin
        /// lock: `count` blocks of one size in a single allocation from a parent, handed out
        /// and taken back in O(1) by a compare-and-swap on a tagged head (see the
        /// top of `src/shared_list.rs` for the design and why it is ABA-safe and free of
        /// data races).
        ///
        /// - Requests of 1 to `block_size` bytes, aligned at most to
        ///   [`block_align`](Self::block_align), get a whole block; larger requests fail with
        ///   `TooLarge`, more aligned ones with `UnsupportedAlignment`, and an exhausted list
        ///   with `OutOfMemory`. Zero-size requests get [`Block::empty`].
        /// - Reallocation within the block size and alignment returns the same block.
        /// - [`BlockOwner`]: O(1), by address range and block boundary, without any atomic.
        /// - Giving back a block that is not one of the list's, or a double free, panics
        ///   with a message naming the problem (see
        ///   [`deallocate_raw`](#method.deallocate_raw)); the list stays usable.
        ///
        /// Available on targets with 64-bit atomics (every 64-bit target and wasm32).
        ///
        /// # Examples
        ///
        /// ```
        /// use alloc_core::Allocator;
        /// use alloc_global::SharedFreeList;
        ///
        /// let list = SharedFreeList::new(64, 128).unwrap();
        /// std::thread::scope(|s| {
        ///     for t in 0..2u64 {
        ///         let list = &list;
        ///         s.spawn(move || {
        ///             for i in 0..100 {
        ///                 let b = list.allocate([t, i]).unwrap();
        ///                 assert_eq!(*b, [t, i]);
        ///             }
        ///         });
        ///     }
        /// });
        /// let mut list = list;
        /// assert_eq!(list.free_blocks(), 128);
        /// ```
        pub struct SharedFreeList<P: Allocator $(= $default)?> {
            /// Tag (high 32 bits) and index plus one (low 32 bits) of the top free block;
            /// 0 in the low half means no free block.
            head: AtomicU64,
            /// The first block; block `i` starts `i * stride` bytes after it. Provenance:
            /// the whole region.
            base: NonNull<u8>,
            /// `links[i]`: index plus one of the free block under block `i`, or
            /// [`ALLOCATED`]; `count` initialised atomics inside the region.
            links: NonNull<AtomicU32>,
            /// Size and alignment of every block (as handed out).
            block: Layout,
            /// Distance between block starts: `block.size()` rounded up to its alignment.
            stride: usize,
            /// `log2(stride)` when `stride` is a power of two, else `u32::MAX` (divide).
            stride_shift: u32,
            count: usize,
            /// The whole parent allocation (blocks, then links).
            region: Block,
            parent: P,
        }
    };
}

#[cfg(feature = "alloc")]
shared_free_list_struct!(Heap);
#[cfg(not(feature = "alloc"))]
shared_free_list_struct!();

// SAFETY: the list owns its region; sending it sends the region with it, sound when the
// parent may be sent (it frees the region on drop).
unsafe impl<P: Allocator + Send> Send for SharedFreeList<P> {}
// SAFETY: `&SharedFreeList` changes state only through atomics (the head and the links);
// a block's memory is handed from the thread that frees it to the one that allocates it
// next by the Release CAS of the push and the Acquire load of the pop, so the users' plain
// accesses never race. The geometry is immutable. `parent()` exposes `&P`, hence `P: Sync`.
unsafe impl<P: Allocator + Sync> Sync for SharedFreeList<P> {}

#[cfg(feature = "alloc")]
impl SharedFreeList<Heap> {
    /// `count` blocks of `block_size` bytes from [`Heap`], aligned to the natural
    /// alignment of `block_size` capped at 16 (as `FreeList::new` of alloc-freelist).
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for a zero `block_size` or `count`, or more than 2^32 - 2
    /// blocks; `SizeOverflow` if the region's size overflows; the parent's error if it
    /// refuses the region.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = alloc_global::SharedFreeList::new(48, 1000).unwrap();
    /// assert_eq!((list.block_size(), list.block_align(), list.capacity()), (48, 16, 1000));
    /// assert!(alloc_global::SharedFreeList::new(0, 10).is_err());
    /// ```
    pub fn new(block_size: usize, count: usize) -> Result<Self, InitError> {
        Self::new_in(block_size, count, Heap)
    }
}

impl<P: Allocator> SharedFreeList<P> {
    /// `count` blocks of `block_size` bytes (default alignment, as [`new`](Self::new)) in
    /// one allocation from `parent`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::alloc::System;
    ///
    /// let list = alloc_global::SharedFreeList::new_in(32, 10, System).unwrap();
    /// assert_eq!(list.capacity(), 10);
    /// ```
    pub fn new_in(block_size: usize, count: usize, parent: P) -> Result<Self, InitError> {
        let natural = 1usize << block_size.trailing_zeros().min(4);
        let layout = Layout::from_size_align(block_size, natural)
            .map_err(|_| AllocatorError::SizeOverflow)?;
        Self::with_layout_in(layout, count, parent)
    }

    /// `count` blocks of `block.size()` bytes aligned to `block.align()`, in one
    /// allocation from `parent`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use std::alloc::System;
    ///
    /// let block = Layout::from_size_align(100, 64).unwrap();
    /// let list = alloc_global::SharedFreeList::with_layout_in(block, 4, System).unwrap();
    /// assert_eq!((list.block_size(), list.block_align()), (100, 64));
    /// ```
    pub fn with_layout_in(block: Layout, count: usize, parent: P) -> Result<Self, InitError> {
        if block.size() == 0 {
            return Err(InitError::invalid_argument(
                "SharedFreeList: block size is zero",
            ));
        }
        if count == 0 || count > MAX_BLOCKS {
            return Err(InitError::invalid_argument(
                "SharedFreeList: block count must be between 1 and 2^32 - 2",
            ));
        }
        let stride = block.pad_to_align().size();
        let blocks = stride
            .checked_mul(count)
            .ok_or(AllocatorError::SizeOverflow)?;
        let blocks = Layout::from_size_align(blocks, block.align())
            .map_err(|_| AllocatorError::SizeOverflow)?;
        let links_layout =
            Layout::array::<AtomicU32>(count).map_err(|_| AllocatorError::SizeOverflow)?;
        let (region_layout, links_offset) = blocks
            .extend(links_layout)
            .map_err(|_| AllocatorError::SizeOverflow)?;
        let region = parent.allocate_raw(region_layout)?;
        let base = region.ptr();
        // SAFETY: `links_offset` is inside the region (`extend` put the table there), and
        // the offset pointer is aligned for `AtomicU32` (`extend` aligned it).
        let links = unsafe { base.add(links_offset) }.cast::<AtomicU32>();
        for i in 0..count {
            // Block `i` links to block `i + 1` (index plus one: `i + 2`); the last to none.
            let next = if i + 1 < count { i as u32 + 2 } else { 0 };
            // SAFETY: `i < count`: inside the table, which nothing reads yet; writing
            // initialises it (no old value to drop).
            unsafe { links.add(i).write(AtomicU32::new(next)) };
        }
        let stride_shift = if stride.is_power_of_two() {
            stride.trailing_zeros()
        } else {
            u32::MAX
        };
        Ok(Self {
            head: AtomicU64::new(1),
            base,
            links,
            block,
            stride,
            stride_shift,
            count,
            region,
            parent,
        })
    }

    /// The size of every block.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_global::SharedFreeList::new(24, 2).unwrap().block_size(), 24);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_size(&self) -> usize {
        self.block.size()
    }

    /// The alignment of every block.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_global::SharedFreeList::new(24, 2).unwrap().block_align(), 8);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_align(&self) -> usize {
        self.block.align()
    }

    /// The number of blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_global::SharedFreeList::new(24, 7).unwrap().capacity(), 7);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.count
    }

    /// The number of free blocks, counted by walking the stack. Takes `&mut self`: an
    /// exact count while threads push and pop would cost every operation a second atomic
    /// (the walk is O(free blocks)).
    ///
    /// # Panics
    ///
    /// If the walk finds more links than blocks (a corrupted list).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    ///
    /// let mut list = alloc_global::SharedFreeList::new(16, 3).unwrap();
    /// let b = list.allocate_raw(core::alloc::Layout::new::<u64>()).unwrap();
    /// assert_eq!(list.free_blocks(), 2);
    /// // SAFETY: allocated just above.
    /// unsafe { list.deallocate_raw(b) };
    /// assert_eq!(list.free_blocks(), 3);
    /// ```
    #[must_use]
    pub fn free_blocks(&mut self) -> usize {
        let mut free = 0;
        let mut next = index_of(self.head.load(Acquire));
        while next != 0 {
            free += 1;
            assert!(
                free <= self.count,
                "SharedFreeList: the free list has a cycle"
            );
            next = self.link(next as usize - 1).load(Relaxed);
        }
        free
    }

    /// The parent allocator the memory came from.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = alloc_global::SharedFreeList::new(48, 4).unwrap();
    /// assert_eq!(*list.parent(), alloc_core::Heap);
    /// ```
    #[inline]
    #[must_use]
    pub fn parent(&self) -> &P {
        &self.parent
    }

    /// The link of block `index`.
    #[inline]
    fn link(&self, index: usize) -> &AtomicU32 {
        debug_assert!(index < self.count);
        // SAFETY: `index < count` (every caller derives it from the head, a link or a
        // checked address), and the table's `count` atomics were initialised in the
        // constructor and live as long as `self`.
        unsafe { self.links.add(index).as_ref() }
    }

    /// Pops a free block: its index.
    #[inline]
    fn pop(&self) -> Option<usize> {
        let mut head = self.head.load(Acquire);
        loop {
            let top = index_of(head);
            if top == 0 {
                return None;
            }
            let index = top as usize - 1;
            // Possibly stale (another thread may pop `index` meanwhile): then the tag has
            // moved on and the CAS below fails.
            let next = self.link(index).load(Relaxed);
            let new = (u64::from(tag_of(head).wrapping_add(1)) << 32) | u64::from(next);
            match self.head.compare_exchange_weak(head, new, Acquire, Acquire) {
                Ok(_) => {
                    self.link(index).store(ALLOCATED, Relaxed);
                    return Some(index);
                }
                Err(now) => head = now,
            }
        }
    }

    /// Pushes block `index` (a block start inside the region). Panics on a double free,
    /// before changing anything.
    #[inline]
    #[track_caller]
    fn push(&self, index: usize) {
        let link = self.link(index);
        // Debug builds claim the block atomically, so two racing frees are caught too;
        // release builds catch every double free that does not race.
        #[cfg(debug_assertions)]
        let handed_out = link
            .compare_exchange(ALLOCATED, 0, Relaxed, Relaxed)
            .is_ok();
        #[cfg(not(debug_assertions))]
        let handed_out = link.load(Relaxed) == ALLOCATED;
        if !handed_out {
            double_free(index);
        }
        let mut head = self.head.load(Relaxed);
        loop {
            link.store(index_of(head), Relaxed);
            let new = (u64::from(tag_of(head).wrapping_add(1)) << 32) | (index as u64 + 1);
            match self.head.compare_exchange_weak(head, new, Release, Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Whether the list hands out blocks for `layout` (size 1 to block size, alignment
    /// at most the block's).
    #[inline]
    fn serves(&self, layout: Layout) -> bool {
        layout.size().wrapping_sub(1) < self.block.size() && layout.align() <= self.block.align()
    }

    /// The error for a request that [`serves`](Self::serves) refused or that found no free
    /// block (inlined behind a cold marker: see ARCHITECTURE.md, performance rules).
    #[inline]
    fn refuse(&self, layout: Layout) -> Result<Block, AllocatorError> {
        cold_path();
        if layout.size() == 0 {
            Ok(Block::empty(layout))
        } else if layout.size() > self.block.size() {
            Err(AllocatorError::TooLarge)
        } else if layout.align() > self.block.align() {
            Err(AllocatorError::UnsupportedAlignment)
        } else {
            Err(AllocatorError::OutOfMemory)
        }
    }

    /// The block at `index`, as handed out for a request aligned to `align`.
    #[inline]
    fn block_at(&self, index: usize, align: usize) -> Block {
        // SAFETY: `index < count`, so the offset is inside the region's block part.
        let ptr = unsafe { self.base.add(index * self.stride) };
        // SAFETY: the block lies inside the region, which exists, so its size is below
        // `Block::MAX_SIZE`; `align` divides the block alignment, which the pointer has.
        unsafe {
            Block::from_raw_parts_unchecked(
                ptr,
                Layout::from_size_align_unchecked(self.block.size(), align),
            )
        }
    }

    /// The index of the block starting at `block`'s address, if it is one of ours that
    /// `block` fits (size and alignment at most the block's).
    #[inline]
    fn index_of_block(&self, block: &Block) -> Option<usize> {
        let offset = block.addr().wrapping_sub(self.base.as_ptr().addr());
        let index = if self.stride_shift == u32::MAX {
            if offset % self.stride != 0 {
                return None;
            }
            offset / self.stride
        } else {
            if offset & (self.stride - 1) != 0 {
                return None;
            }
            offset >> self.stride_shift
        };
        (index < self.count
            && block.size() <= self.block.size()
            && block.align() <= self.block.align())
        .then_some(index)
    }
}

/// The index-plus-one half of a head word.
#[inline]
fn index_of(head: u64) -> u32 {
    head as u32
}

/// The tag half of a head word.
#[inline]
fn tag_of(head: u64) -> u32 {
    (head >> 32) as u32
}

#[cold]
#[inline(never)]
fn cold_path() {}

#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block) -> ! {
    panic!(
        "SharedFreeList: deallocated a block this list does not own (outside its memory, not \
         on a block boundary, or larger than a block): {block:?}"
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn double_free(index: usize) -> ! {
    panic!("SharedFreeList: double free of block {index} (it is not allocated)")
}

impl<P: Allocator> Drop for SharedFreeList<P> {
    fn drop(&mut self) {
        for i in 0..self.count {
            // SAFETY: the `count` links were initialised in the constructor and are not
            // used again (`&mut self`, and the region goes back below).
            unsafe { self.links.add(i).drop_in_place() };
        }
        // SAFETY: the region was allocated by `parent` with this layout in the
        // constructor and is given back once; its blocks end with the list (the allocator
        // contract lets blocks end when their allocator is dropped).
        unsafe { self.parent.deallocate_raw(self.region) }
    }
}

impl<P: Allocator + fmt::Debug> fmt::Debug for SharedFreeList<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedFreeList")
            .field("block_size", &self.block_size())
            .field("block_align", &self.block_align())
            .field("capacity", &self.capacity())
            .field("parent", self.parent())
            .finish_non_exhaustive()
    }
}

// SAFETY: 1. a block is popped by exactly one thread (the CAS on the tagged head succeeds
// once per pop; see the module docs for ABA), lies inside the region at a multiple of the
// stride (so aligned to the block alignment, which bounds the request's) and has the block
// size, at least the requested size; blocks are disjoint. 2. the region lives until drop
// and lives outside `self` (moving the list moves only the pointers). 3. zero-size requests
// are refused by `serves` and answered by `refuse` with `Block::empty`; empty blocks are
// ignored on deallocation. 4. a failed request changes nothing.
unsafe impl<P: Allocator> Allocator for SharedFreeList<P> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if self.serves(layout) {
            if let Some(index) = self.pop() {
                return Ok(self.block_at(index, layout.align()));
            }
        }
        self.refuse(layout)
    }

    /// Pushes `block` on the stack.
    ///
    /// # Panics
    ///
    /// `SharedFreeList: deallocated a block this list does not own …` for a block outside
    /// the region, off a block boundary or larger than a block; `SharedFreeList: double
    /// free …` for a block that is free (every build; in release builds two frees that race
    /// may go unnoticed). The list is unchanged and stays usable.
    #[inline]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        match self.index_of_block(&block) {
            Some(index) => self.push(index),
            None => foreign_block(&block),
        }
    }

    /// In place when the new layout fits a block.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](#method.deallocate_raw), for a block that is not one of the
    /// list's, or not allocated.
    #[inline]
    #[track_caller]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        let Some(index) = self.index_of_block(&block) else {
            foreign_block(&block)
        };
        if self.link(index).load(Relaxed) != ALLOCATED {
            double_free(index);
        }
        if new_layout.size() == 0 {
            self.push(index);
            return Ok(Block::empty(new_layout));
        }
        if self.serves(new_layout) {
            Ok(self.block_at(index, new_layout.align()))
        } else {
            self.refuse(new_layout)
        }
    }
}

// SAFETY: true exactly for non-empty blocks at a block boundary inside the region that fit
// a block, which are the blocks this list hands out; reads only immutable geometry.
unsafe impl<P: Allocator> BlockOwner for SharedFreeList<P> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        !block.is_empty() && self.index_of_block(block).is_some()
    }
}

alloc_core::impl_allocator_api2!(impl[P: Allocator] for SharedFreeList<P>);
