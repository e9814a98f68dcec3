//! [`AllocatorList`]: chunked growth, one more allocator instance whenever the current ones
//! are full.
//!
//! # Re-entrancy
//!
//! The list calls user code all the time: the instances (whose allocators may run loggers),
//! the factory, the parent, `owns_block`, the instances' destructors and the callback of
//! [`AllocatorList::for_each_instance`]. That code may use the list again (allocate, free,
//! reallocate, walk it), for example by dropping a box of the list. The design that keeps
//! this sound:
//!
//! **Invariant: while any operation of the list is in progress (`depth > 0`), no node is
//! unlinked, moved or freed; nodes are only added, at the head.** Every operation counts
//! itself in `depth` for its whole duration (also on unwind). So a node pointer an operation
//! holds across a call into user code stays valid, and its `next` still leads through every
//! node that was after it. The changes that the invariant defers (moving the instance that
//! served a request to the front; dropping instances that became empty, beyond the one
//! spare) are made by the outermost operation at its end, in [`AllocatorList::settle`],
//! from positions found again at that moment, and a node is unlinked before its instance is
//! dropped and its memory given back (the user code those run sees a list without it). A
//! panic in user code skips the deferred changes; the next operation makes them.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr::{self, NonNull};

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError};

mod nodes;

use nodes::Node;

/// Builds the allocator instances of an [`AllocatorList`].
///
/// Implemented for every closure `Fn() -> Result<A, InitError>`; implement it for a
/// named struct when the list's type must be written down (in a `static`, say).
///
/// # Examples
///
/// ```
/// use alloc_compose::AllocatorFactory;
/// use alloc_core::{Heap, InitError};
///
/// /// A nameable factory.
/// struct Heaps;
/// impl AllocatorFactory for Heaps {
///     type Output = Heap;
///     fn make(&self) -> Result<Heap, InitError> {
///         Ok(Heap)
///     }
/// }
///
/// assert_eq!(Heaps.make(), Ok(Heap));
/// assert_eq!((|| Ok(Heap)).make(), Ok(Heap));
/// ```
pub trait AllocatorFactory {
    /// The allocator built.
    type Output: Allocator;

    /// Builds one more instance.
    ///
    /// # Errors
    ///
    /// Whatever stops the instance from being built (usually its parent's `OutOfMemory`).
    fn make(&self) -> Result<Self::Output, InitError>;
}

impl<A: Allocator, F: Fn() -> Result<A, InitError>> AllocatorFactory for F {
    type Output = A;
    #[inline]
    fn make(&self) -> Result<A, InitError> {
        self()
    }
}

