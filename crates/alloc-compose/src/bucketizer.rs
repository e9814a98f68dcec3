//! [`Bucketizer`]: one allocator per size class, the classic small-object allocator.

use core::alloc::Layout;
use core::fmt;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, InitError, move_block};

/// A family of `N` allocators, one per size class, chosen by the size of each request:
/// the classic small-object allocator (free lists of 16, 32, 64 … bytes).
///
/// A request of `size` bytes goes to the **smallest class of at least `size` bytes**.
/// Requests larger than the largest class fail with [`AllocatorError::TooLarge`], so a
/// [`Segregator`](crate::Segregator) or a [`Fallback`](crate::Fallback) can send them
/// elsewhere; zero-size requests get [`Block::empty`].
///
/// # Classes
///
/// - [`powers_of_two(min, factory)`](Self::powers_of_two): `min`, `2 min`, … `min << (N -
///   1)`; the class of a size is found in O(1) (a leading-zeros count and a subtraction).
/// - [`with_sizes([s0, s1, …], factory)`](Self::with_sizes): any strictly increasing sizes
///   (say 16, 24, 32, 48, 64), found by binary search (O(log N)); consecutive powers of
///   two get the O(1) lookup.
///
/// The factory is called once per class, smallest first, with the class size, and builds
/// that class's allocator: a free list of blocks of exactly that size, typically, with as
/// many blocks as the program needs (the count is the factory's choice, per class). The
/// classes live in an array inside the `Bucketizer` (no heap, `no_std`); their memory is
/// wherever their allocators keep it.
///
/// # Blocks are routed back by size, so blocks report at most their class size
///
/// Deallocation and reallocation find the class from `block.size()`. A caller may give
/// back any size between the requested one and the one returned (the
/// [fits](Allocator#the-contract) rule), so the `Bucketizer` reports at most the class
/// size: every size in that range then names the same class. If a class allocator hands
/// out more than its class size, the reported size is trimmed; a free list of the class
/// size reports exactly the class size, which a `Vec` may use.
///
/// Alignment is the class allocator's business: a request the class allocator cannot
/// align fails with its error (`UnsupportedAlignment` from a free list), it is not sent to
/// a larger class (which would break routing by size). Put a [`Fallback`](crate::Fallback)
/// after the `Bucketizer` for such requests, and for classes that run out of blocks.
///
/// # Checks
///
/// A non-empty block larger than the largest class cannot be one of the `Bucketizer`'s:
/// giving one back **panics** (in every build), naming the problem. Other foreign blocks
/// and double frees are left to the class allocators' own checks (a `FreeList` panics).
///
/// It is a [`BlockOwner`] when the class allocators are (asking the class the size
/// names, O(1) on top of theirs), and `Send`/`Sync` when they are.
///
/// # Examples
///
/// Five classes from 16 to 256 bytes, each a [`Proxy`](crate::Proxy) around the heap here
/// (in a real program, a free list of the class size: see the `allocators` facade):
///
/// ```
/// use alloc_compose::{AllocatorExt, Bucketizer, Counters, Proxy};
/// use alloc_core::{Allocator, AllocatorError, Heap};
/// use core::alloc::Layout;
///
/// let buckets: Bucketizer<Proxy<Heap, Counters>, 5> =
///     Bucketizer::powers_of_two(16, |_size| Ok(Heap.proxy(Counters::new()))).unwrap();
/// assert_eq!(buckets.classes(), &[16, 32, 64, 128, 256]);
///
/// let a = buckets.allocate([0u8; 20]).unwrap(); // the 32-byte class
/// let b = buckets.allocate([0u8; 256]).unwrap(); // the 256-byte class
/// assert_eq!(buckets.bucket(1).logger().counts().allocations, 1);
/// assert_eq!(buckets.bucket(4).logger().counts().allocations, 1);
/// // Larger than every class: for a `Fallback` or `Segregator` to serve.
/// let big = Layout::from_size_align(257, 8).unwrap();
/// assert_eq!(buckets.allocate_raw(big).err(), Some(AllocatorError::TooLarge));
/// # drop((a, b));
/// ```
///
/// The usual composition: size classes in front, the heap for the rest.
///
/// ```
/// use alloc_compose::{AllocatorExt, Bucketizer, NoLog, Proxy};
/// use alloc_core::{Allocator, Heap};
///
/// let small = Bucketizer::<_, 3>::with_sizes([8, 24, 64], |_| Ok(Heap.proxy(NoLog))).unwrap();
/// let alloc = small.segregate::<64, _>(Heap);
/// let word = alloc.allocate_str("size classes").unwrap();   // 12 bytes: class 24
/// let page = alloc.allocate([1u8; 4096]).unwrap();          // the heap
/// assert_eq!((&*word, page[4095]), ("size classes", 1));
/// ```
pub struct Bucketizer<A, const N: usize> {
    /// The class allocators, smallest class first.
    buckets: [A; N],
    /// The class sizes, strictly increasing, all non-zero.
    sizes: [usize; N],
    /// `log2(sizes[0])` when the sizes are consecutive powers of two (the O(1) lookup);
    /// [`NOT_POW2`] otherwise.
    shift: u32,
}

