//! Integration tests of alloc-freelist: the example, bad input, behaviour
//! (reallocation, ownership, moves, parents), the conformance kit, collections through
//! allocator-api2, and `SyncFreeList` under real threads.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod bad_input;
mod behaviour;
#[cfg(feature = "allocator-api2-02")]
mod collections;
mod conformance;
mod example;
mod threads;
