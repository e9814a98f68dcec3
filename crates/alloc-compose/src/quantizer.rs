//! [`Quantizer`]: every request rounded up by a [`Rounding`], so that blocks grow in place
//! (D's `Quantizer`, jemalloc's size classes and `nallocx`, mimalloc's good size).

use core::alloc::Layout;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

/// A rounding function for [`Quantizer`]: the size a request of `size` bytes is served
/// with.
///
/// # Safety
///
/// The quantizer gives blocks back to its inner allocator with the rounded size of
/// whatever size the caller gives back, so the function must, for all sizes `a <= b`:
///
/// 1. round up: `round(a) >= a` (when it returns `Some`);
/// 2. be idempotent: `round(round(a)) == round(a)`;
/// 3. be monotone: `round(a) <= round(b)` (when both are `Some`), and if `round(b)` is
///    `Some`, so is `round(a)`;
/// 4. be a function: the same answer every time, for every clone of the value.
///
/// Together these make every size between a request and its rounded size round to the
/// same value. `None` means the rounded size would overflow (the request then fails with
/// `SizeOverflow`).
///
/// # Examples
///
/// Rounding to whole cache lines:
///
/// ```
/// use alloc_compose::{Quantizer, Rounding};
/// use alloc_core::{Allocator, Heap};
/// use core::alloc::Layout;
///
/// struct CacheLines;
/// // SAFETY: rounding up to a multiple of 64 rounds up, is idempotent and monotone.
/// unsafe impl Rounding for CacheLines {
///     fn round(&self, size: usize) -> Option<usize> {
///         size.checked_next_multiple_of(64)
///     }
/// }
///
/// let alloc = Quantizer::with_rounding(Heap, CacheLines);
/// assert_eq!(alloc.good_size(Layout::new::<[u8; 65]>()), 128);
/// ```
pub unsafe trait Rounding {
    /// The rounded size of `size`, or `None` if it overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{PowerOfTwo, Rounding};
    ///
    /// assert_eq!(PowerOfTwo.round(100), Some(128));
    /// assert_eq!(PowerOfTwo.round(usize::MAX), None);
    /// ```
    fn round(&self, size: usize) -> Option<usize>;
}

/// Rounds to the next power of two: growth by doubling never moves a block twice within
/// one class. At most 2x memory.
///
/// # Examples
///
/// ```
/// use alloc_compose::{PowerOfTwo, Rounding};
///
/// assert_eq!((PowerOfTwo.round(1), PowerOfTwo.round(4096), PowerOfTwo.round(4097)), (Some(1), Some(4096), Some(8192)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PowerOfTwo;

// SAFETY: the next power of two is at least the size, a power of two is its own next power
// of two, and the function is monotone (and `None` only above the largest power of two).
unsafe impl Rounding for PowerOfTwo {
    #[inline]
    fn round(&self, size: usize) -> Option<usize> {
        size.checked_next_power_of_two()
    }
}

/// Rounds to a multiple of `N` bytes (`N > 0`; a compile-time error otherwise).
///
/// # Examples
///
/// ```
/// use alloc_compose::{Multiple, Rounding};
///
/// assert_eq!(Multiple::<48>.round(49), Some(96));
/// assert_eq!(Multiple::<48>.round(0), Some(0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Multiple<const N: usize>;

// SAFETY: the next multiple of `N` is at least the size, a multiple is its own next one, and
// the function is monotone (`None` only above the largest multiple).
unsafe impl<const N: usize> Rounding for Multiple<N> {
    #[inline]
    fn round(&self, size: usize) -> Option<usize> {
        const { assert!(N > 0, "Multiple<0>: the multiple must be positive") };
        size.checked_next_multiple_of(N)
    }
}

/// jemalloc-style size classes: multiples of 8 up to 16 bytes, then four classes per
/// doubling (17–32 bytes in steps of 4, 33–64 in steps of 8, …, 4097–8192 in steps of
/// 1,024): at most 25 % waste above 16 bytes, and a block grows in place within its class.
///
/// # Examples
///
/// ```
/// use alloc_compose::{Rounding, SizeClassRounding};
///
/// let classes: Vec<_> = [1, 9, 17, 33, 100, 1000].iter().map(|&s| SizeClassRounding.round(s).unwrap()).collect();
/// assert_eq!(classes, [8, 16, 20, 40, 112, 1024]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SizeClassRounding;

// SAFETY: in each doubling `(2^(k-1), 2^k]` the size rounds up to a multiple of the step
// `2^(k-3)`; the largest result is `2^k` (a multiple of its own step `2^(k-3)` as well), so
// every result is its own rounding (idempotent), at least the size, and results grow with
// the size (a larger doubling has larger results). Sizes up to 16 round to multiples of 8.
unsafe impl Rounding for SizeClassRounding {
    #[inline]
    fn round(&self, size: usize) -> Option<usize> {
        if size <= 16 {
            return Some(size.next_multiple_of(8));
        }
        // `2^(bits-1) < size <= 2^bits`, `bits >= 5`.
        let bits = usize::BITS - (size - 1).leading_zeros();
        size.checked_next_multiple_of(1 << (bits - 3))
    }
}

