//! [`Fallback`]: try one allocator, then another.

use core::alloc::Layout;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, move_block};

/// Tries the `main` allocator first and the `fallback` allocator when `main` fails.
///
/// Only `main` must be a [`BlockOwner`]: its [`owns_block`](BlockOwner::owns_block) answer
/// is how a block is routed back on deallocation and reallocation. The fallback can be any
/// [`Allocator`], typically [`Heap`], which cannot tell its blocks
/// apart. When the fallback is a `BlockOwner` too, so is the `Fallback` (it owns what
/// either side owns), so fallbacks nest: `Fallback<Fallback<A, B>, C>` and
/// `Fallback<A, Fallback<B, C>>` both work.
///
/// # Routing rules
///
/// - **Allocation**: `main`, then on any error `fallback`. Zero-size requests are answered
///   by `main` (with [`Block::empty`], like every allocator).
/// - **Deallocation**: to `main` if `main.owns_block(&block)`, else to `fallback`. Empty
///   blocks may go to either side: deallocating an empty block is a no-op everywhere.
/// - **Reallocation of a block of `main`**: `main.reallocate_raw` first (growing or
///   shrinking in place when `main` can); if that fails, the block **moves to the
///   fallback** (allocate there, copy the contents, free in `main`, see
///   [`move_block`]). This is how a growing `Vec` spills from a pool to the heap.
/// - **Reallocation of a block of the fallback**: stays in the fallback
///   (`fallback.reallocate_raw`), growing or shrinking. It is not moved back to `main`:
///   `main` already failed to hold it once, a block that outgrew `main` usually keeps
///   growing, and moving back would cost a copy on every shrink.
/// - **Reallocation of an empty block** is an allocation, so it tries `main` first.
///
/// # Errors
///
/// When both sides fail, the error returned is the more informative of the two, as ranked
/// by [`AllocatorError::is_more_informative_than`] (for example `TooLarge` from a pool
/// beats `OutOfMemory` from an exhausted fallback); on a tie, `main`'s error.
///
/// # Blocks that neither side owns
///
/// A block that `main` does not own is given to the fallback: `Fallback` itself never
/// gives a block to `main` that `main` did not allocate. Giving a `Fallback` a block it
/// did not allocate is a contract violation, and **it is detected by the fallback** when
/// the fallback can tell: [`Null`](crate::Null) always panics on a non-empty block, and so
/// do the `BlockOwner`s of this workspace (a `Fallback` passes the block on to its own
/// fallback, a [`Proxy`](crate::Proxy) to its inner allocator). End a chain with
/// `.with_fallback(Null)` to make it strict. A fallback that cannot tell ([`Heap`]) cannot
/// detect it, in any build.
///
/// (A `Fallback` cannot check `fallback.owns_block` itself when the fallback happens to be
/// a `BlockOwner`: that would need specialization. The rule above gives the same
/// protection without it.)
///
/// [`Heap`]: alloc_core::Heap
///
/// # Examples
///
/// A pool of four 64-byte slots in front of the heap: small requests are served by the
/// pool until it is full, then by the heap; a block that outgrows its slot moves to the
/// heap with its contents.
///
/// ```
/// use alloc_compose::{AllocatorExt, Fallback};
/// use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
/// use core::{alloc::Layout, cell::Cell, ptr::NonNull};
///
/// /// Four slots of 64 bytes (aligned to 64) in a heap buffer; a bit per used slot.
/// struct Pool { base: NonNull<u8>, used: Cell<u8> }
///
/// impl Pool {
///     fn new() -> Self {
///         let buffer = Heap.allocate_raw(Layout::from_size_align(256, 64).unwrap()).unwrap();
///         Pool { base: buffer.ptr(), used: Cell::new(0) }
///     }
///     fn slot(&self, block: &Block) -> usize { (block.addr() - self.base.as_ptr().addr()) / 64 }
/// }
/// impl Drop for Pool {
///     fn drop(&mut self) {
///         let buffer = Block::from_raw_parts(self.base, Layout::from_size_align(256, 64).unwrap());
///         // SAFETY: allocated by `Heap` in `new` with this layout.
///         unsafe { Heap.deallocate_raw(buffer) }
///     }
/// }
/// // SAFETY: each slot is handed out at most once at a time; the memory is outside `Pool`.
/// unsafe impl Allocator for Pool {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() == 0 { return Ok(Block::empty(layout)) }
///         if layout.size() > 64 || layout.align() > 64 { return Err(AllocatorError::TooLarge) }
///         let free = (!self.used.get()).trailing_zeros() as usize;
///         if free >= 4 { return Err(AllocatorError::OutOfMemory) }
///         self.used.set(self.used.get() | 1 << free);
///         // SAFETY: `free < 4`: the slot is inside the 256-byte buffer.
///         let ptr = unsafe { self.base.add(free * 64) };
///         Ok(Block::from_raw_parts(ptr, layout))
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         if block.is_empty() { return }
///         assert!(self.owns_block(&block), "not a block of this pool");
///         self.used.set(self.used.get() & !(1 << self.slot(&block)));
///     }
/// }
/// // SAFETY: owns exactly the blocks that start at a slot boundary inside the buffer.
/// unsafe impl BlockOwner for Pool {
///     fn owns_block(&self, block: &Block) -> bool {
///         block.is_inside(self.base.as_ptr().addr(), 256)
///             && (block.addr() - self.base.as_ptr().addr()) % 64 == 0
///     }
/// }
///
/// let alloc: Fallback<Pool, Heap> = Pool::new().with_fallback(Heap);
/// let small: Vec<_> = (0..4u64).map(|i| alloc.allocate(i).unwrap()).collect();
/// assert!(small.iter().all(|b| alloc.main().owns(b)));
/// let spilled = alloc.allocate(4u64).unwrap();          // the pool is full
/// assert!(!alloc.main().owns(&spilled));
/// let big = alloc.allocate([7u8; 100]).unwrap();         // too large for a slot
/// assert!(!alloc.main().owns(&big) && big[99] == 7);
/// drop(small);                                           // slots are free again
/// let back = alloc.allocate(5u64).unwrap();
/// assert!(alloc.main().owns(&back));
///
/// // Reallocation that outgrows a slot moves the block to the heap, contents and all.
/// let block = alloc.allocate_raw(Layout::new::<[u8; 64]>()).unwrap();
/// // SAFETY: the block is valid for 64 bytes.
/// unsafe { block.as_ptr().write_bytes(0xAB, 64) };
/// // SAFETY: `block` is currently allocated by `alloc`.
/// let grown = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 1000]>()) }.unwrap();
/// assert!(!alloc.main().owns_block(&grown));
/// // SAFETY: the first 64 bytes were copied.
/// assert!(unsafe { core::slice::from_raw_parts(grown.as_ptr(), 64) }.iter().all(|&b| b == 0xAB));
/// // SAFETY: `grown` is currently allocated by `alloc`.
/// unsafe { alloc.deallocate_raw(grown) };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fallback<M, F> {
    /// Tried first; owns (and is given back) its own blocks.
    main: M,
    /// Tried when `main` fails; is given back every block `main` does not own.
    fallback: F,
}

