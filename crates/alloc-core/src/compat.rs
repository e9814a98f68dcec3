//! Wrappers between [`Allocator`] and the `allocator-api2` traits, in both directions:
//!
//! - [`Api2<A>`](Api2): any [`Allocator`], including one written by a user, as an
//!   `allocator-api2` 0.2, 0.3 and 0.4 allocator (and `core::alloc::Allocator` with
//!   `nightly`), for `allocator_api2::vec::Vec`,
//!   `allocator_api2::boxed::Box` and hashbrown (the orphan rule lets a user's crate
//!   invoke [`impl_allocator_api2!`](crate::impl_allocator_api2) only for its own types;
//!   the wrapper works for any type, with no macro).
//! - [`FromApi02<A>`](FromApi02) / [`FromApi03<A>`](FromApi03) /
//!   [`FromApi04<A>`](FromApi04): any `allocator-api2` 0.2 / 0.3 / 0.4 allocator (bumpalo's `&Bump`, `allocator_api2::alloc::Global`, ...) as an
//!   [`Allocator`], so it can be the parent of a `Scoped` or a `FreeList`, or a part of a
//!   composite.
//!
//! The two contracts say the same thing (blocks stay valid when the allocator is moved,
//! "fits" is defined the same way), so each wrapper only translates: errors become
//! `AllocError` one way and [`AllocatorError::OutOfMemory`] the other (`AllocError`
//! carries no reason), and zero-size requests follow [our rules](Allocator#zero-size-requests).

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::BlockOwner;
use crate::{Allocator, AllocatorError, Block};

/// Any [`Allocator`] as an `allocator-api2` allocator (versions 0.2, 0.3 and 0.4, with the
/// features `allocator-api2-02` / `-03` / `-04`; and as `core::alloc::Allocator` with
/// `nightly`), so collections can use it.
///
/// The allocators of this toolkit implement the `allocator-api2` traits themselves; wrap
/// the ones that do not: an allocator you wrote, or
/// [`std::alloc::System`](https://doc.rust-lang.org/std/alloc/struct.System.html). `Api2<A>` is
/// an [`Allocator`] (and a [`BlockOwner`]) too, forwarding everything to `A`, so wrapping
/// changes nothing else. Wrap a reference (`Api2(&alloc)`) to share one allocator among
/// several collections.
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, AllocatorError, Api2, Block, Heap};
/// use core::{alloc::Layout, cell::Cell};
///
/// /// A user-written allocator: the heap, counting allocations.
/// #[derive(Default)]
/// struct Counting { count: Cell<usize> }
///
/// // SAFETY: every method forwards to `Heap`, which keeps the contract.
/// unsafe impl Allocator for Counting {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         self.count.set(self.count.get() + 1);
///         Heap.allocate_raw(layout)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         // SAFETY: the caller gives back a block of ours, which `Heap` allocated.
///         unsafe { Heap.deallocate_raw(block) }
///     }
/// }
///
/// let counting = Counting::default();
/// let mut v = allocator_api2_02::vec::Vec::new_in(Api2(&counting));
/// v.extend_from_slice(&[1u32, 2, 3]);
/// assert_eq!(v.iter().sum::<u32>(), 6);
/// assert!(counting.count.get() >= 1);
/// ```
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "allocator-api2-02",
        feature = "allocator-api2-03",
        feature = "allocator-api2-04"
    )))
)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Api2<A>(pub A);

impl<A> Api2<A> {
    /// Wraps `alloc`; the same as `Api2(alloc)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Api2, Heap};
    ///
    /// let b = allocator_api2_02::boxed::Box::new_in(5u8, Api2::new(Heap));
    /// assert_eq!(*b, 5);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(alloc: A) -> Self {
        Self(alloc)
    }

    /// The wrapped allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{Api2, Heap};
    ///
    /// assert_eq!(Api2(Heap).into_inner(), Heap);
    /// ```
    #[inline]
    pub fn into_inner(self) -> A {
        self.0
    }
}

// SAFETY: every method forwards to `A`, which keeps the contract; the wrapper holds `A` by
// value and adds no state, so moving or cloning it moves or clones `A` only.
unsafe impl<A: Allocator> Allocator for Api2<A> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.0.allocate_raw(layout)
    }
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller (the block is `A`'s).
        unsafe { self.0.deallocate_raw(block) }
    }
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller (the block is `A`'s).
        unsafe { self.0.reallocate_raw(block, new_layout) }
    }
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.0.allocate_zeroed_raw(layout)
    }
}