/// `shift` of a `Bucketizer` whose classes are not consecutive powers of two.
const NOT_POW2: u32 = u32::MAX;

impl<A, const N: usize> Bucketizer<A, N> {
    /// `N` classes of `min`, `2 min`, `4 min`, … bytes; `factory(size)` builds the
    /// allocator of each class. The class of a size is found in O(1).
    ///
    /// # Errors
    ///
    /// An [`InitError`]:
    /// - `InvalidArgument` if `N` is 0 or `min` is not a power of two;
    /// - `SizeOverflow` if the largest class overflows `usize`;
    /// - the first error of `factory` (the classes built so far are dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    /// use alloc_core::AllocatorError;
    ///
    /// let b = Bucketizer::<Null, 4>::powers_of_two(8, |_| Ok(Null)).unwrap();
    /// assert_eq!(b.classes(), &[8, 16, 32, 64]);
    /// let bad = Bucketizer::<Null, 4>::powers_of_two(12, |_| Ok(Null));
    /// assert_eq!(bad.unwrap_err().kind(), AllocatorError::InvalidArgument);
    /// ```
    pub fn powers_of_two<F>(min: usize, factory: F) -> Result<Self, InitError>
    where
        F: FnMut(usize) -> Result<A, InitError>,
    {
        if !min.is_power_of_two() {
            return Err(InitError::invalid_argument(
                "the smallest class is not a power of two",
            ));
        }
        let shift = min.trailing_zeros();
        if N == 0 {
            return Err(InitError::invalid_argument("no size class"));
        }
        if shift as usize + (N - 1) >= usize::BITS as usize {
            return Err(InitError::new(
                AllocatorError::SizeOverflow,
                "the largest class overflows usize",
            ));
        }
        let sizes = core::array::from_fn(|i| min << i);
        Self::build(sizes, shift, factory)
    }

    /// Classes of the given sizes, which must be strictly increasing and non-zero;
    /// `factory(size)` builds the allocator of each class. The class of a size is found by
    /// binary search, or in O(1) when the sizes are consecutive powers of two.
    ///
    /// # Errors
    ///
    /// An [`InitError`]:
    /// - `InvalidArgument` if `N` is 0, a size is 0, or the sizes are not strictly
    ///   increasing;
    /// - the first error of `factory` (the classes built so far are dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    /// use alloc_core::AllocatorError;
    ///
    /// let b = Bucketizer::<Null, 3>::with_sizes([16, 48, 80], |_| Ok(Null)).unwrap();
    /// assert_eq!(b.class_of(17), Some(1));
    /// let bad = Bucketizer::<Null, 2>::with_sizes([64, 32], |_| Ok(Null));
    /// assert_eq!(bad.unwrap_err().kind(), AllocatorError::InvalidArgument);
    /// ```
    pub fn with_sizes<F>(sizes: [usize; N], factory: F) -> Result<Self, InitError>
    where
        F: FnMut(usize) -> Result<A, InitError>,
    {
        if N == 0 {
            return Err(InitError::invalid_argument("no size class"));
        }
        if sizes[0] == 0 {
            return Err(InitError::invalid_argument("a size class of 0 bytes"));
        }
        if sizes.windows(2).any(|w| w[0] >= w[1]) {
            return Err(InitError::invalid_argument(
                "size classes are not strictly increasing",
            ));
        }
        // Checked: sizes near `usize::MAX` have no double (they are simply not consecutive
        // powers of two, and binary search serves them).
        let pow2 = sizes[0].is_power_of_two()
            && sizes.windows(2).all(|w| w[0].checked_mul(2) == Some(w[1]));
        let shift = if pow2 {
            sizes[0].trailing_zeros()
        } else {
            NOT_POW2
        };
        Self::build(sizes, shift, factory)
    }

