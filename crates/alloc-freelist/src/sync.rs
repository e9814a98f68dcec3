//! [`SyncFreeList`]: a [`FreeList`](crate::FreeList) that threads can share, behind a short
//! spin lock.

use core::alloc::Layout;
use core::fmt;

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError, RawLock, SpinLock};

use crate::freelist::{Owned, default_layout};

/// A thread-safe [`FreeList`](crate::FreeList): `Send + Sync`, so one list can back
/// allocations from several threads (blocks may be freed by another thread than the one
/// that allocated them).
///
/// Same blocks, errors, checks and O(1) behaviour as `FreeList`; every operation on the
/// list runs under a spin lock held for a few instructions (a pop or a push, no allocation,
/// no panic while held except on a corrupted list in checked builds, and then the lock is
/// released by unwinding). Waiters spin briefly, then (with feature `std`) yield to let a
/// preempted holder finish. The [crate docs](crate#syncfreelist-a-short-spin-lock) explain
/// why a lock rather than a lock-free stack, with the measured costs.
///
/// `owns_block`, `block_size`, `block_align` and `capacity` take no lock.
///
/// # Examples
///
/// ```
/// use alloc_freelist::SyncFreeList;
/// use alloc_core::Allocator;
///
/// let list = SyncFreeList::new(64, 128).unwrap();
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
/// assert_eq!(list.free_blocks(), 128);
/// ```
pub struct SyncFreeList<
    #[cfg(feature = "alloc")] A: Allocator = Heap,
    #[cfg(not(feature = "alloc"))] A: Allocator,
> {
    lock: SpinLock,
    inner: Owned<A>,
}

// SAFETY: the list owns its region and state; sending it sends them together, which is
// sound when the parent may be sent (the parent is used again on drop).
unsafe impl<A: Allocator + Send> Send for SyncFreeList<A> {}
// SAFETY: every access to the list's mutable state (the `Cell`s of `RawFreeList`, the
// links inside free blocks and the bitmap) happens with the spin lock held, whose
// Acquire/Release orderings make those accesses happen-before one another; a block handed
// out is only touched by its user after the pop that took it, and the next pop of it
// follows the push that gave it back, so the user's writes and the list's link writes
// never race. The immutable geometry is read freely. `&SyncFreeList` exposes `&A` through
// `parent()`, hence `A: Sync`.
unsafe impl<A: Allocator + Sync> Sync for SyncFreeList<A> {}

#[cfg(feature = "alloc")]
impl SyncFreeList<Heap> {
    /// `count` blocks of `block_size` bytes from [`Heap`], with the default alignment (see
    /// [`FreeList::new`](crate::FreeList::new)).
    ///
    /// # Errors
    ///
    /// As [`FreeList::new`](crate::FreeList::new).
    ///
    /// # Examples
    ///
    /// ```
    /// let list = alloc_freelist::SyncFreeList::new(64, 1024).unwrap();
    /// assert_eq!(list.capacity(), 1024);
    /// ```
    pub fn new(block_size: usize, count: usize) -> Result<Self, InitError> {
        Self::new_in(block_size, count, Heap)
    }

    /// `count` blocks of `block.size()` bytes aligned to `block.align()`, from [`Heap`].
    ///
    /// # Errors
    ///
    /// As [`FreeList::new`](crate::FreeList::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use core::alloc::Layout;
    ///
    /// let layout = Layout::from_size_align(64, 64).unwrap();
    /// let list = alloc_freelist::SyncFreeList::with_layout(layout, 8).unwrap();
    /// assert_eq!(list.block_align(), 64);
    /// ```
    pub fn with_layout(block: Layout, count: usize) -> Result<Self, InitError> {
        Self::with_layout_in(block, count, Heap)
    }
}

impl<A: Allocator> SyncFreeList<A> {
    /// `count` blocks of `block_size` bytes in one allocation from `parent`, with the
    /// default alignment.
    ///
    /// # Errors
    ///
    /// As [`FreeList::new_in`](crate::FreeList::new_in).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Heap;
    ///
    /// let list = alloc_freelist::SyncFreeList::new_in(32, 10, Heap).unwrap();
    /// assert_eq!(list.free_blocks(), 10);
    /// ```
    pub fn new_in(block_size: usize, count: usize, parent: A) -> Result<Self, InitError> {
        Self::with_layout_in(default_layout(block_size)?, count, parent)
    }