// SAFETY: forwards to `A`, whose answer is truthful; the blocks of `Api2<A>` are `A`'s.
unsafe impl<A: BlockOwner> BlockOwner for Api2<A> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.0.owns_block(block)
    }
}

crate::impl_allocator_api2!(impl[A: Allocator] for Api2<A>);

/// The block an `allocator-api2` allocator returned for `layout`, reporting its full size.
#[inline]
fn block_from_slice(slice: NonNull<[u8]>, layout: Layout) -> Block {
    // The returned size is at least `layout.size()` (both contracts); keep `layout` if
    // the larger size does not make a valid `Layout` (it always does in practice).
    // A length beyond what a block can describe is not kept either (the request itself
    // was checked against `Block::MAX_SIZE` before the allocator was asked).
    let layout = match Layout::from_size_align(slice.len(), layout.align()) {
        Ok(full) if full.size() <= Block::MAX_SIZE => full,
        _ => layout,
    };
    Block::from_raw_parts(slice.cast(), layout)
}

/// Defines `FromApi02` / `FromApi03` / `FromApi04`: the same wrapper for each
/// `allocator-api2` version.
macro_rules! from_api2 {
    ($name:ident, $feature:literal, $api:ident, $krate:ident, $version:literal) => {
        #[doc = concat!("Any `allocator-api2` ", $version, " allocator as an [`Allocator`] (feature `", $feature, "`),")]
        /// so it can be the parent of one of ours, or a part of a composite.
        ///
        /// Zero-size requests are answered with [`Block::empty`] without calling the
        /// wrapped allocator, and giving back an empty block does nothing, as
        /// [our rules](Allocator#zero-size-requests) say. Blocks report the full size the
        /// wrapped allocator returned. Reallocation uses its `grow` and `shrink`. Its errors
        /// carry no reason and become [`AllocatorError::OutOfMemory`].
        ///
        /// It is not a [`BlockOwner`](crate::BlockOwner): the `allocator-api2` trait cannot
        /// tell which blocks are its own, so put it on the fallback side of a composite.
        ///
        /// # Examples
        ///
        /// An `allocator-api2` allocator (here its `Global`; bumpalo's `&Bump` works the
        /// same way) as the source of our blocks:
        ///
        /// ```
        #[doc = concat!("use alloc_core::{Allocator, ", stringify!($name), "};")]
        #[doc = concat!("use ", stringify!($krate), "::alloc::Global;")]
        ///
        #[doc = concat!("let alloc = ", stringify!($name), "(Global);")]
        /// let text = alloc.allocate_str("from allocator-api2").unwrap();
        /// let numbers = alloc.allocate_slice_with(3, |i| i * 2).unwrap();
        /// assert_eq!((&*text, &*numbers), ("from allocator-api2", &[0, 2, 4][..]));
        /// ```
        #[cfg(feature = $feature)]
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name<A>(pub A);

        #[cfg(feature = $feature)]
        impl<A> $name<A> {
            /// Wraps `alloc`; the same as the tuple constructor.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use alloc_core::{Allocator, ", stringify!($name), "};")]
            ///
            #[doc = concat!("let alloc = ", stringify!($name), "::new(", stringify!($krate), "::alloc::Global);")]
            /// assert_eq!(*alloc.allocate(3u16).unwrap(), 3);
            /// ```
            #[inline]
            #[must_use]
            pub const fn new(alloc: A) -> Self {
                Self(alloc)
            }

            /// The wrapped allocator.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use alloc_core::", stringify!($name), ";")]
            #[doc = concat!("use ", stringify!($krate), "::alloc::Global;")]
            ///
            #[doc = concat!("let inner: Global = ", stringify!($name), "(Global).into_inner();")]
            /// # let _ = inner;
            /// ```
            #[inline]
            pub fn into_inner(self) -> A {
                self.0
            }
        }

        #[cfg(feature = $feature)]
        // SAFETY: `A` keeps `allocator-api2`'s contract, which is ours: its blocks are
        // valid, aligned, at least as large as asked and disjoint, and stay valid when `A`
        // is moved or cloned (so when the wrapper is). Zero-size requests never reach `A`
        // and empty blocks are never given back to it; every non-empty block given back
        // fits a block `A` returned, as its `deallocate`, `grow` and `shrink` require. A
        // failed `grow` or `shrink` leaves the old block allocated and unchanged (its
        // contract), as ours requires.
        unsafe impl<A: crate::__private::$api::Allocator> Allocator for $name<A> {
            #[inline]
            fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                if layout.size() == 0 {
                    return Ok(Block::empty(layout));
                }
                if layout.size() > Block::MAX_SIZE {
                    return Err(AllocatorError::OutOfMemory);
                }
                match self.0.allocate(layout) {
                    Ok(slice) => Ok(block_from_slice(slice, layout)),
                    Err(_) => Err(AllocatorError::OutOfMemory),
                }
            }

            #[inline]
            fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                if layout.size() == 0 {
                    return Ok(Block::empty(layout));
                }
                if layout.size() > Block::MAX_SIZE {
                    return Err(AllocatorError::OutOfMemory);
                }
                match self.0.allocate_zeroed(layout) {
                    Ok(slice) => Ok(block_from_slice(slice, layout)),
                    Err(_) => Err(AllocatorError::OutOfMemory),
                }
            }

            #[inline]
            unsafe fn deallocate_raw(&self, block: Block) {
                if block.is_empty() {
                    return;
                }
                // SAFETY: a non-empty block given back fits a block currently allocated
                // by `A` (our caller's promise), which is `deallocate`'s precondition.
                unsafe { self.0.deallocate(block.ptr(), block.layout()) }
            }

            unsafe fn reallocate_raw(
                &self,
                block: Block,
                new_layout: Layout,
            ) -> Result<Block, AllocatorError> {
                if block.is_empty() {
                    return self.allocate_raw(new_layout);
                }
                if new_layout.size() == 0 {
                    // SAFETY: forwarded from the caller: `block` is currently ours.
                    unsafe { self.deallocate_raw(block) };
                    return Ok(Block::empty(new_layout));
                }
                if new_layout.size() > Block::MAX_SIZE {
                    return Err(AllocatorError::OutOfMemory);
                }
                let old = block.layout();
                let result = if new_layout.size() >= old.size() {
                    // SAFETY: `block` fits a block currently allocated by `A` (caller),
                    // and the new size is not smaller: `grow`'s preconditions.
                    unsafe { self.0.grow(block.ptr(), old, new_layout) }
                } else {
                    // SAFETY: as above, and the new size is smaller: `shrink`'s.
                    unsafe { self.0.shrink(block.ptr(), old, new_layout) }
                };
                match result {
                    Ok(slice) => Ok(block_from_slice(slice, new_layout)),
                    Err(_) => Err(AllocatorError::OutOfMemory),
                }
            }
        }
    };
}