impl<M, F> Fallback<M, F> {
    /// Combines `main` and `fallback`; the same as
    /// [`main.with_fallback(fallback)`](crate::AllocatorExt::with_fallback).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Fallback, Null};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Fallback::new(Null, Heap);
    /// let b = alloc.allocate(42u32).unwrap(); // `Null` fails, `Heap` serves
    /// assert_eq!(*b, 42);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(main: M, fallback: F) -> Self
    where
        M: BlockOwner,
        F: Allocator,
    {
        Self { main, fallback }
    }

    /// The main allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null};
    /// use alloc_core::{BlockOwner, Heap};
    ///
    /// let alloc = Null.with_fallback(Heap);
    /// assert_eq!(*alloc.main(), Null);
    /// ```
    #[inline]
    #[must_use]
    pub const fn main(&self) -> &M {
        &self.main
    }

    /// The fallback allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null};
    /// use alloc_core::Heap;
    ///
    /// let alloc = Null.with_fallback(Heap);
    /// assert_eq!(*alloc.fallback(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub const fn fallback(&self) -> &F {
        &self.fallback
    }

    /// Takes the two allocators apart. Blocks allocated through the `Fallback` stay
    /// allocated in whichever part holds them.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Null};
    /// use alloc_core::Heap;
    ///
    /// let (main, fallback) = Null.with_fallback(Heap).into_parts();
    /// assert_eq!((main, fallback), (Null, Heap));
    /// ```
    #[inline]
    #[must_use]
    pub fn into_parts(self) -> (M, F) {
        (self.main, self.fallback)
    }
}

/// Of two errors, the one to report: the more informative, `main`'s on a tie.
#[inline]
fn pick(main: AllocatorError, fallback: AllocatorError) -> AllocatorError {
    if fallback.is_more_informative_than(&main) {
        fallback
    } else {
        main
    }
}

impl<M: BlockOwner, F: Allocator> Fallback<M, F> {
    /// The slow path of an allocation: `main` could not serve it (it failed with
    /// `main_error`), so the fallback tries. Out of line and cold, so the fast path (a
    /// successful `main`) stays inlined and small. It returns the whole `Result` (through
    /// a stack slot: see ARCHITECTURE.md, "Performance rules"), since the fallback's block
    /// and error both come back; `main`'s block stays in registers in the callers' loops.
    #[cold]
    #[inline(never)]
    fn allocate_in_fallback(
        &self,
        layout: Layout,
        zeroed: bool,
        main_error: AllocatorError,
    ) -> Result<Block, AllocatorError> {
        let result = if zeroed {
            self.fallback.allocate_zeroed_raw(layout)
        } else {
            self.fallback.allocate_raw(layout)
        };
        result.map_err(|e| pick(main_error, e))
    }

