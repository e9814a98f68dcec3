//! The vocabulary every leaf re-exports, so that one leaf alone is enough: written once here,
//! expanded in each leaf (whose own features select the parts, as the leaves' features have
//! the same names as alloc-core's).

/// Re-exports, at the root of the crate that invokes it, the vocabulary of `alloc-core`:
/// the traits, the types their methods take and return, the heap (feature `alloc`), and
/// the allocator-api2 crates (with their collections) whose traits the leaf's allocators
/// implement (features `allocator-api2-0x`). Each workspace leaf invokes it once; the
/// features are the invoking crate's.
#[doc(hidden)]
#[macro_export]
macro_rules! __leaf_vocabulary {
    () => {
        #[cfg(feature = "alloc")]
        #[doc(no_inline)]
        pub use $crate::Heap;
        #[cfg(feature = "allocator-api2-02")]
        #[doc(no_inline)]
        pub use $crate::api2_02;
        #[cfg(feature = "allocator-api2-03")]
        #[doc(no_inline)]
        pub use $crate::api2_03;
        #[cfg(feature = "allocator-api2-04")]
        #[doc(no_inline)]
        pub use $crate::api2_04;
        #[doc(no_inline)]
        pub use $crate::{AllocBox, Allocator, AllocatorError, Block, BlockOwner, InitError};
    };
}
