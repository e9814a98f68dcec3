//! Integration tests of alloc-core: the conformance kit on `Heap`, the kit catching
//! broken allocators, `AllocBox` behaviour, and the allocator-api2 bridge.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod allocbox;
mod batch;
mod block;
mod bridge;
mod conformance;