    /// The slow path of a reallocation of a block of `main` that `main` could not serve:
    /// moves the block to the fallback.
    ///
    /// # Safety
    ///
    /// `block` fits a block currently allocated by `main` (after `main`'s failed
    /// reallocation it still is, unchanged).
    #[cold]
    #[inline(never)]
    unsafe fn move_to_fallback(
        &self,
        block: Block,
        new_layout: Layout,
        main_error: AllocatorError,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller: `block` is currently allocated by `main`.
        unsafe { move_block(&self.main, &self.fallback, block, new_layout) }
            .map_err(|e| pick(main_error, e))
    }
}

// SAFETY:
// 1. Every block comes from `main` or `fallback`, which keep the contract, so it is valid,
//    aligned, and reports the requested layout. `main`'s and `fallback`'s live blocks do
//    not overlap: each allocator's memory is distinct from what the other one currently
//    hands out.
// 2. Blocks live in `main` or `fallback`, which survive moves and clones; so does the
//    `Fallback` holding them.
// 3. A block is given back to the allocator that holds it: `main.owns_block` is true for
//    every live block of `main` and false for every non-empty block of `fallback`
//    (`BlockOwner`'s promise, the reason the trait is unsafe). Empty blocks may go either
//    way. Zero-size requests are answered by `main`.
// 4. A failed request leaves every block as it was: a failed `main` reallocation leaves
//    the block in `main`, and `move_block` leaves it there too when `fallback` fails.
unsafe impl<M: BlockOwner, F: Allocator> Allocator for Fallback<M, F> {
    /// Allocates from `main`, or, if `main` fails, from the fallback.
    ///
    /// # Errors
    ///
    /// When both fail, the more informative of their errors (see the
    /// [type's docs](Fallback#errors)).
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        match self.main.allocate_raw(layout) {
            Ok(block) => Ok(block),
            Err(e) => self.allocate_in_fallback(layout, false, e),
        }
    }

    /// As [`allocate_raw`](Self::allocate_raw), with each side's zeroing allocation.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        match self.main.allocate_zeroed_raw(layout) {
            Ok(block) => Ok(block),
            Err(e) => self.allocate_in_fallback(layout, true, e),
        }
    }

    /// Gives `block` back to `main` if `main` owns it, else to the fallback.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`]. A block of neither side is passed to the
    /// fallback, which may detect it (see [the rule](Fallback#blocks-that-neither-side-owns)).
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if self.main.owns_block(&block) {
            // SAFETY: `block` is currently allocated by the `Fallback` (caller) and owned
            // by `main`, so `main` allocated it.
            unsafe { self.main.deallocate_raw(block) }
        } else {
            // SAFETY: `block` is currently allocated by the `Fallback` (caller), not by
            // `main` (a non-empty block of `main` would be owned), so by the fallback; or
            // it is empty, which every allocator accepts.
            unsafe { self.fallback.deallocate_raw(block) }
        }
    }

    /// Reallocates in the side that holds `block`; a block of `main` that `main` cannot
    /// resize moves to the fallback (see the [routing rules](Fallback#routing-rules)).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// For a block of `main`, when both `main` and the fallback fail, the more informative
    /// error; for a block of the fallback, the fallback's error. `block` is then still
    /// allocated, unchanged.
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if self.main.owns_block(&block) {
            // SAFETY: `block` is currently allocated by `main` (see `deallocate_raw`).
            match unsafe { self.main.reallocate_raw(block, new_layout) } {
                Ok(new) => Ok(new),
                // SAFETY: after a failed reallocation, `block` is still allocated by
                // `main`, unchanged (contract, promise 4).
                Err(e) => unsafe { self.move_to_fallback(block, new_layout, e) },
            }
        } else if block.is_empty() {
            // An empty block holds nothing and needs no freeing: this is an allocation,
            // which tries `main` first.
            self.allocate_raw(new_layout)
        } else {
            // SAFETY: a non-empty block of the `Fallback` not owned by `main` is currently
            // allocated by the fallback.
            unsafe { self.fallback.reallocate_raw(block, new_layout) }
        }
    }
}

// SAFETY: a live non-empty block of the `Fallback` is a live block of `main` or of the
// fallback, so one of them claims it; a block that neither handed out is disclaimed by
// both, since each keeps `BlockOwner`'s promise.
unsafe impl<M: BlockOwner, F: BlockOwner> BlockOwner for Fallback<M, F> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.main.owns_block(block) || self.fallback.owns_block(block)
    }
}

alloc_core::impl_allocator_api2!(impl[M, F] for Fallback<M, F> where [M: BlockOwner, F: Allocator]);

#[cfg(test)]
mod tests {
    use super::pick;
    use alloc_core::AllocatorError::*;

    #[test]
    fn the_more_informative_error_wins_and_main_wins_ties() {
        assert_eq!(pick(TooLarge, OutOfMemory), TooLarge);
        assert_eq!(pick(OutOfMemory, TooLarge), TooLarge);
        assert_eq!(pick(OutOfMemory, OutOfMemory), OutOfMemory);
        assert_eq!(pick(Busy, UnsupportedAlignment), Busy);
        assert_eq!(pick(InvalidArgument, Other), InvalidArgument);
        assert_eq!(pick(Other, InvalidArgument), Other);
        assert_eq!(pick(OutOfMemory, Other), Other);
    }
}