/// Chunked growth: a list of allocator instances, made by a factory on demand.
///
/// An allocation tries the instances in turn, most recently successful first; when every
/// instance is out of memory, the factory makes **one more** (on the first allocation too:
/// the list starts empty). Blocks go back to the instance that owns them (the instances
/// must be [`BlockOwner`]s). An instance that becomes empty is kept as the **one spare**;
/// when a second one becomes empty, it is dropped, giving its memory back. So the list
/// grows with the program's live set and shrinks after it, without repeatedly making and
/// dropping an instance at a boundary.
///
/// This is the growth the fixed-size allocators leave out: a free list of 256 blocks
/// becomes a pool of any number of blocks, 256 at a time; a bump region becomes a chain of
/// regions.
///
/// # Design
///
/// - **Nodes in parent memory.** Each instance lives in a node allocated from the parent
///   `P` (the heap by default), linked to the next: no `Vec`, so the list works without
///   `alloc`, with any parent. Moving the list moves only the head pointer; every instance
///   (and every block) stays where it is.
/// - **Counting, not asking.** The list counts the live blocks of each instance (an
///   instance need not be able to say whether it is empty).
/// - **Costs.** Allocation is one attempt when the first instance has room; when it is
///   full, a walk to the first one that has room, which then moves to the front.
///   Deallocation and `owns_block` walk the list to the owner: O(number of instances). Make
///   instances large enough that there are few of them (tens, not thousands).
/// - **Homogeneous instances.** An error other than `OutOfMemory` (`TooLarge`,
///   `UnsupportedAlignment`) is returned at once: another instance from the same factory
///   would refuse the request too.
/// - Reallocation stays in the owning instance when it can (in place for a free list);
///   otherwise the block moves to wherever the list allocates next.
///
/// A block that no instance owns is a foreign block: giving it back **panics**, in every
/// build. Dropping the list drops every instance (blocks still allocated die with them, as
/// the allocator contract allows).
///
/// `AllocatorList` is `Send` when its factory, parent and instances are; it is not `Sync`
/// (wrap it in a lock to share it).
///
/// # Examples
///
/// Growth by chunks of a tiny pool of four slots (written out here, as this crate may not
/// use the workspace's `FreeList`; the `allocators` facade shows an `AllocatorList` of
/// `FreeList`s):
///
/// ```
/// use alloc_compose::AllocatorList;
/// use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap, InitError};
/// use core::{alloc::Layout, cell::Cell};
///
/// /// Four 16-byte slots in a heap buffer.
/// struct Four { base: Block, used: Cell<u8> }
/// impl Four {
///     fn new() -> Result<Self, InitError> {
///         let base = Heap.allocate_raw(Layout::from_size_align(64, 16).unwrap())?;
///         Ok(Four { base, used: Cell::new(0) })
///     }
/// }
/// impl Drop for Four {
///     fn drop(&mut self) {
///         // SAFETY: allocated by `Heap` in `new`.
///         unsafe { Heap.deallocate_raw(self.base) }
///     }
/// }
/// // SAFETY: each slot is handed out at most once at a time, inside the buffer.
/// unsafe impl Allocator for Four {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() == 0 { return Ok(Block::empty(layout)) }
///         if layout.size() > 16 || layout.align() > 16 { return Err(AllocatorError::TooLarge) }
///         let i = (!self.used.get()).trailing_zeros() as usize;
///         if i >= 4 { return Err(AllocatorError::OutOfMemory) }
///         self.used.set(self.used.get() | 1 << i);
///         // SAFETY: `i < 4`: inside the 64-byte buffer.
///         Ok(Block::from_raw_parts(unsafe { self.base.ptr().add(i * 16) }, layout))
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         if block.is_empty() { return }
///         let i = (block.addr() - self.base.addr()) / 16;
///         self.used.set(self.used.get() & !(1 << i));
///     }
/// }
/// // SAFETY: owns exactly the slots of its buffer.
/// unsafe impl BlockOwner for Four {
///     fn owns_block(&self, block: &Block) -> bool {
///         block.is_inside(self.base.addr(), 64) && (block.addr() - self.base.addr()) % 16 == 0
///     }
/// }
///
/// let list = AllocatorList::new(Four::new);
/// let values: Vec<_> = (0..10u64).map(|i| list.allocate(i).unwrap()).collect();
/// assert_eq!(list.instances(), 3); // 4 + 4 + 2
/// assert!(values.iter().enumerate().all(|(i, v)| **v == i as u64));
/// drop(values);
/// assert_eq!(list.instances(), 1); // one spare is kept
/// ```
pub struct AllocatorList<
    F: AllocatorFactory,
    #[cfg(feature = "alloc")] P: Allocator = Heap,
    #[cfg(not(feature = "alloc"))] P: Allocator,
> {
    factory: F,
    /// Where the nodes live.
    parent: P,
    /// The first node (the most recently successful instance), or `None`.
    head: Cell<Option<NonNull<Node<F::Output>>>>,
    /// Nodes in the list.
    len: Cell<usize>,
    /// Nodes whose `live` is 0: at most one (the spare) between operations; more
    /// while operations are in progress (see the module docs).
    empty: Cell<usize>,
    /// Operations of the list in progress: the outermost one, and those that user
    /// code it called started (see the module docs).
    depth: Cell<usize>,
}

