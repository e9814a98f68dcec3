//! Integration tests of alloc-compose: composites built from `Heap`, `Null` and two small
//! test allocators (`support`), nested, through the conformance kit and by hand.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod affix;
mod bitmapped;
#[cfg(all(feature = "allocator-api2-02", feature = "allocator-api2-04"))]
mod bridge;
mod bucketizer;
mod chain;
mod fallback;
mod guard;
mod list;
mod proxy;
mod quantizer;
mod recycler;
mod reentry;
mod segregator;
mod stats;
mod support;