    /// Builds the class allocators, smallest first, stopping at the first error.
    fn build<F>(sizes: [usize; N], shift: u32, mut factory: F) -> Result<Self, InitError>
    where
        F: FnMut(usize) -> Result<A, InitError>,
    {
        let mut error = None;
        let built: [Option<A>; N] = core::array::from_fn(|i| {
            if error.is_some() {
                return None;
            }
            factory(sizes[i]).map_err(|e| error = Some(e)).ok()
        });
        if let Some(e) = error {
            return Err(e);
        }
        // Without an error, every class was built.
        let buckets = built.map(|bucket| match bucket {
            Some(bucket) => bucket,
            None => unreachable!("a class is missing although the factory never failed"),
        });
        Ok(Self {
            buckets,
            sizes,
            shift,
        })
    }

    /// The class sizes, smallest first.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    ///
    /// let b = Bucketizer::<Null, 2>::with_sizes([24, 40], |_| Ok(Null)).unwrap();
    /// assert_eq!(b.classes(), &[24, 40]);
    /// ```
    #[inline]
    #[must_use]
    pub const fn classes(&self) -> &[usize; N] {
        &self.sizes
    }

    /// The largest request served (the largest class).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    ///
    /// let b = Bucketizer::<Null, 5>::powers_of_two(16, |_| Ok(Null)).unwrap();
    /// assert_eq!(b.max_size(), 256);
    /// ```
    #[inline]
    #[must_use]
    pub const fn max_size(&self) -> usize {
        // `N >= 1` (checked by every constructor).
        self.sizes[N - 1]
    }

    /// The allocators of the classes, smallest class first.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    ///
    /// let b = Bucketizer::<Null, 2>::powers_of_two(8, |_| Ok(Null)).unwrap();
    /// assert_eq!(b.buckets(), &[Null, Null]);
    /// ```
    #[inline]
    #[must_use]
    pub const fn buckets(&self) -> &[A; N] {
        &self.buckets
    }

    /// The allocator of class `index`.
    ///
    /// # Panics
    ///
    /// If `index >= N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Bucketizer, Counters};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let b = Bucketizer::<_, 2>::powers_of_two(8, |_| Ok(Heap.proxy(Counters::new()))).unwrap();
    /// let _x = b.allocate(1u128).unwrap();
    /// assert_eq!(b.bucket(1).logger().counts().allocations, 1);
    /// ```
    #[inline]
    #[must_use]
    pub fn bucket(&self, index: usize) -> &A {
        &self.buckets[index]
    }

    /// The index of the class that serves `size` bytes (`size` must be non-zero), or
    /// `None` if `size` is larger than every class.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    ///
    /// let b = Bucketizer::<Null, 5>::powers_of_two(16, |_| Ok(Null)).unwrap();
    /// assert_eq!(b.class_of(1), Some(0));
    /// assert_eq!(b.class_of(16), Some(0));
    /// assert_eq!(b.class_of(17), Some(1));
    /// assert_eq!(b.class_of(256), Some(4));
    /// assert_eq!(b.class_of(257), None);
    /// ```
    #[inline(always)]
    #[must_use]
    pub fn class_of(&self, size: usize) -> Option<usize> {
        if size > self.max_size() {
            return None;
        }
        if self.shift != NOT_POW2 {
            // The smallest `i` with `size <= min << i`: the bit length of `size - 1`
            // (at least that of `min - 1`) minus `log2(min)`. (`size - 1` wraps for 0,
            // which is not a valid argument: the `min` keeps the index in bounds.)
            let min_minus_1 = (1usize << self.shift) - 1;
            let bits = usize::BITS - (size.wrapping_sub(1) | min_minus_1).leading_zeros();
            let index = (bits - self.shift) as usize;
            return Some(index.min(N - 1));
        }
        Some(self.sizes.partition_point(|&class| class < size))
    }

    /// Takes the `Bucketizer` apart into its class allocators (blocks stay allocated in
    /// them) and class sizes.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Bucketizer, Null};
    ///
    /// let b = Bucketizer::<Null, 2>::powers_of_two(8, |_| Ok(Null)).unwrap();
    /// assert_eq!(b.into_parts(), ([Null, Null], [8, 16]));
    /// ```
    #[inline]
    #[must_use]
    pub fn into_parts(self) -> ([A; N], [usize; N]) {
        (self.buckets, self.sizes)
    }

