//! [`FreeList`]: fixed-size blocks in one parent allocation, O(1) allocate and free.

use core::alloc::Layout;
use core::fmt;

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError};

use crate::raw::{RawFreeList, default_align};

/// The region of a free list together with the parent it came from; gives the region back
/// on drop. Shared by [`FreeList`] and [`SyncFreeList`](crate::SyncFreeList).
pub(crate) struct Owned<A: Allocator> {
    pub(crate) raw: RawFreeList,
    pub(crate) parent: A,
}

impl<A: Allocator> Owned<A> {
    pub(crate) fn new_in(block: Layout, count: usize, parent: A) -> Result<Self, InitError> {
        let raw = RawFreeList::new_in(block, count, &parent)?;
        Ok(Self { raw, parent })
    }
}

impl<A: Allocator> Drop for Owned<A> {
    fn drop(&mut self) {
        // SAFETY: the region was allocated by `parent` in `new_in` with exactly this
        // layout and is given back once; the blocks inside it die with the free list (the
        // allocator contract lets blocks end when their allocator is dropped).
        unsafe { self.parent.deallocate_raw(self.raw.region_block()) }
    }
}

/// The layout of `block_size`-byte blocks with the default alignment.
pub(crate) fn default_layout(block_size: usize) -> Result<Layout, InitError> {
    Layout::from_size_align(block_size, default_align(block_size)).map_err(|_| {
        InitError::new(
            AllocatorError::SizeOverflow,
            "block size rounded up to its alignment exceeds isize::MAX",
        )
    })
}

/// An allocator of fixed-size blocks: `count` blocks of `block_size` bytes (the arguments
/// of [`new`](Self::new); `count` is then its [`capacity`](Self::capacity)) in one
/// allocation taken from a parent allocator, handed out and taken back in O(1).
///
/// Allocation pops the most recently freed block (the link to the next one lives inside the
/// free block: no per-block header), deallocation pushes it back. Blocks that were never
/// used are handed out in address order before the list is used, so construction is O(1).
/// See the [crate docs](crate) for the design and for what is checked.
///
/// - Requests of 1 to `block_size` bytes, aligned at most to
///   [`block_align`](Self::block_align), get a whole block: the returned block reports
///   `block_size` bytes (and the requested alignment).
/// - Larger requests fail with `TooLarge`, more aligned ones with `UnsupportedAlignment`
///   (so a `Fallback` can serve them), and an exhausted list with `OutOfMemory`. Zero-size
///   requests get [`Block::empty`].
/// - Reallocation within the block size and alignment returns the same block.
/// - [`BlockOwner`]: O(1), by address range and block boundary.
///
/// The memory lives in the parent, not in the `FreeList` value: moving it (into a
/// `Vec<T, FreeList>`, a `Box`, another thread) keeps every block valid. Dropping it gives
/// the memory back to the parent.
///
/// `FreeList` is `Send` (when the parent is) but not `Sync`; use
/// [`SyncFreeList`](crate::SyncFreeList) to share one between threads.
///
/// # Examples
///
/// ```
/// use alloc_freelist::FreeList;
/// use alloc_core::Allocator;
///
/// // a FreeList allocator with 64 blocks of 1024 bytes.
/// let alloc = FreeList::new(1024, 64).unwrap();
/// for _ in 0..10 {
///     // allocate every block
///     let mut v = Vec::new();
///     for i in 0u8..64 {
///         v.push(alloc.allocate([i; 1024]).unwrap());
///     }
///     // no more blocks
///     assert!(alloc.allocate([0; 1024]).is_err());
///     // all the blocks go back onto the list here, and are reused in the next round.
/// }
/// assert_eq!(alloc.free_blocks(), 64);
/// ```
///
/// A `FreeList` is not `Sync`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// shared(&alloc_freelist::FreeList::new(64, 8).unwrap());
/// ```
pub struct FreeList<
    #[cfg(feature = "alloc")] A: Allocator = Heap,
    #[cfg(not(feature = "alloc"))] A: Allocator,
> {
    inner: Owned<A>,
}

// SAFETY: a `FreeList` owns its region (the raw pointers point into memory allocated for it
// by `parent`) and its `Cell`s; sending it sends all of that together, which is sound when
// the parent itself may be sent. It stays `!Sync` (the `Cell`s).
unsafe impl<A: Allocator + Send> Send for FreeList<A> {}