from_api2!(
    FromApi02,
    "allocator-api2-02",
    api2_02,
    allocator_api2_02,
    "0.2"
);
from_api2!(
    FromApi03,
    "allocator-api2-03",
    api2_03,
    allocator_api2_03,
    "0.3"
);
from_api2!(
    FromApi04,
    "allocator-api2-04",
    api2_04,
    allocator_api2_04,
    "0.4"
);

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::Heap;

    /// A user-written allocator with no `allocator-api2` impl of its own.
    #[derive(Default)]
    struct Counting {
        live: core::cell::Cell<usize>,
    }

    // SAFETY: every block comes from `Heap` and goes back to it.
    unsafe impl Allocator for Counting {
        fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
            let block = Heap.allocate_raw(layout)?;
            self.live.set(self.live.get() + 1);
            Ok(block)
        }
        unsafe fn deallocate_raw(&self, block: Block) {
            self.live.set(self.live.get() - 1);
            // SAFETY: forwarded from the caller; the block came from `Heap`.
            unsafe { Heap.deallocate_raw(block) }
        }
    }

    #[cfg(feature = "allocator-api2-02")]
    #[test]
    fn api2_serves_02_collections_with_a_user_allocator() {
        let counting = Counting::default();
        {
            let mut v = allocator_api2_02::vec::Vec::new_in(Api2(&counting));
            v.extend(0u32..1000);
            assert_eq!(v.iter().sum::<u32>(), 499_500);
            assert_eq!(counting.live.get(), 1);
            let b = allocator_api2_02::boxed::Box::new_in([7u8; 40], Api2(&counting));
            assert_eq!(b[39], 7);
            assert_eq!(counting.live.get(), 2);
        }
        assert_eq!(counting.live.get(), 0, "every block came back");
    }

    #[cfg(feature = "allocator-api2-04")]
    #[test]
    fn api2_serves_04_collections_by_value() {
        let mut v = allocator_api2_04::vec::Vec::new_in(Api2(Counting::default()));
        v.extend(0u64..100);
        v.truncate(3);
        v.shrink_to_fit();
        assert_eq!(v.as_slice(), &[0, 1, 2]);
        assert_eq!(v.allocator().0.live.get(), 1);
    }

    #[cfg(feature = "allocator-api2-02")]
    #[test]
    fn from_api02_round_trips_blocks_and_zero_sizes() {
        let alloc = FromApi02(allocator_api2_02::alloc::Global);
        let zst = Layout::from_size_align(0, 64).unwrap();
        let empty = alloc.allocate_raw(zst).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.addr() % 64, 0);
        // SAFETY: an empty block; giving it back is a no-op.
        unsafe { alloc.deallocate_raw(empty) };

        let small = Layout::from_size_align(8, 8).unwrap();
        let block = alloc.allocate_raw(small).unwrap();
        assert!(block.size() >= 8);
        // SAFETY: the block is valid for 8 bytes.
        unsafe { block.as_ptr().copy_from(b"abcdefgh".as_ptr(), 8) };
        let big = Layout::from_size_align(4096, 16).unwrap();
        // SAFETY: `block` is currently allocated by `alloc`.
        let grown = unsafe { alloc.reallocate_raw(block, big) }.unwrap();
        assert_eq!((grown.align(), grown.addr() % 16), (16, 0));
        // SAFETY: `grown` is valid for at least 8 bytes, initialised by the move.
        let kept = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 8) };
        assert_eq!(kept, b"abcdefgh");
        // SAFETY: `grown` is currently allocated by `alloc`.
        let shrunk = unsafe { alloc.reallocate_raw(grown, Layout::new::<u16>()) }.unwrap();
        // SAFETY: `shrunk` is valid for 2 bytes, initialised by the shrink.
        let kept = unsafe { core::slice::from_raw_parts(shrunk.as_ptr(), 2) };
        assert_eq!(kept, b"ab");
        // SAFETY: `shrunk` is currently allocated; reallocating to zero frees it.
        let gone = unsafe { alloc.reallocate_raw(shrunk, zst) }.unwrap();
        assert!(gone.is_empty());
        // SAFETY: an empty block grows into a fresh allocation.
        let fresh = unsafe { alloc.reallocate_raw(gone, small) }.unwrap();
        assert!(!fresh.is_empty());
        // SAFETY: `fresh` is currently allocated by `alloc`.
        unsafe { alloc.deallocate_raw(fresh) };
    }

    #[cfg(feature = "allocator-api2-04")]
    #[test]
    fn from_api04_zeroes_and_reports_errors() {
        let alloc = FromApi04(allocator_api2_04::alloc::Global);
        let layout = Layout::from_size_align(256, 8).unwrap();
        let block = alloc.allocate_zeroed_raw(layout).unwrap();
        // SAFETY: the block is valid for 256 initialised (zeroed) bytes.
        let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), 256) };
        assert!(bytes.iter().all(|&b| b == 0));
        // SAFETY: `block` is currently allocated by `alloc`.
        unsafe { alloc.deallocate_raw(block) };

        /// An `allocator-api2` 0.4 allocator that always fails.
        struct Refuse;
        // SAFETY: never hands out a block.
        unsafe impl allocator_api2_04::alloc::Allocator for Refuse {
            fn allocate(
                &self,
                _: Layout,
            ) -> Result<NonNull<[u8]>, allocator_api2_04::alloc::AllocError> {
                Err(allocator_api2_04::alloc::AllocError)
            }
            unsafe fn deallocate(&self, _: NonNull<u8>, _: Layout) {
                unreachable!("no block was handed out");
            }
        }
        let refuse = FromApi04(Refuse);
        assert_eq!(
            refuse.allocate_raw(layout),
            Err(AllocatorError::OutOfMemory)
        );
        assert!(refuse.allocate_raw(Layout::new::<()>()).unwrap().is_empty());
    }

    #[cfg(all(
        feature = "testing",
        feature = "allocator-api2-02",
        feature = "allocator-api2-04"
    ))]
    #[test]
    fn wrappers_pass_the_conformance_kit() {
        use crate::testing::Conformance;
        let reports = [
            Conformance::new().check(|| FromApi02(allocator_api2_02::alloc::Global)),
            Conformance::new().check(|| FromApi04(allocator_api2_04::alloc::Global)),
            Conformance::new().check(|| Api2(Heap)),
            Conformance::new().check(|| Api2(FromApi02(allocator_api2_02::alloc::Global))),
        ];
        for report in reports {
            assert!(report.allocations > 0 && report.reallocations > 0 && report.deallocations > 0);
        }
    }
}