    /// The class of a non-empty block given back; panics for one too large to be ours.
    #[inline(always)]
    #[track_caller]
    fn class_of_block(&self, block: &Block) -> usize {
        match self.class_of(block.size()) {
            Some(class) => class,
            None => foreign_block(block, self.max_size()),
        }
    }

    /// A block of class `class`, its size capped at the class size (see the type's docs).
    #[inline(always)]
    fn cap(&self, class: usize, block: Block) -> Block {
        let max = self.sizes[class];
        if block.size() <= max {
            block
        } else {
            // SAFETY: `max < block.size()`, and `block.layout()` is valid with this
            // alignment, so the smaller size is valid too.
            let layout = unsafe { Layout::from_size_align_unchecked(max, block.align()) };
            Block::from_raw_parts(block.ptr(), layout)
        }
    }

    /// An allocation of a non-empty `layout`.
    #[inline(always)]
    fn allocate_in_class(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError>
    where
        A: Allocator,
    {
        let Some(class) = self.class_of(layout.size()) else {
            return Err(AllocatorError::TooLarge);
        };
        let bucket = &self.buckets[class];
        let block = if zeroed {
            bucket.allocate_zeroed_raw(layout)?
        } else {
            bucket.allocate_raw(layout)?
        };
        Ok(self.cap(class, block))
    }
}

/// The panic for a block larger than every class: out of line, so callers stay small.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_block(block: &Block, max: usize) -> ! {
    panic!(
        "Bucketizer: foreign block {block:?}: larger than the largest size class ({max} \
         bytes), so not allocated by this Bucketizer"
    )
}

impl<A: fmt::Debug, const N: usize> fmt::Debug for Bucketizer<A, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucketizer")
            .field("classes", &self.sizes)
            .field("buckets", &self.buckets)
            .finish()
    }
}

// SAFETY:
// 1. Every block comes from a class allocator, which keeps the contract; capping it to
//    the class size keeps it valid (still at least the request, which is at most the
//    class size). Different classes' live blocks do not overlap (distinct allocators).
// 2. Blocks live in the class allocators, which survive moves (the array moves with the
//    `Bucketizer`, and each allocator keeps its memory outside itself).
// 3. Blocks are given back to their class: every size that fits a block of class `c`
//    lies in `(sizes[c - 1], sizes[c]]` (at least the request, which maps to `c`, at most
//    the capped size), which `class_of` maps to `c`. Zero-size requests get
//    `Block::empty` and empty blocks are no-ops.
// 4. A failed request changes nothing: a failed reallocation within a class leaves the
//    block there; `move_block` leaves it in place when the other class fails.
unsafe impl<A: Allocator, const N: usize> Allocator for Bucketizer<A, N> {
    /// The class allocator of the smallest class that holds `layout.size()` bytes.
    ///
    /// # Errors
    ///
    /// `TooLarge` above the largest class; otherwise the class allocator's error.
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.allocate_in_class(layout, false)
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
        self.allocate_in_class(layout, true)
    }

    /// Gives `block` back to the class its size names.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// If `block` is larger than the largest class; and whenever the class allocator
    /// panics (a free list detecting a foreign block or a double free).
    #[inline(always)]
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let class = self.class_of_block(&block);
        // SAFETY: a block of the `Bucketizer` was allocated by the class its size names
        // (see the impl's safety comment, point 3).
        unsafe { self.buckets[class].deallocate_raw(block) }
    }

    /// Within a class, that class's reallocation (in place for a free list); to another
    /// class, a move.
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// `TooLarge` above the largest class (the block stays where it is: a
    /// [`Fallback`](crate::Fallback) around the `Bucketizer` then moves it); otherwise the
    /// class allocator's error.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw).
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
        let from = self.class_of_block(&block);
        if new_layout.size() == 0 {
            // SAFETY: `block` was allocated by class `from` (as in `deallocate_raw`).
            unsafe { self.buckets[from].deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        let Some(to) = self.class_of(new_layout.size()) else {
            return Err(AllocatorError::TooLarge);
        };
        let new = if from == to {
            // SAFETY: `block` was allocated by class `from`.
            unsafe { self.buckets[from].reallocate_raw(block, new_layout) }?
        } else {
            // SAFETY: `block` was allocated by class `from`, the `from` side of the move.
            unsafe { move_block(&self.buckets[from], &self.buckets[to], block, new_layout) }?
        };
        Ok(self.cap(to, new))
    }
}

