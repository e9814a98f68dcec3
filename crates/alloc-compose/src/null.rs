//! [`Null`]: the allocator that has nothing to give.

use core::alloc::Layout;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

/// An allocator that fails every request: the end of a chain, and the reference
/// implementation of the [`Allocator`] and [`BlockOwner`] traits.
///
/// - A request of non-zero size fails with [`AllocatorError::OutOfMemory`].
/// - A zero-size request is answered with [`Block::empty`], like every allocator (the
///   universal [zero-size rule](Allocator#zero-size-requests) that composites rely on:
///   a `Fallback` may hand an empty block to any of its parts). It consumes nothing.
/// - It owns no block: [`owns_block`](BlockOwner::owns_block) is always `false`.
/// - Deallocating (or reallocating) an empty block is a no-op (or an allocation).
///   Giving it a non-empty block is a contract violation, since it never handed one out:
///   it **panics**, in every build, with a message naming the problem. That makes `Null`
///   a cheap guard at the end of a chain: `main.with_fallback(Null)` turns a block given
///   back to the wrong chain into a panic instead of memory corruption.
///
/// Because it holds no memory, `Null` is trivially `Copy`, `Send` and `Sync`, and moving
/// or cloning it invalidates nothing.
///
/// # Examples
///
/// ```
/// use alloc_compose::Null;
/// use alloc_core::{Allocator, AllocatorError, BlockOwner, Heap};
/// use core::alloc::Layout;
///
/// assert_eq!(Null.allocate_raw(Layout::new::<u64>()), Err(AllocatorError::OutOfMemory));
/// assert!(matches!(Null.allocate(5u8), Err((AllocatorError::OutOfMemory, 5))));
///
/// // Zero-size requests follow the universal rule: an empty, well-aligned block.
/// let empty = Null.allocate_raw(Layout::new::<[u64; 0]>()).unwrap();
/// assert!(empty.is_empty() && empty.addr() % 8 == 0);
/// assert!(!Null.owns_block(&empty));
/// // SAFETY: empty blocks may be given to any allocator.
/// unsafe { Null.deallocate_raw(empty) };
/// ```
///
/// Giving it a block it never allocated panics:
///
/// ```should_panic
/// use alloc_compose::Null;
/// use alloc_core::{Allocator, Heap};
/// use core::alloc::Layout;
///
/// let block = Heap.allocate_raw(Layout::new::<u32>()).unwrap();
/// // Wrong on purpose: the block belongs to `Heap`. `Null` detects it and panics.
/// // SAFETY: none; this is the contract violation being demonstrated (no memory is
/// // touched: `Null` panics before doing anything).
/// unsafe { Null.deallocate_raw(block) };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Null;

impl Null {
    /// The `Null` allocator (the same as the unit value `Null`), for `const` contexts and
    /// symmetry with the other allocators' constructors.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Null;
    ///
    /// static END: Null = Null::new();
    /// assert_eq!(END, Null);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

/// The panic of [`Null`] when it is given a block: out of line, so the callers stay small.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block, what: &str) -> ! {
    panic!(
        "alloc_compose::Null::{what}: {block:?} was given back, but Null never allocates \
         a non-empty block: it belongs to another allocator"
    )
}

// SAFETY: `Null` hands out only empty blocks (for zero-size requests, as promise 3
// requires), which are valid for the zero bytes they describe and overlap nothing; every
// other request fails without side effects. It accepts only empty blocks back (and panics
// on anything else before touching memory).
unsafe impl Allocator for Null {
    /// Returns [`Block::empty`] for a zero-size `layout`, fails otherwise.
    ///
    /// # Errors
    ///
    /// [`AllocatorError::OutOfMemory`] for every request of non-zero size.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            Ok(Block::empty(layout))
        } else {
            Err(AllocatorError::OutOfMemory)
        }
    }

    /// Accepts only empty blocks, which it ignores.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`]: `block` is empty (`Null` never allocates anything
    /// else). A non-empty block is detected and causes a panic.
    ///
    /// # Panics
    ///
    /// If `block` is not empty, in every build.
    #[inline]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if !block.is_empty() {
            foreign_block(&block, "deallocate_raw");
        }
    }

    /// Reallocating an empty block is an allocation (which fails unless `new_layout` has
    /// size 0).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`]: `block` is empty.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    ///
    /// # Panics
    ///
    /// If `block` is not empty, in every build.
    #[inline]
    #[track_caller]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if !block.is_empty() {
            foreign_block(&block, "reallocate_raw");
        }
        self.allocate_raw(new_layout)
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.allocate_raw(layout)
    }
}

// SAFETY: `Null` never hands out a non-empty block, so "false" is the truthful answer for
// every non-empty block; for empty blocks either answer is allowed.
unsafe impl BlockOwner for Null {
    #[inline]
    fn owns_block(&self, _block: &Block) -> bool {
        false
    }
}

alloc_core::impl_allocator_api2!(Null);

#[cfg(test)]
mod tests {
    use super::Null;
    use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};
    use core::alloc::Layout;
    use core::ptr::NonNull;

    #[test]
    fn every_non_zero_request_fails_with_out_of_memory() {
        for (size, align) in [(1, 1), (8, 8), (4096, 4096), (isize::MAX as usize, 1)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            assert_eq!(Null.allocate_raw(layout), Err(AllocatorError::OutOfMemory));
            assert_eq!(
                Null.allocate_zeroed_raw(layout),
                Err(AllocatorError::OutOfMemory)
            );
        }
    }

    #[test]
    fn zero_size_requests_get_aligned_empty_blocks() {
        for align in [1, 2, 16, 4096] {
            let layout = Layout::from_size_align(0, align).unwrap();
            let block = Null.allocate_raw(layout).unwrap();
            assert_eq!(block, Block::empty(layout));
            // SAFETY: an empty block.
            let grown = unsafe { Null.reallocate_raw(block, Layout::new::<u8>()) };
            assert_eq!(grown, Err(AllocatorError::OutOfMemory));
            // SAFETY: an empty block, to size 0: an allocation of an empty block.
            let same = unsafe { Null.reallocate_raw(block, layout) }.unwrap();
            assert!(same.is_empty());
            // SAFETY: empty blocks may be given back to any allocator.
            unsafe { Null.deallocate_raw(same) };
        }
    }

    #[test]
    fn owns_nothing() {
        let mut x = 0u64;
        let block = Block::from_raw_parts(NonNull::from(&mut x).cast(), Layout::new::<u64>());
        assert!(!Null.owns_block(&block));
    }

    #[test]
    #[should_panic(expected = "Null never allocates a non-empty block")]
    fn deallocating_a_foreign_block_panics() {
        let mut x = 0u64;
        let block = Block::from_raw_parts(NonNull::from(&mut x).cast(), Layout::new::<u64>());
        // SAFETY: not safe by the contract, on purpose: `Null` must detect it and panic
        // before touching the memory (which is a live local anyway).
        unsafe { Null.deallocate_raw(block) };
    }

    #[test]
    #[should_panic(expected = "Null::reallocate_raw")]
    fn reallocating_a_foreign_block_panics() {
        let mut x = 0u64;
        let block = Block::from_raw_parts(NonNull::from(&mut x).cast(), Layout::new::<u64>());
        // SAFETY: as above: detected before any memory access.
        let _ = unsafe { Null.reallocate_raw(block, Layout::new::<[u64; 2]>()) };
    }
}
