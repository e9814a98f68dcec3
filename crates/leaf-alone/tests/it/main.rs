//! Each leaf alone, with its default features, under the allocator-api2 collections. Every
//! module uses one leaf and only the names that leaf exports; run one leaf alone with
//! `cargo test -p leaf-alone --no-default-features --features <leaf>`.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

#[cfg(feature = "alloc-compose")]
mod compose;
#[cfg(feature = "alloc-freelist")]
mod freelist;
#[cfg(feature = "alloc-global")]
mod global;
#[cfg(feature = "alloc-pages")]
mod pages;
#[cfg(feature = "alloc-scoped")]
mod scoped;
#[cfg(feature = "alloc-tlsf")]
mod tlsf;