    /// `count` blocks of `block.size()` bytes aligned to `block.align()`, in one
    /// allocation from `parent`.
    ///
    /// # Errors
    ///
    /// As [`FreeList::new_in`](crate::FreeList::new_in).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Heap;
    /// use core::alloc::Layout;
    ///
    /// let list = alloc_freelist::SyncFreeList::with_layout_in(Layout::new::<[u32; 3]>(), 10, Heap)
    ///     .unwrap();
    /// assert_eq!((list.block_size(), list.block_align()), (12, 4));
    /// ```
    pub fn with_layout_in(block: Layout, count: usize, parent: A) -> Result<Self, InitError> {
        Ok(Self {
            lock: SpinLock::new(),
            inner: Owned::new_in(block, count, parent)?,
        })
    }

    /// The size of every block.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_freelist::SyncFreeList::new(48, 4).unwrap().block_size(), 48);
    /// ```
    #[inline]
    #[must_use]
    pub fn block_size(&self) -> usize {
        self.inner.raw.block_size()
    }

    /// The alignment of every block.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(alloc_freelist::SyncFreeList::new(48, 4).unwrap().block_align(), 16);
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
    /// assert_eq!(alloc_freelist::SyncFreeList::new(48, 4).unwrap().capacity(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.raw.capacity()
    }

    /// The number of blocks not currently allocated (a snapshot: other threads may change
    /// it right after).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    ///
    /// let list = alloc_freelist::SyncFreeList::new(48, 4).unwrap();
    /// let a = list.allocate(1u32).unwrap();
    /// assert_eq!(list.free_blocks(), 3);
    /// drop(a);
    /// assert_eq!(list.free_blocks(), 4);
    /// ```
    #[inline]
    #[must_use]
    pub fn free_blocks(&self) -> usize {
        let _guard = self.lock.lock();
        self.inner.raw.free_blocks()
    }

    /// The parent allocator the memory came from.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = alloc_freelist::SyncFreeList::new(48, 4).unwrap();
    /// assert_eq!(*list.parent(), alloc_core::Heap);
    /// ```
    #[inline]
    #[must_use]
    pub fn parent(&self) -> &A {
        &self.inner.parent
    }
}

impl<A: Allocator + fmt::Debug> fmt::Debug for SyncFreeList<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncFreeList")
            .field("block_size", &self.block_size())
            .field("block_align", &self.block_align())
            .field("capacity", &self.capacity())
            .field("free_blocks", &self.free_blocks())
            .field("parent", self.parent())
            .finish()
    }
}

// SAFETY: as for `FreeList` (the same `RawFreeList`, every state change under the lock,
// see the `Sync` impl above).
unsafe impl<A: Allocator> Allocator for SyncFreeList<A> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let raw = &self.inner.raw;
        if raw.serves(layout) {
            let popped = {
                let _guard = self.lock.lock();
                raw.pop()
            };
            if let Some(ptr) = popped {
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
    /// As [`FreeList::deallocate_raw`](crate::FreeList#method.deallocate_raw): a block that
    /// is not one of this list's, always; a double free in checked builds always, otherwise
    /// when the block is the most recently freed one or was freed before the list last
    /// restarted. The lock is released before the panic.
    #[inline]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let result = {
            let _guard = self.lock.lock();
            // SAFETY: the caller gives back a block currently allocated by `self` and does
            // not use it afterwards; a block that is not is caught by the checks.
            unsafe { self.inner.raw.push(&block) }
        };
        if let Err(e) = result {
            e.panic("SyncFreeList");
        }
    }

    /// In place when the new layout fits a block, as for `FreeList`.
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
        let checked = {
            let _guard = self.lock.lock();
            raw.check_allocated(&block)
        };
        let ptr = match checked {
            Ok((_, ptr)) => ptr,
            Err(e) => e.panic("SyncFreeList"),
        };
        if raw.serves(new_layout) {
            Ok(raw.block(ptr, new_layout.align()))
        } else {
            Err(raw.refusal(new_layout))
        }
    }
}

// SAFETY: as for `FreeList`: `owns` reads only the immutable geometry, so it needs no lock.
unsafe impl<A: Allocator> BlockOwner for SyncFreeList<A> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.inner.raw.owns(block)
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator] for SyncFreeList<A>);
