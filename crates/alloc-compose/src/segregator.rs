//! [`Segregator`]: small requests to one allocator, large ones to another.

use core::alloc::Layout;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, move_block};

/// Sends requests of up to `THRESHOLD` bytes to the `small` allocator and larger ones to
/// the `large` allocator; blocks are routed back **by their size**, so neither side needs
/// to be a [`BlockOwner`].
///
/// The threshold is a const generic, not a field: a `Segregator` is exactly its two parts
/// (zero-size when they are), every routing decision is a compare with an immediate, and
/// the threshold is part of the type a chain is named by
/// (`Segregator<256, Pool, Heap>`). A composition's thresholds are design-time constants
/// (they match the size classes of the small side), so nothing is lost.
///
/// # Routing rules
///
/// - **Allocation** (zeroed or not): `layout.size() <= THRESHOLD` to `small`, else to
///   `large`. Zero-size requests go to `small` (which answers with [`Block::empty`]).
/// - **Blocks of `small` never report more than `THRESHOLD` bytes**: if `small` hands out
///   a larger block (a pool slot bigger than the threshold), the segregator trims the
///   reported size to `THRESHOLD`. Every size that then [fits](Allocator#the-contract) the
///   block is at most `THRESHOLD`, and every size that fits a block of `large` is above
///   it, so the size a caller gives back always names the right side.
/// - **Deallocation**: by `block.size()`, with the same rule.
/// - **Reallocation** within a side stays in that side (`reallocate_raw` there, in place
///   when the side can); a reallocation that **crosses the threshold moves the block** to
///   the other side with [`move_block`] (allocate there, copy, free here). An error leaves
///   the block where it was.
///
/// The `Segregator` adds no check of its own: it trusts the size of the block it is
/// given (a block given back with a wrong size goes to the wrong side, whose own checks
/// may catch it). It is a [`BlockOwner`] when both sides are (asking the side the size
/// names), `Send`/`Sync` when both sides are, and `Copy`/`Clone`/`Default` likewise.
///
/// # Examples
///
/// Small requests to a pool, large ones to the heap (the pool here is a [`Null`] that
/// fails everything, so the small side is visibly chosen):
///
/// ```
/// use alloc_compose::{AllocatorExt, Null, Segregator};
/// use alloc_core::{Allocator, AllocatorError, Heap};
///
/// let alloc: Segregator<64, Null, Heap> = Null.segregate::<64, _>(Heap);
/// assert!(matches!(alloc.allocate([0u8; 64]), Err((AllocatorError::OutOfMemory, _))));
/// let big = alloc.allocate([7u8; 65]).unwrap(); // above the threshold: `Heap`
/// assert_eq!(big[64], 7);
/// ```
///
/// A real composition: a small-object allocator (a [`Bucketizer`](crate::Bucketizer) of
/// bump pools, say) for up to 256 bytes, the heap beyond; the `Segregator` moves a
/// growing `Vec` across the threshold with its contents:
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Segregator};
/// use alloc_core::{Allocator, Heap};
/// use core::alloc::Layout;
///
/// let small = Heap.proxy(Counters::new());
/// let large = Heap.proxy(Counters::new());
/// let alloc = Segregator::<256, _, _>::new(&small, &large);
/// let block = alloc.allocate_raw(Layout::new::<[u8; 200]>()).unwrap();
/// // SAFETY: the block is valid for 200 bytes.
/// unsafe { block.as_ptr().write_bytes(0x5A, 200) };
/// // SAFETY: `block` is currently allocated by `alloc`.
/// let grown = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 1000]>()) }.unwrap();
/// // SAFETY: the first 200 bytes were moved.
/// assert_eq!(unsafe { grown.as_ptr().add(199).read() }, 0x5A);
/// // SAFETY: `grown` is currently allocated by `alloc`.
/// unsafe { alloc.deallocate_raw(grown) };
/// assert_eq!(small.logger().counts().deallocations, 1); // moved out of `small`
/// assert_eq!(large.logger().counts().allocations, 1);
/// assert_eq!(large.logger().counts().bytes_live, 0);
/// ```
///
/// [`Null`]: crate::Null
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Segregator<const THRESHOLD: usize, S, L> {
    /// Serves requests of up to `THRESHOLD` bytes.
    small: S,
    /// Serves requests of more than `THRESHOLD` bytes.
    large: L,
}