// SAFETY: the list owns its nodes (allocated from `parent`, reached only through the
// list) and the instances in them; sending the list sends all of that together, which is
// sound when the factory, the parent and the instances may be sent. It stays `!Sync` (the
// `Cell`s).
unsafe impl<F, P> Send for AllocatorList<F, P>
where
    F: AllocatorFactory + Send,
    F::Output: Send,
    P: Allocator + Send,
{
}

#[cfg(feature = "alloc")]
impl<F: AllocatorFactory> AllocatorList<F, Heap> {
    /// An empty list whose instances `factory` makes, with nodes on the [`Heap`]. No
    /// instance is made before the first allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::AllocatorList;
    /// use alloc_core::Heap;
    ///
    /// let list = AllocatorList::new(|| Ok(Heap));
    /// assert_eq!(list.instances(), 0);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(factory: F) -> Self {
        Self::new_in(factory, Heap)
    }
}

impl<F: AllocatorFactory, P: Allocator> AllocatorList<F, P> {
    /// An empty list whose instances `factory` makes, with nodes allocated from `parent`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AllocatorList};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// // Instances must be `BlockOwner`s: a `Guard` knows its blocks.
    /// let list = AllocatorList::new_in(|| Ok(Heap.guarded()), std::alloc::System);
    /// assert_eq!(*list.allocate(3u8).unwrap(), 3);
    /// assert_eq!(list.instances(), 1);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new_in(factory: F, parent: P) -> Self {
        Self {
            factory,
            parent,
            head: Cell::new(None),
            len: Cell::new(0),
            empty: Cell::new(0),
            depth: Cell::new(0),
        }
    }

    /// The number of instances (including the spare, if any).
    ///
    /// # Examples
    ///
    /// A guarded heap never fills, so one instance serves everything (a list of pools
    /// grows: see the [type's docs](Self)):
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AllocatorList};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let list = AllocatorList::new(|| Ok(Heap.guarded()));
    /// let a = list.allocate(1u8).unwrap();
    /// let b = list.allocate(2u8).unwrap();
    /// assert_eq!(list.instances(), 1);
    /// # drop((a, b));
    /// ```
    #[inline]
    #[must_use]
    pub fn instances(&self) -> usize {
        self.len.get()
    }

    /// Whether an empty instance is kept as a spare.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AllocatorList};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let list = AllocatorList::new(|| Ok(Heap.guarded()));
    /// drop(list.allocate(1u8).unwrap());
    /// assert!(list.has_spare());
    /// ```
    #[inline]
    #[must_use]
    pub fn has_spare(&self) -> bool {
        self.empty.get() > 0
    }

    /// The factory.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorFactory, AllocatorList};
    /// use alloc_core::Heap;
    ///
    /// let list = AllocatorList::new(|| Ok(Heap));
    /// assert_eq!(list.factory().make(), Ok(Heap));
    /// ```
    #[inline]
    #[must_use]
    pub const fn factory(&self) -> &F {
        &self.factory
    }

    /// The parent the nodes are allocated from.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::AllocatorList;
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(*AllocatorList::new(|| Ok(Heap)).parent(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub const fn parent(&self) -> &P {
        &self.parent
    }

    /// Calls `f` with each instance, first to last (the most recently successful first).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, AllocatorList};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let list = AllocatorList::new(|| Ok(Heap.guarded()));
    /// let _b = list.allocate(1u8).unwrap();
    /// let mut live = 0;
    /// list.for_each_instance(|guard| live += guard.live_blocks());
    /// assert_eq!(live, 1);
    /// ```
    ///
    /// `f` may use the list (allocate, free, walk it again): instances that become empty
    /// meanwhile are dropped after the walk, and instances made meanwhile are not visited.
    pub fn for_each_instance(&self, mut f: impl FnMut(&F::Output)) {
        self.operation(|| {
            let mut cur = self.head.get();
            while let Some(node) = cur {
                // SAFETY: a node of the list, and this operation is in progress, so nothing
                // frees it while `f` runs (module invariant), whatever `f` does.
                let node = unsafe { self.node(node) };
                f(&node.alloc);
                cur = node.next.get();
            }
        });
    }

    /// The slow path of an allocation: every instance is out of memory (or there is none);
    /// makes one more and allocates from it. Runs inside the allocation's operation.
    #[cold]
    #[inline(never)]
    fn grow(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError> {
        // User code (the factory, the parent) may use the list meanwhile; it may add nodes
        // at the head, which is where this one goes too.
        let alloc = self.factory.make()?;
        let slot = self.parent.allocate_raw(Layout::new::<Node<F::Output>>())?;
        let node = slot.ptr().cast::<Node<F::Output>>();
        // SAFETY: the parent's block is valid for writes of a `Node` and aligned for it
        // (contract, promise 1).
        unsafe {
            node.as_ptr().write(Node {
                alloc,
                next: Cell::new(self.head.get()),
                live: Cell::new(0),
            });
        }
        // Pushing at the head is allowed at any depth: walks in progress follow `next` of
        // nodes that are already linked, which this does not change.
        self.head.set(Some(node));
        self.len.set(self.len.get() + 1);
        self.empty.set(self.empty.get() + 1);
        // SAFETY: just linked in; an operation is in progress, so nothing frees it.
        let node_ref = unsafe { self.node(node) };
        let result = if zeroed {
            node_ref.alloc.allocate_zeroed_raw(layout)
        } else {
            node_ref.alloc.allocate_raw(layout)
        };
        // On failure the fresh instance stays, empty: `settle` drops it if a spare exists.
        let block = result?;
        self.took(node_ref);
        Ok(block)
    }

    /// An allocation of a non-empty `layout`: the first instance with room, most recently
    /// successful first; one more instance when none has room.
    #[inline]
    fn allocate_in_list(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError> {
        self.operation(|| {
            let mut cur = self.head.get();
            while let Some(node) = cur {
                // SAFETY: a node of the list; this operation is in progress, so nothing
                // frees it while its instance (user code) runs.
                let node_ref = unsafe { self.node(node) };
                let result = if zeroed {
                    node_ref.alloc.allocate_zeroed_raw(layout)
                } else {
                    node_ref.alloc.allocate_raw(layout)
                };
                match result {
                    Ok(block) => {
                        self.took(node_ref);
                        self.move_to_front(node);
                        return Ok(block);
                    }
                    // Full, or busy for now: another instance (or a new one) may serve it.
                    Err(AllocatorError::OutOfMemory | AllocatorError::Busy) => {}
                    // Another instance of the same factory would refuse it too.
                    Err(e) => return Err(e),
                }
                cur = node_ref.next.get();
            }
            self.grow(layout, zeroed)
        })
    }

    /// Gives `block` back to its instance. Runs inside an operation.
    #[track_caller]
    fn deallocate_in_list(&self, block: Block, what: &str)
    where
        F::Output: BlockOwner,
    {
        let Some(node) = self.find_owner(&block) else {
            foreign_block(&block, what);
        };
        // SAFETY: a node of the list; this operation is in progress, so nothing frees it
        // while its instance (user code) runs.
        let node_ref = unsafe { self.node(node) };
        // SAFETY: `block` is currently allocated by the list (the caller's contract), and
        // this instance owns it, so the instance allocated it.
        unsafe { node_ref.alloc.deallocate_raw(block) };
        // Read after the call: user code in it may have changed the count.
        let live = node_ref.live.get() - 1;
        node_ref.live.set(live);
        if live == 0 {
            // Dropped by `settle` if a spare already exists.
            self.empty.set(self.empty.get() + 1);
        }
    }
}

/// The panic for a block no instance owns: out of line, so callers stay small.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block, what: &str) -> ! {
    panic!("AllocatorList::{what}: foreign block {block:?}: no instance of the list owns it")
}

impl<F: AllocatorFactory, P: Allocator> Drop for AllocatorList<F, P> {
    fn drop(&mut self) {
        let mut cur = self.head.take();
        while let Some(node) = cur {
            // SAFETY: a node of the list, read before it is destroyed.
            cur = unsafe { self.node(node) }.next.get();
            // SAFETY: the list no longer reaches it (the head was taken, and the walk
            // has moved past it); each node is destroyed once.
            unsafe { self.destroy(node) };
        }
    }
}

impl<F, P> fmt::Debug for AllocatorList<F, P>
where
    F: AllocatorFactory,
    P: Allocator + fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllocatorList")
            .field("instances", &self.instances())
            .field("has_spare", &self.has_spare())
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

// SAFETY:
// 1. Every block comes from an instance, which keeps the contract; different instances'
//    blocks do not overlap (distinct allocators).
// 2. The instances live in nodes in the parent's memory, outside the list value, and are
//    dropped only when empty (no live block) or when the list is dropped; never while an
//    operation that may hold a pointer to their node is in progress (module invariant),
//    whatever user code the instances, factory, parent or callbacks run.
// 3. Blocks are given back to the instance that owns them (`BlockOwner`); zero-size
//    requests get `Block::empty`, and empty blocks are no-ops.
// 4. A failed request changes nothing: failed attempts change no instance's blocks; a
//    failed reallocation leaves the block in its instance.
unsafe impl<F, P> Allocator for AllocatorList<F, P>
where
    F: AllocatorFactory,
    F::Output: BlockOwner,
    P: Allocator,
{
    /// From the first instance with room, making one more if none has.
    ///
    /// # Errors
    ///
    /// An instance's error other than `OutOfMemory` at once; the factory's or the parent's
    /// error when a new instance cannot be made; the new instance's error.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.allocate_in_list(layout, false)
    }

    /// As [`allocate_raw`](Self::allocate_raw), zeroed.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.allocate_in_list(layout, true)
    }

    /// Gives `block` back to the instance that owns it; drops the instance if it becomes
    /// empty while another empty one is kept as the spare.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// If no instance owns `block`, and whenever the instance panics.
    #[inline]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        self.operation(|| self.deallocate_in_list(block, "deallocate_raw"));
    }

    /// In the owning instance if it can; otherwise the block moves to a new allocation of
    /// the list.
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); `block` is then still allocated, unchanged.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw).
    #[track_caller]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        self.operation(|| {
            let Some(node) = self.find_owner(&block) else {
                foreign_block(&block, "reallocate_raw");
            };
            // SAFETY: a node of the list; this operation is in progress, so nothing frees
            // it while its instance (user code) runs.
            let node_ref = unsafe { self.node(node) };
            // SAFETY: the instance allocated `block` (it owns it; see `deallocate_raw`).
            // Both sizes are non-zero, so the live count does not change on success.
            let first = unsafe { node_ref.alloc.reallocate_raw(block, new_layout) };
            let error = match first {
                Ok(new) => return Ok(new),
                Err(e) => e,
            };
            // The instance could not: move the block to wherever the list allocates (a
            // nested operation: it defers its changes to this one's end).
            let new = self.allocate_raw(new_layout).map_err(|e| {
                if e.is_more_informative_than(&error) {
                    e
                } else {
                    error
                }
            })?;
            let len = block.size().min(new_layout.size());
            // SAFETY: `block` is valid for reads of its size (still allocated after the
            // failed reallocation) and `new` for writes of `new_layout.size()`; both are
            // live blocks of the list, so they do not overlap.
            unsafe { ptr::copy_nonoverlapping(block.as_ptr(), new.as_ptr(), len) };
            self.deallocate_in_list(block, "reallocate_raw");
            Ok(new)
        })
    }
}

// SAFETY: a live non-empty block of the list is a live block of one instance, which
// claims it; a block the list did not hand out was not handed out by any instance through
// it, and each instance keeps `BlockOwner`'s promise.
unsafe impl<F, P> BlockOwner for AllocatorList<F, P>
where
    F: AllocatorFactory,
    F::Output: BlockOwner,
    P: Allocator,
{
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        !block.is_empty() && self.operation(|| self.find_owner(block).is_some())
    }
}

alloc_core::impl_allocator_api2!(
    impl[F: AllocatorFactory, P: Allocator] for AllocatorList<F, P>
    where [F::Output: BlockOwner]
);