/// Rounds every request up with a [`Rounding`] (by default [`PowerOfTwo`]) before the inner
/// allocator sees it, so that later reallocations within the rounded size happen in place
/// without asking the inner allocator, and callers can use the whole block.
///
/// - **Allocation**: `rounding.round(size)` bytes from the inner allocator; the block
///   reported is exactly that size (the caller may use all of it; through the
///   allocator-api2 bridges, the slice is that long).
/// - **Reallocation** to a size with the same rounded size and the same alignment: the
///   same block, without a call to the inner allocator. Otherwise the inner allocator's
///   reallocation, between rounded sizes.
/// - **Deallocation**: the rounded size of the size given back (every size that
///   [fits](Allocator#the-contract) the block rounds to the block's size).
/// - [`good_size`](Allocator::good_size) is the rounded size.
///
/// Zero-size requests are answered with [`Block::empty`] without the inner allocator.
/// It is a [`BlockOwner`] when the inner allocator is, and `Send`, `Sync`, `Clone`,
/// `Copy` when its parts are.
///
/// # Examples
///
/// A buffer growing a few bytes at a time moves only when it crosses a power of two:
///
/// ```
/// use alloc_compose::{AllocatorExt, Counters, Quantizer};
/// use alloc_core::{Allocator, Heap};
/// use core::alloc::Layout;
///
/// let heap = Heap.proxy(Counters::new());
/// let alloc = Quantizer::new(&heap);
/// let mut block = alloc.allocate_raw(Layout::new::<[u8; 10]>()).unwrap();
/// assert_eq!(block.size(), 16);
/// for size in 11..=1000 {
///     // SAFETY: `block` is currently allocated by `alloc`.
///     block = unsafe { alloc.reallocate_raw(block, Layout::from_size_align(size, 1).unwrap()) }.unwrap();
/// }
/// // 16 → 32 → … → 1024: six reallocations reached the heap, not 990.
/// assert_eq!(heap.logger().counts().reallocations, 6);
/// // SAFETY: `block` is currently allocated by `alloc`.
/// unsafe { alloc.deallocate_raw(block) };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quantizer<A, R = PowerOfTwo> {
    /// Serves the rounded requests.
    inner: A,
    /// The rounding function.
    rounding: R,
}

impl<A> Quantizer<A> {
    /// Rounds to powers of two.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Quantizer;
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// assert_eq!(Quantizer::new(Heap).good_size(Layout::new::<[u8; 33]>()), 64);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            rounding: PowerOfTwo,
        }
    }
}

impl<A, R> Quantizer<A, R> {
    /// Rounds with `rounding`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Quantizer, SizeClassRounding};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Quantizer::with_rounding(Heap, SizeClassRounding);
    /// let b = alloc.allocate([0u8; 70]).unwrap();
    /// assert_eq!(alloc.good_size(core::alloc::Layout::new::<[u8; 70]>()), 80);
    /// ```
    #[inline]
    #[must_use]
    pub const fn with_rounding(inner: A, rounding: R) -> Self {
        Self { inner, rounding }
    }

    /// The inner allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, Quantizer};
    ///
    /// assert_eq!(*Quantizer::new(Null).inner(), Null);
    /// ```
    #[inline]
    #[must_use]
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The rounding function.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, PowerOfTwo, Quantizer};
    ///
    /// assert_eq!(*Quantizer::new(Null).rounding(), PowerOfTwo);
    /// ```
    #[inline]
    #[must_use]
    pub const fn rounding(&self) -> &R {
        &self.rounding
    }

    /// Takes the quantizer apart. Its blocks stay allocated in the inner allocator, with
    /// their rounded sizes.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Null, PowerOfTwo, Quantizer};
    ///
    /// assert_eq!(Quantizer::new(Null).into_parts(), (Null, PowerOfTwo));
    /// ```
    #[inline]
    #[must_use]
    pub fn into_parts(self) -> (A, R) {
        (self.inner, self.rounding)
    }
}

impl<A: Allocator, R: Rounding> Quantizer<A, R> {
    /// `layout` with its size rounded; `SizeOverflow` past `isize::MAX`.
    #[inline(always)]
    fn rounded(&self, layout: Layout) -> Result<Layout, AllocatorError> {
        match self.rounding.round(layout.size()) {
            Some(size) => Layout::from_size_align(size, layout.align())
                .map_err(|_| AllocatorError::SizeOverflow),
            None => Err(AllocatorError::SizeOverflow),
        }
    }

    /// The inner block of a block of ours: the same address with the rounded size.
    ///
    /// # Safety
    ///
    /// `block` fits a non-empty block currently allocated by `self`.
    #[inline(always)]
    unsafe fn inner_block(&self, block: Block) -> Block {
        // The size given back fits our block: it rounds to the rounded size we asked the
        // inner allocator for (`Rounding`'s promises), which was a valid layout.
        let size = self.rounding.round(block.size()).unwrap_or(block.size());
        // SAFETY: as above, `size` with the block's alignment is the inner request.
        unsafe {
            Block::from_raw_parts_unchecked(
                block.ptr(),
                Layout::from_size_align_unchecked(size, block.align()),
            )
        }
    }

