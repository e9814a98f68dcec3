//! Integration tests of alloc-global: `Locked` through the conformance kit and under real
//! threads, the `GlobalAllocator` adapter through explicit `GlobalAlloc` calls (the
//! `#[global_allocator]` itself is tested by the separate `global` binary), the auto-trait
//! bounds, and the allocator-api2 bridge.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod bounds;
#[cfg(all(feature = "allocator-api2-02", feature = "allocator-api2-04"))]
mod bridge;
mod cache;
mod classes;
mod classes_threads;
mod global;
mod locked;
#[path = "../support/pool.rs"]
mod pool;
mod reentry;
#[cfg(target_has_atomic = "64")]
mod shared;
mod threads;
