//! The nodes of an [`AllocatorList`] and the discipline that keeps them alive while user
//! code runs (see the parent module's "Re-entrancy"): operations counted in `depth`, the
//! changes deferred to the end of the outermost one (`settle`), and the walks and relinks
//! that run no user code.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};

use alloc_core::{Allocator, Block, BlockOwner};

use super::{AllocatorFactory, AllocatorList};

/// One instance, in a node allocated from the list's parent.
pub(super) struct Node<A> {
    pub(super) alloc: A,
    /// The next node, or `None` at the end of the list.
    pub(super) next: Cell<Option<NonNull<Node<A>>>>,
    /// Non-empty blocks of `alloc` currently allocated through the list.
    pub(super) live: Cell<usize>,
}

impl<F: AllocatorFactory, P: Allocator> AllocatorList<F, P> {
    /// Runs `body` as an operation of the list: counted in `depth` (also on unwind), and,
    /// when it is the outermost one, followed by [`settle`](Self::settle).
    #[inline(always)]
    pub(super) fn operation<R>(&self, body: impl FnOnce() -> R) -> R {
        let op = InProgress::enter(&self.depth);
        let result = body();
        if op.is_outermost() {
            self.settle();
        }
        result
    }

    /// The changes deferred while operations were in progress: drops the instances that
    /// are empty beyond the first one (the spare). Runs at the end of the outermost
    /// operation, which is still counted, so the user code run here (an instance's `Drop`,
    /// the parent's deallocation) cannot move or free nodes either.
    #[inline(always)]
    pub(super) fn settle(&self) {
        while self.empty.get() > 1 {
            self.drop_one_empty();
        }
    }

    /// Unlinks the last empty node (there are at least two), then drops its instance and
    /// frees it.
    #[cold]
    #[inline(never)]
    pub(super) fn drop_one_empty(&self) {
        // A walk that runs no user code: reading `live` and `next` only.
        let mut victim = None;
        let (mut prev, mut cur) = (None, self.head.get());
        while let Some(node) = cur {
            // SAFETY: a node of the list; nothing runs between here and the unlink below
            // that could free it.
            let node_ref = unsafe { self.node(node) };
            if node_ref.live.get() == 0 {
                victim = Some((prev, node));
            }
            prev = cur;
            cur = node_ref.next.get();
        }
        let Some((prev, node)) = victim else {
            // `empty` counts nodes with `live == 0`, so this cannot happen; repair the count
            // rather than loop.
            self.empty.set(0);
            return;
        };
        self.empty.set(self.empty.get() - 1);
        // SAFETY: `node` follows `prev` (found just above, with no user code since), and
        // this operation no longer uses it.
        unsafe { self.remove(prev, node) };
    }

    /// # Safety
    ///
    /// `node` is in this list (so it is initialised, allocated from `parent`, and not
    /// freed), and it is not unlinked and freed while the returned reference is used.
    #[inline(always)]
    pub(super) unsafe fn node(&self, node: NonNull<Node<F::Output>>) -> &Node<F::Output> {
        // SAFETY: forwarded from the caller; nodes are only accessed through shared
        // references (their mutable state is in `Cell`s).
        unsafe { node.as_ref() }
    }

    /// Records a new live block in `node`.
    #[inline(always)]
    pub(super) fn took(&self, node: &Node<F::Output>) {
        let live = node.live.get();
        if live == 0 {
            self.empty.set(self.empty.get() - 1);
        }
        node.live.set(live + 1);
    }

    /// Moves `node` to the front, if no other operation is in progress (the outermost
    /// operation is the only one that may move nodes; a nested one leaves the order be).
    ///
    /// Its predecessor is found again here, by a walk that runs no user code: a position
    /// found before a call into user code may be stale.
    pub(super) fn move_to_front(&self, node: NonNull<Node<F::Output>>) {
        if self.depth.get() != 1 || self.head.get() == Some(node) {
            return;
        }
        let mut cur = self.head.get();
        while let Some(prev) = cur {
            // SAFETY: a node of the list; no user code runs during this walk and relink.
            let prev_ref = unsafe { self.node(prev) };
            let next = prev_ref.next.get();
            if next == Some(node) {
                // SAFETY: as above.
                let node_ref = unsafe { self.node(node) };
                prev_ref.next.set(node_ref.next.get());
                node_ref.next.set(self.head.get());
                self.head.set(Some(node));
                return;
            }
            cur = next;
        }
    }

    /// Finds the node that owns `block` (non-empty). Runs user code (`owns_block`), so it
    /// is called only inside an operation, which keeps every node alive meanwhile.
    pub(super) fn find_owner(&self, block: &Block) -> Option<NonNull<Node<F::Output>>>
    where
        F::Output: BlockOwner,
    {
        debug_assert!(self.depth.get() > 0, "find_owner outside an operation");
        let mut cur = self.head.get();
        while let Some(node) = cur {
            // SAFETY: a node of the list, and an operation is in progress: nothing frees
            // it while `owns_block` runs (module invariant).
            let node_ref = unsafe { self.node(node) };
            if node_ref.alloc.owns_block(block) {
                return Some(node);
            }
            cur = node_ref.next.get();
        }
        None
    }

    /// Unlinks `node` (after `prev`, or the head), then drops its instance and frees it
    /// (user code that runs then sees a list without it).
    ///
    /// # Safety
    ///
    /// `node` is in this list after `prev` (or first, when `prev` is `None`), and no
    /// reference to it is used afterwards; called only from `settle` (nothing else holds
    /// a pointer to `node`).
    pub(super) unsafe fn remove(
        &self,
        prev: Option<NonNull<Node<F::Output>>>,
        node: NonNull<Node<F::Output>>,
    ) {
        // SAFETY: `node` is a live node of the list (caller).
        let next = unsafe { self.node(node) }.next.get();
        match prev {
            // SAFETY: `prev` is the live node before `node` (caller).
            Some(prev) => unsafe { self.node(prev) }.next.set(next),
            None => self.head.set(next),
        }
        self.len.set(self.len.get() - 1);
        // SAFETY: `node` is unlinked: nothing reaches it any more (caller), so it is
        // dropped and freed exactly once.
        unsafe { self.destroy(node) };
    }

    /// Drops the instance in `node` and gives the node's memory back to the parent.
    ///
    /// # Safety
    ///
    /// `node` was allocated by `parent` with `Layout::new::<Node<_>>()`, initialised, and
    /// is no longer reachable from the list.
    pub(super) unsafe fn destroy(&self, node: NonNull<Node<F::Output>>) {
        // SAFETY: initialised and unreachable (caller): dropped once.
        unsafe { ptr::drop_in_place(node.as_ptr()) };
        let block = Block::from_raw_parts(node.cast(), Layout::new::<Node<F::Output>>());
        // SAFETY: allocated by `parent` with this layout (caller).
        unsafe { self.parent.deallocate_raw(block) };
    }
}

/// An operation of an [`AllocatorList`] in progress: counted in the list's `depth` from
/// `enter` until it is dropped (also on unwind).
struct InProgress<'a> {
    depth: &'a Cell<usize>,
}

impl<'a> InProgress<'a> {
    #[inline(always)]
    fn enter(depth: &'a Cell<usize>) -> Self {
        depth.set(depth.get() + 1);
        Self { depth }
    }

    /// Whether no other operation is in progress around this one.
    #[inline(always)]
    fn is_outermost(&self) -> bool {
        self.depth.get() == 1
    }
}

impl Drop for InProgress<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.depth.set(self.depth.get() - 1);
    }
}