impl<const THRESHOLD: usize, S, L> Segregator<THRESHOLD, S, L> {
    /// Requests of up to `THRESHOLD` bytes to `small`, larger ones to `large`; the same as
    /// [`small.segregate::<THRESHOLD, _>(large)`](crate::AllocatorExt::segregate).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Segregator};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Segregator::<8, _, _>::new(Heap, Null);
    /// assert_eq!(*alloc.allocate(1u64).unwrap(), 1);      // 8 bytes: `Heap`
    /// assert!(alloc.allocate(1u128).is_err());            // 16 bytes: `Null`
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(small: S, large: L) -> Self
    where
        S: Allocator,
        L: Allocator,
    {
        Self { small, large }
    }

    /// The largest request served by the small side.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Segregator};
    ///
    /// assert_eq!(Segregator::<128, _, _>::new(Null, Null).threshold(), 128);
    /// ```
    #[inline]
    #[must_use]
    pub const fn threshold(&self) -> usize {
        THRESHOLD
    }

    /// The allocator of requests up to the threshold.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null};
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(*Null.segregate::<16, _>(Heap).small(), Null);
    /// ```
    #[inline]
    #[must_use]
    pub const fn small(&self) -> &S {
        &self.small
    }

    /// The allocator of requests above the threshold.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null};
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(*Null.segregate::<16, _>(Heap).large(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub const fn large(&self) -> &L {
        &self.large
    }

    /// Takes the segregator apart. Blocks allocated through it stay allocated in
    /// whichever side holds them.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null};
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(Null.segregate::<16, _>(Heap).into_parts(), (Null, Heap));
    /// ```
    #[inline]
    #[must_use]
    pub fn into_parts(self) -> (S, L) {
        (self.small, self.large)
    }
}

/// Whether a block or request of `size` bytes belongs to the small side.
#[inline(always)]
const fn is_small<const THRESHOLD: usize>(size: usize) -> bool {
    size <= THRESHOLD
}

/// A block of the small side, its reported size capped at `THRESHOLD` (see the routing
/// rules). The capped size is still at least the requested one, which is at most
/// `THRESHOLD`.
#[inline(always)]
fn cap<const THRESHOLD: usize>(block: Block) -> Block {
    if block.size() <= THRESHOLD {
        block
    } else {
        // SAFETY: `THRESHOLD < block.size()`, and `block.layout()` is a valid layout with
        // this alignment, so a smaller size rounded up to the alignment does not overflow
        // `isize` either.
        let layout = unsafe { Layout::from_size_align_unchecked(THRESHOLD, block.align()) };
        Block::from_raw_parts(block.ptr(), layout)
    }
}

// SAFETY:
// 1. Every block comes from `small` or `large`, which keep the contract; capping a block of
//    `small` to `THRESHOLD` keeps it valid (a smaller size, still at least the request,
//    which is at most `THRESHOLD`). The two sides' live blocks do not overlap: each side's
//    memory is distinct from what the other one currently hands out.
// 2. Blocks live in the sides, which survive moves and clones.
// 3. A block is given back to the side that allocated it: sizes that fit a block of
//    `small` are at most `THRESHOLD` (capped), sizes that fit a block of `large` are above
//    it (at least the request, which was above it). Zero-size requests go to `small`,
//    empty blocks are no-ops on either side.
// 4. A failed request changes nothing: a failed reallocation in a side leaves the block
//    there, and `move_block` leaves it in place when the other side fails.
unsafe impl<const THRESHOLD: usize, S: Allocator, L: Allocator> Allocator
    for Segregator<THRESHOLD, S, L>
{
    /// `small` for requests of up to `THRESHOLD` bytes, `large` above.
    ///
    /// # Errors
    ///
    /// The chosen side's error (the other side is not tried).
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if is_small::<THRESHOLD>(layout.size()) {
            self.small.allocate_raw(layout).map(cap::<THRESHOLD>)
        } else {
            self.large.allocate_raw(layout)
        }
    }

    /// As [`allocate_raw`](Self::allocate_raw), zeroed.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if is_small::<THRESHOLD>(layout.size()) {
            self.small.allocate_zeroed_raw(layout).map(cap::<THRESHOLD>)
        } else {
            self.large.allocate_zeroed_raw(layout)
        }
    }

    /// To the side named by `block.size()`.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[inline(always)]
    unsafe fn deallocate_raw(&self, block: Block) {
        if is_small::<THRESHOLD>(block.size()) {
            // SAFETY: a block of the segregator whose size is at most the threshold was
            // allocated by `small` (routing rules), or is empty.
            unsafe { self.small.deallocate_raw(block) }
        } else {
            // SAFETY: a block whose size is above the threshold was allocated by `large`.
            unsafe { self.large.deallocate_raw(block) }
        }
    }

    /// Within a side, that side's reallocation; across the threshold, a move to the other
    /// side.
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// The error of the side asked (the one holding the block, or the one it moves to);
    /// `block` is then still allocated, unchanged.
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        let was_small = is_small::<THRESHOLD>(block.size());
        let will_be_small = is_small::<THRESHOLD>(new_layout.size());
        // In each arm, `block` belongs to the side its size names (see `deallocate_raw`),
        // which is the side reallocated in, or the `from` side of the move.
        match (was_small, will_be_small) {
            (true, true) => {
                // SAFETY: `block` is currently allocated by `small` (above).
                let new = unsafe { self.small.reallocate_raw(block, new_layout) };
                new.map(cap::<THRESHOLD>)
            }
            // SAFETY: `block` is currently allocated by `large` (above).
            (false, false) => unsafe { self.large.reallocate_raw(block, new_layout) },
            // SAFETY: `block` is currently allocated by `small` (above).
            (true, false) => unsafe { move_block(&self.small, &self.large, block, new_layout) },
            (false, true) => {
                // SAFETY: `block` is currently allocated by `large` (above).
                let new = unsafe { move_block(&self.large, &self.small, block, new_layout) };
                new.map(cap::<THRESHOLD>)
            }
        }
    }
}

