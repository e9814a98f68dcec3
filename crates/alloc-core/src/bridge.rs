//! The bridge to the `allocator-api2` crate's `Allocator` traits and, on nightly, to
//! `core::alloc::Allocator`: [`impl_allocator_api2!`].
//!
//! The orphan rule forbids a blanket `impl<T: alloc_core::Allocator> allocator_api2::Allocator
//! for T`, so each allocator type gets its own impl, written once here as a macro and
//! invoked by each crate for its own types, behind its `allocator-api2-02` /
//! `allocator-api2-03` / `allocator-api2-04` / `nightly` features.

/// Implements the `allocator-api2` `Allocator` trait (versions 0.2, 0.3 and 0.4, each
/// behind the invoking crate's feature of the same name) and, with the invoking crate's
/// `nightly` feature, the standard library's own `core::alloc::Allocator`, for a type that
/// implements [`alloc_core::Allocator`](crate::Allocator), by forwarding every method.
///
/// The invoking crate must have features named `allocator-api2-02`, `allocator-api2-03`,
/// `allocator-api2-04` and `nightly` that enable the same features of `alloc-core`, and,
/// for `nightly`, the crate attribute
/// `#![cfg_attr(feature = "nightly", feature(allocator_api))]` (the trait is unstable; the
/// `nightly` arm needs a nightly compiler). Generic types list their parameters in
/// brackets:
///
/// ```text
/// alloc_core::impl_allocator_api2!(MyAllocator);
/// alloc_core::impl_allocator_api2!(impl[M, F] for Fallback<M, F> where [M: BlockOwner, F: Allocator]);
/// ```
///
/// Behaviour is identical on every version and on `core`'s trait, at the `Layout` level
/// (one body, generated for each): `allocate` returns the block as a slice (its full
/// usable size), `deallocate` rebuilds the block from the pointer and layout (which must
/// fit, as every one of these contracts says), `grow` and `shrink` call
/// [`reallocate_raw`](crate::Allocator::reallocate_raw), and the zeroed variants zero the
/// new bytes. Errors become `AllocError`.
///
/// # Examples
///
/// An allocator of your own under an allocator-api2 `Vec`. The impls exist where the
/// invoking crate's features are on (here the doctest takes `alloc-core`'s, so the `Vec`
/// part runs with `--features allocator-api2-02`):
///
/// ```
/// #![cfg_attr(feature = "nightly", feature(allocator_api))] // as said above
/// use alloc_core::{Allocator, AllocatorError, Block, Heap};
/// use core::alloc::Layout;
///
/// /// The heap, refusing requests over 1 KiB.
/// struct Small;
///
/// // SAFETY: every block comes from `Heap` and goes back to it.
/// unsafe impl Allocator for Small {
///     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
///         if layout.size() > 1024 {
///             return Err(AllocatorError::TooLarge);
///         }
///         Heap.allocate_raw(layout)
///     }
///     unsafe fn deallocate_raw(&self, block: Block) {
///         // SAFETY: allocated by `Heap` above (the caller's contract).
///         unsafe { Heap.deallocate_raw(block) }
///     }
/// }
///
/// alloc_core::impl_allocator_api2!(Small);
///
/// #[cfg(feature = "allocator-api2-02")]
/// {
///     use allocator_api2_02::vec::Vec;
///     let mut v: Vec<u64, Small> = Vec::new_in(Small);
///     v.extend(0..100);
///     assert_eq!(v.iter().sum::<u64>(), 4950);
///     assert!(v.try_reserve(1000).is_err()); // 8 KiB: refused, an error, not a crash
/// }
/// ```
#[macro_export]
macro_rules! impl_allocator_api2 {
    (impl [$($gen:tt)*] for $ty:ty $(where [$($bound:tt)*])?) => {
        #[cfg(feature = "allocator-api2-02")]
        $crate::__impl_allocator_api2_version!(api2_02; [$($gen)*] $ty; [$($($bound)*)?]);
        #[cfg(feature = "allocator-api2-03")]
        $crate::__impl_allocator_api2_version!(api2_03; [$($gen)*] $ty; [$($($bound)*)?]);
        #[cfg(feature = "allocator-api2-04")]
        $crate::__impl_allocator_api2_version!(api2_04; [$($gen)*] $ty; [$($($bound)*)?]);
        #[cfg(feature = "nightly")]
        $crate::__impl_allocator_api2_version!(nightly; [$($gen)*] $ty; [$($($bound)*)?]);
    };
    ($ty:ty) => {
        $crate::impl_allocator_api2!(impl [] for $ty);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __impl_allocator_api2_version {
    ($api:ident; [$($gen:tt)*] $ty:ty; [$($bound:tt)*]) => {
        // SAFETY: `alloc_core::Allocator`'s contract (valid, aligned, disjoint blocks that
        // stay valid when the allocator is moved or cloned; "fits" defined as here) is
        // allocator-api2's contract and `core::alloc::Allocator`'s (they are the same
        // text), and every method forwards to it: the pointer and
        // layout given back fit the block that was handed out, as `deallocate_raw` and
        // `reallocate_raw` require.
        unsafe impl<$($gen)*> $crate::__private::$api::Allocator for $ty
        where
            $ty: $crate::Allocator,
            $($bound)*
        {
            #[inline]
            fn allocate(
                &self,
                layout: $crate::__private::Layout,
            ) -> ::core::result::Result<
                ::core::ptr::NonNull<[u8]>,
                $crate::__private::$api::AllocError,
            > {
                match $crate::Allocator::allocate_raw(self, layout) {
                    ::core::result::Result::Ok(block) => ::core::result::Result::Ok(block.as_slice_ptr()),
                    ::core::result::Result::Err(_) => {
                        ::core::result::Result::Err($crate::__private::$api::AllocError)
                    }
                }
            }

            #[inline]
            fn allocate_zeroed(
                &self,
                layout: $crate::__private::Layout,
            ) -> ::core::result::Result<
                ::core::ptr::NonNull<[u8]>,
                $crate::__private::$api::AllocError,
            > {
                match $crate::Allocator::allocate_zeroed_raw(self, layout) {
                    ::core::result::Result::Ok(block) => ::core::result::Result::Ok(block.as_slice_ptr()),
                    ::core::result::Result::Err(_) => {
                        ::core::result::Result::Err($crate::__private::$api::AllocError)
                    }
                }
            }

            #[inline]
            unsafe fn deallocate(
                &self,
                ptr: ::core::ptr::NonNull<u8>,
                layout: $crate::__private::Layout,
            ) {
                // SAFETY: the caller gives back memory currently allocated by `self` with a
                // layout that fits it: exactly `deallocate_raw`'s precondition.
                unsafe {
                    $crate::Allocator::deallocate_raw(self, $crate::Block::from_raw_parts(ptr, layout))
                }
            }

            #[inline]
            unsafe fn grow(
                &self,
                ptr: ::core::ptr::NonNull<u8>,
                old_layout: $crate::__private::Layout,
                new_layout: $crate::__private::Layout,
            ) -> ::core::result::Result<
                ::core::ptr::NonNull<[u8]>,
                $crate::__private::$api::AllocError,
            > {
                // SAFETY: the caller gives a block currently allocated by `self` that
                // `old_layout` fits: `reallocate_raw`'s precondition.
                unsafe { $crate::__private::reallocate_slice(self, ptr, old_layout, new_layout, false) }
                    .map_err(|_| $crate::__private::$api::AllocError)
            }

            #[inline]
            unsafe fn grow_zeroed(
                &self,
                ptr: ::core::ptr::NonNull<u8>,
                old_layout: $crate::__private::Layout,
                new_layout: $crate::__private::Layout,
            ) -> ::core::result::Result<
                ::core::ptr::NonNull<[u8]>,
                $crate::__private::$api::AllocError,
            > {
                // SAFETY: as for `grow`.
                unsafe { $crate::__private::reallocate_slice(self, ptr, old_layout, new_layout, true) }
                    .map_err(|_| $crate::__private::$api::AllocError)
            }

            #[inline]
            unsafe fn shrink(
                &self,
                ptr: ::core::ptr::NonNull<u8>,
                old_layout: $crate::__private::Layout,
                new_layout: $crate::__private::Layout,
            ) -> ::core::result::Result<
                ::core::ptr::NonNull<[u8]>,
                $crate::__private::$api::AllocError,
            > {
                // SAFETY: as for `grow`.
                unsafe { $crate::__private::reallocate_slice(self, ptr, old_layout, new_layout, false) }
                    .map_err(|_| $crate::__private::$api::AllocError)
            }
        }
    };
}

/// Items the exported macros name through `$crate`; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use core::alloc::Layout;

    use crate::{Allocator, AllocatorError, Block};
    use core::ptr::NonNull;

    #[cfg(feature = "allocator-api2-02")]
    pub mod api2_02 {
        pub use allocator_api2_02::alloc::{AllocError, Allocator};
    }
    #[cfg(feature = "allocator-api2-03")]
    pub mod api2_03 {
        pub use allocator_api2_03::alloc::{AllocError, Allocator};
    }
    #[cfg(feature = "allocator-api2-04")]
    pub mod api2_04 {
        pub use allocator_api2_04::alloc::{AllocError, Allocator};
    }
    /// The standard library's own trait (nightly, `feature(allocator_api)`).
    #[cfg(feature = "nightly")]
    pub mod nightly {
        pub use core::alloc::{AllocError, Allocator};
    }

    /// `grow`/`shrink` for the bridge: reallocates and, when `zero_new` is set, zeroes
    /// every byte past the old size.
    ///
    /// # Safety
    ///
    /// `ptr` with `old_layout` fits a block currently allocated by `alloc`.
    ///
    /// # Errors
    ///
    /// As [`Allocator::reallocate_raw`].
    #[inline]
    pub unsafe fn reallocate_slice<A: Allocator + ?Sized>(
        alloc: &A,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
        zero_new: bool,
    ) -> Result<NonNull<[u8]>, AllocatorError> {
        let old = Block::from_raw_parts(ptr, old_layout);
        // SAFETY: forwarded from the caller.
        let new = unsafe { alloc.reallocate_raw(old, new_layout) }?;
        if zero_new && new.size() > old_layout.size() {
            // SAFETY: `new` is valid for writes of `new.size()` bytes.
            unsafe {
                new.as_ptr()
                    .add(old_layout.size())
                    .write_bytes(0, new.size() - old_layout.size());
            }
        }
        Ok(new.as_slice_ptr())
    }
}