// SAFETY: a live non-empty block of the `Bucketizer` is a live block of the class its
// size names, which claims it; a block it did not hand out is disclaimed by that class
// (which did not hand it out either), and a block larger than every class is disclaimed
// outright.
unsafe impl<A: BlockOwner, const N: usize> BlockOwner for Bucketizer<A, N> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        match self.class_of(block.size()) {
            Some(class) if !block.is_empty() => self.buckets[class].owns_block(block),
            _ => false,
        }
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator, const N: usize] for Bucketizer<A, N>);

#[cfg(test)]
mod tests {
    use super::Bucketizer;
    use crate::Null;

    /// The O(1) lookup agrees with the definition (smallest class of at least `size`).
    #[test]
    fn power_of_two_lookup_matches_a_scan() {
        for min_shift in 0..6 {
            let b = Bucketizer::<Null, 6>::powers_of_two(1 << min_shift, |_| Ok(Null)).unwrap();
            assert_ne!(b.shift, super::NOT_POW2);
            for size in 1..=b.max_size() + 3 {
                let expected = b.classes().iter().position(|&c| c >= size);
                assert_eq!(
                    b.class_of(size),
                    expected,
                    "size {size}, min {}",
                    1 << min_shift
                );
            }
            assert_eq!(b.class_of(usize::MAX), None);
        }
    }

    #[test]
    fn explicit_lists_use_binary_search_and_detect_powers_of_two() {
        let b = Bucketizer::<Null, 4>::with_sizes([8, 24, 32, 100], |_| Ok(Null)).unwrap();
        assert_eq!(b.shift, super::NOT_POW2);
        for size in 1..=101 {
            let expected = b.classes().iter().position(|&c| c >= size);
            assert_eq!(b.class_of(size), expected, "size {size}");
        }
        let p = Bucketizer::<Null, 3>::with_sizes([32, 64, 128], |_| Ok(Null)).unwrap();
        assert_eq!(p.shift, 5);
        let single = Bucketizer::<Null, 1>::with_sizes([48], |_| Ok(Null)).unwrap();
        assert_eq!(
            (single.class_of(1), single.class_of(48), single.class_of(49)),
            (Some(0), Some(0), None)
        );
    }

    #[test]
    fn bad_classes_are_refused() {
        use alloc_core::AllocatorError::{InvalidArgument, SizeOverflow};
        assert!(matches!(
            Bucketizer::<Null, 0>::powers_of_two(8, |_| Ok(Null)),
            Err(e) if e.kind() == InvalidArgument
        ));
        assert!(matches!(
            Bucketizer::<Null, 0>::with_sizes([], |_| Ok(Null)),
            Err(e) if e.kind() == InvalidArgument
        ));
        assert!(matches!(
            Bucketizer::<Null, 2>::with_sizes([0, 8], |_| Ok(Null)),
            Err(e) if e.kind() == InvalidArgument
        ));
        assert!(matches!(
            Bucketizer::<Null, 2>::with_sizes([8, 8], |_| Ok(Null)),
            Err(e) if e.kind() == InvalidArgument
        ));
        assert!(matches!(
            Bucketizer::<Null, 3>::powers_of_two(0, |_| Ok(Null)),
            Err(e) if e.kind() == InvalidArgument
        ));
        assert_eq!(
            Bucketizer::<Null, 2>::powers_of_two(1 << (usize::BITS - 1), |_| Ok(Null))
                .map_err(|e| e.kind())
                .err(),
            Some(SizeOverflow)
        );
        assert!(Bucketizer::<Null, 1>::powers_of_two(1 << (usize::BITS - 1), |_| Ok(Null)).is_ok());
    }

    #[test]
    fn the_factory_sees_each_class_once_and_its_error_stops_the_build() {
        let mut seen = [0usize; 4];
        let mut i = 0;
        let b = Bucketizer::<Null, 4>::powers_of_two(16, |size| {
            seen[i] = size;
            i += 1;
            Ok(Null)
        });
        assert!(b.is_ok());
        assert_eq!(seen, [16, 32, 64, 128]);
        let mut calls = 0;
        let err = Bucketizer::<Null, 4>::powers_of_two(16, |size| {
            calls += 1;
            if size == 32 {
                Err(alloc_core::AllocatorError::OutOfMemory.into())
            } else {
                Ok(Null)
            }
        });
        assert_eq!(
            err.err(),
            Some(alloc_core::AllocatorError::OutOfMemory.into())
        );
        assert_eq!(calls, 2);
    }
}