#[cfg(feature = "alloc")]
impl FreeList<Heap> {
    /// `count` blocks of `block_size` bytes from [`Heap`], aligned to the block size's
    /// natural alignment capped at 16 (a 24-byte block is 8-aligned, a 1024-byte block
    /// 16-aligned); see [`with_layout`](Self::with_layout) to choose the alignment.
    ///
    /// # Errors
    ///
    /// An [`InitError`] of kind
    /// - `InvalidArgument` if `block_size` is smaller than a pointer or `count` is 0;
    /// - `SizeOverflow` if `block_size × count` overflows or exceeds `isize::MAX`;
    /// - `OutOfMemory` if the heap cannot provide the memory.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_freelist::FreeList;
    /// use alloc_core::AllocatorError;
    ///
    /// let list = FreeList::new(64, 1024).unwrap();
    /// assert_eq!((list.block_size(), list.block_align(), list.capacity()), (64, 16, 1024));
    /// let e = FreeList::new(2, 10).unwrap_err();
    /// assert_eq!(e.kind(), AllocatorError::InvalidArgument);
    /// assert_eq!(e.to_string(), "invalid argument: block size is smaller than a pointer");
    /// assert_eq!(FreeList::new(64, usize::MAX).unwrap_err().kind(), AllocatorError::SizeOverflow);
    /// ```
    pub fn new(block_size: usize, count: usize) -> Result<Self, InitError> {
        Self::new_in(block_size, count, Heap)
    }

    /// `count` blocks of `block.size()` bytes aligned to `block.align()`, from [`Heap`].
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_freelist::FreeList;
    /// use alloc_core::Allocator;
    /// use core::alloc::Layout;
    ///
    /// // Cache-line blocks.
    /// let list = FreeList::with_layout(Layout::from_size_align(64, 64).unwrap(), 16).unwrap();
    /// let b = list.allocate_raw(Layout::from_size_align(40, 64).unwrap()).unwrap();
    /// assert_eq!(b.addr() % 64, 0);
    /// // SAFETY: `b` was allocated by `list` just above.
    /// unsafe { list.deallocate_raw(b) };
    /// ```
    pub fn with_layout(block: Layout, count: usize) -> Result<Self, InitError> {
        Self::with_layout_in(block, count, Heap)
    }
}

impl<A: Allocator> FreeList<A> {
    /// `count` blocks of `block_size` bytes in one allocation from `parent`, with the
    /// default alignment (see [`FreeList::new`]).
    ///
    /// The parent is taken by value: pass `&parent` to borrow it.
    ///
    /// # Errors
    ///
    /// As [`FreeList::new`], with the parent's error as the kind when it cannot provide the
    /// memory.
    ///
    /// # Examples
    ///
    /// A free list of small blocks carved out of one block of a free list of big blocks
    /// (31 blocks of 32 bytes and the bitmap fit in 1 KiB: see
    /// [`region_layout`](crate::region_layout)):
    ///
    /// ```
    /// use alloc_freelist::FreeList;
    /// use alloc_core::Allocator;
    ///
    /// let big = FreeList::new(1024, 4).unwrap();
    /// {
    ///     let small = FreeList::new_in(32, 31, &big).unwrap();
    ///     assert_eq!(big.free_blocks(), 3);
    ///     let x = small.allocate(7u64).unwrap();
    ///     assert_eq!(*x, 7);
    /// }
    /// // Dropping `small` gave its block back.
    /// assert_eq!(big.free_blocks(), 4);
    /// ```
    pub fn new_in(block_size: usize, count: usize, parent: A) -> Result<Self, InitError> {
        Self::with_layout_in(default_layout(block_size)?, count, parent)
    }

    /// `count` blocks of `block.size()` bytes aligned to `block.align()`, in one
    /// allocation from `parent`.
    ///
    /// Blocks are `block.size()` rounded up to `block.align()` apart, so every block is
    /// aligned; a block smaller than a pointer is refused.
    ///
    /// # Errors
    ///
    /// As [`FreeList::new`], with the parent's error as the kind when it cannot provide the
    /// memory.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_freelist::FreeList;
    /// use alloc_core::Heap;
    /// use core::alloc::Layout;
    ///
    /// let list = FreeList::with_layout_in(Layout::new::<[u64; 3]>(), 100, Heap).unwrap();
    /// assert_eq!((list.block_size(), list.block_align()), (24, 8));
    /// ```
    pub fn with_layout_in(block: Layout, count: usize, parent: A) -> Result<Self, InitError> {
        Ok(Self {
            inner: Owned::new_in(block, count, parent)?,
        })
    }