    /// The caller's view of an inner block served for `rounded`: exactly the rounded size.
    #[inline(always)]
    fn outer(inner: Block, rounded: Layout) -> Block {
        // SAFETY: the inner block has at least `rounded.size()` bytes and `rounded`'s
        // alignment, and `rounded` is a valid layout.
        unsafe { Block::from_raw_parts_unchecked(inner.ptr(), rounded) }
    }
}

// SAFETY:
// 1. Each block is an inner block of the rounded layout, reported with the rounded size,
//    which the inner block has; it is as aligned as requested and at least as large.
// 2. The memory is the inner allocator's.
// 3. Zero-size requests return `Block::empty` and empty blocks are no-ops.
// 4. A failure changes nothing: the inner allocator's failed reallocation leaves the block.
// A block given back with any size that fits ours goes back to the inner allocator with
// the rounded size, which is the size we asked for (`Rounding`'s promises).
unsafe impl<A: Allocator, R: Rounding> Allocator for Quantizer<A, R> {
    /// The rounded request, from the inner allocator.
    ///
    /// # Errors
    ///
    /// `SizeOverflow` when the rounded size exceeds `isize::MAX`; otherwise the inner
    /// allocator's error.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let rounded = self.rounded(layout)?;
        self.inner
            .allocate_raw(rounded)
            .map(|b| Self::outer(b, rounded))
    }

    /// As [`allocate_raw`](Self::allocate_raw), zeroed (the whole rounded block).
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let rounded = self.rounded(layout)?;
        self.inner
            .allocate_zeroed_raw(rounded)
            .map(|b| Self::outer(b, rounded))
    }

    /// The block with its rounded size, to the inner allocator.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        // SAFETY: forwarded from the caller; the inner block is the one the inner
        // allocator handed out.
        unsafe { self.inner.deallocate_raw(self.inner_block(block)) }
    }

    /// In place when the rounded size and the alignment stay; otherwise the inner
    /// allocator's reallocation between rounded sizes.
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); the block is then unchanged.
    #[inline]
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
        let rounded = self.rounded(new_layout)?;
        // SAFETY: forwarded from the caller.
        let inner = unsafe { self.inner_block(block) };
        if inner.layout() == rounded {
            return Ok(inner);
        }
        // SAFETY: `inner` is currently allocated by the inner allocator (above).
        let new = unsafe { self.inner.reallocate_raw(inner, rounded) }?;
        Ok(Self::outer(new, rounded))
    }

    /// The rounded size (or the size itself, if rounding overflows).
    #[inline]
    fn good_size(&self, layout: Layout) -> usize {
        self.rounding.round(layout.size()).unwrap_or(layout.size())
    }
}

// SAFETY: a live block of ours, with any size that fits, rounds to the inner block, which
// the inner allocator claims; any other block is asked about with its rounded size (a
// block containing it), which an inner allocator that never handed that memory out
// disclaims.
unsafe impl<A: BlockOwner, R: Rounding> BlockOwner for Quantizer<A, R> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        match self.rounded(block.layout()) {
            Ok(layout) if !block.is_empty() => self
                .inner
                .owns_block(&Block::from_raw_parts(block.ptr(), layout)),
            _ => false,
        }
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator, R: Rounding] for Quantizer<A, R>);

#[cfg(test)]
mod tests {
    use super::{Multiple, PowerOfTwo, Rounding, SizeClassRounding};

    /// The promises of `Rounding`, checked over runs of consecutive sizes.
    fn check<R: Rounding>(r: &R) {
        let top = usize::MAX >> 1;
        for run in [
            0..5000,
            top - 5000..top + 5000,
            usize::MAX - 100..usize::MAX,
        ] {
            let mut last: Option<Option<usize>> = None;
            for s in run {
                let x = r.round(s);
                if let Some(x) = x {
                    assert!(x >= s, "{s} rounded down to {x}");
                    assert_eq!(r.round(x), Some(x), "not idempotent at {s}");
                }
                match (last, x) {
                    (Some(Some(l)), Some(x)) => assert!(l <= x, "not monotone at {s}"),
                    (Some(None), Some(_)) => panic!("None, then Some at {s}"),
                    _ => {}
                }
                last = Some(x);
            }
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "safe arithmetic only (the roundings' `round`): nothing for Miri to find; it runs natively"
    )]
    fn the_roundings_keep_their_promises() {
        check(&PowerOfTwo);
        check(&Multiple::<48>);
        check(&Multiple::<1>);
        check(&SizeClassRounding);
        assert_eq!(SizeClassRounding.round(usize::MAX), None);
        assert_eq!(SizeClassRounding.round(8193), Some(10240));
    }
}