// SAFETY: a live non-empty block of the segregator is a live block of the side its size
// names, which claims it; a block the segregator did not hand out was handed out by
// neither side through it, and each side keeps `BlockOwner`'s promise for it.
unsafe impl<const THRESHOLD: usize, S: BlockOwner, L: BlockOwner> BlockOwner
    for Segregator<THRESHOLD, S, L>
{
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        if is_small::<THRESHOLD>(block.size()) {
            self.small.owns_block(block)
        } else {
            self.large.owns_block(block)
        }
    }
}

alloc_core::impl_allocator_api2!(
    impl[const THRESHOLD: usize, S: Allocator, L: Allocator] for Segregator<THRESHOLD, S, L>
);

#[cfg(test)]
mod tests {
    use super::cap;
    use alloc_core::Block;
    use core::alloc::Layout;

    #[test]
    fn blocks_of_the_small_side_are_capped_at_the_threshold() {
        let big = Block::empty(Layout::from_size_align(0, 8).unwrap());
        let wide = Block::from_raw_parts(big.ptr(), Layout::from_size_align(64, 8).unwrap());
        assert_eq!(cap::<48>(wide).size(), 48);
        assert_eq!(cap::<48>(wide).align(), 8);
        assert_eq!(cap::<64>(wide), wide);
        assert_eq!(cap::<100>(wide), wide);
    }
}