    /// The size of every block, as reported by every allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_freelist::FreeList::new(48, 4).unwrap().block_size(), 48);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_size(&self) -> usize {
        self.inner.raw.block_size()
    }

    /// The alignment of every block: requests may ask for this much, not more.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_freelist::FreeList::new(48, 4).unwrap().block_align(), 16);
    /// assert_eq!(alloc_freelist::FreeList::new(12, 4).unwrap().block_align(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_align(&self) -> usize {
        self.inner.raw.block_align()
    }

    /// The number of blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_freelist::FreeList::new(48, 4).unwrap().capacity(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.raw.capacity()
    }

    /// The number of blocks not currently allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    ///
    /// let list = alloc_freelist::FreeList::new(48, 4).unwrap();
    /// let a = list.allocate(1u32).unwrap();
    /// assert_eq!(list.free_blocks(), 3);
    /// drop(a);
    /// assert_eq!(list.free_blocks(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn free_blocks(&self) -> usize {
        self.inner.raw.free_blocks()
    }

    /// The parent allocator the memory came from.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = alloc_freelist::FreeList::new(48, 4).unwrap();
    /// assert_eq!(*list.parent(), alloc_core::Heap);
    /// ```
    #[inline]
    #[must_use]
    pub fn parent(&self) -> &A {
        &self.inner.parent
    }
}

impl<A: Allocator + fmt::Debug> fmt::Debug for FreeList<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreeList")
            .field("block_size", &self.block_size())
            .field("block_align", &self.block_align())
            .field("capacity", &self.capacity())
            .field("free_blocks", &self.free_blocks())
            .field("parent", self.parent())
            .finish()
    }
}

// SAFETY:
// 1. Blocks are distinct `stride`-apart slices of the parent's region, each valid for
//    `block_size` bytes and aligned to `block_align`; a block is handed out only while it is
//    neither on the list nor fresh, so live blocks never overlap. The returned block reports
//    the requested alignment (at most `block_align`) and `block_size >= ` the request.
// 2. The region belongs to the parent, not to the `FreeList` value, and is only given back
//    on drop.
// 3. Zero-size requests get `Block::empty` and empty blocks are ignored on deallocation.
// 4. Failed requests change nothing; a failed reallocation leaves the block in place.
unsafe impl<A: Allocator> Allocator for FreeList<A> {
    /// The fast path, inlined into the caller: pop a block. Zero-size requests get an
    /// empty block; the reason for any other failure comes from the cold
    /// `RawFreeList::refusal`.
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let raw = &self.inner.raw;
        if raw.serves(layout) {
            if let Some(ptr) = raw.pop() {
                return Ok(raw.block(ptr, layout.align()));
            }
        } else if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        Err(raw.refusal(layout))
    }

    /// Pushes `block` on the list.
    ///
    /// # Panics
    ///
    /// If `block` is not one of this list's blocks (outside its memory, not on a block
    /// boundary, larger than a block, or never handed out), always; if it is already free,
    /// in debug builds (or with the `double-free-check` feature) always, otherwise when it
    /// is the most recently freed block or was freed before the list last restarted (see
    /// the [crate docs](crate#checks-against-misuse)).
    #[inline]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        // SAFETY: the caller gives back a block currently allocated by `self` and does not
        // use it afterwards; a block that is not is caught by the checks (see `push`).
        if let Err(e) = unsafe { self.inner.raw.push(&block) } {
            e.panic("FreeList");
        }
    }

    /// In place when the new layout fits a block (the same block is returned, reporting
    /// the full block size); `TooLarge` / `UnsupportedAlignment` otherwise, as no other
    /// block could serve it either.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw), for a block that is not allocated.
    #[inline]
    #[track_caller]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        let raw = &self.inner.raw;
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        let ptr = match raw.check_allocated(&block) {
            Ok((_, ptr)) => ptr,
            Err(e) => e.panic("FreeList"),
        };
        if raw.serves(new_layout) {
            Ok(raw.block(ptr, new_layout.align()))
        } else {
            Err(raw.refusal(new_layout))
        }
    }
}

// SAFETY: `owns` is true exactly for non-empty blocks no larger than a block that start on
// a block boundary of this list's region: every block this list hands out (and every block
// that fits one) is such a block, and memory outside the region, or allocated by another
// allocator, is not (the region is this list's own parent allocation).
unsafe impl<A: Allocator> BlockOwner for FreeList<A> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.inner.raw.owns(block)
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for FreeList<A>);
