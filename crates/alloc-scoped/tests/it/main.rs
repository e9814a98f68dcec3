//! Integration tests of alloc-scoped: the example, scopes (nesting, busy parents,
//! panics), frees and reallocation, bad input, the conformance kit inside and outside
//! scopes, the allocator-api2 bridge, and the auto traits.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

#[cfg(any(feature = "allocator-api2-02", feature = "allocator-api2-04"))]
mod api2;
mod bad_input;
mod conformance;
mod example;
mod frees;
mod growing;
mod scopes;
mod shared;
mod traits;
