//! Integration tests of the facade: the examples and collections on our
//! allocators (both allocator-api2 versions), compositions across the leaf crates (which
//! the leaves cannot test, since no leaf depends on another), the compat wrappers, and the
//! re-exports.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]
// std's collections with an allocator parameter are unstable (nightly, `nightly` feature).
#![cfg_attr(feature = "nightly", feature(allocator_api))]

mod collections;
mod compat;
mod composition;
#[cfg(feature = "nightly")]
mod nightly;
#[cfg(all(feature = "pages", any(unix, windows)))]
mod pages;
mod reexports;

use allocators::testing::Conformance;

/// The conformance driver: `n` sequences; under Miri 16 shorter ones (the facade runs
/// the kit on many compositions, so the kit's own Miri default of 20 would be slow).
pub(crate) fn kit(n: u64) -> Conformance {
    if cfg!(miri) {
        Conformance::new().tests(16).max_ops(60)
    } else {
        Conformance::new().tests(n)
    }
}

/// An allocator-api2 0.2 `Vec` on `alloc`.
pub(crate) fn api2_vec<T, A: allocators::api2_02::alloc::Allocator>(
    alloc: A,
) -> allocators::api2_02::vec::Vec<T, A> {
    allocators::api2_02::vec::Vec::new_in(alloc)
}
