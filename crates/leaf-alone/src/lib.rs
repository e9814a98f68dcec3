//! A test crate, not published: each leaf of the workspace (`alloc-scoped`,
//! `alloc-freelist`, `alloc-compose`, `alloc-global`, `alloc-tlsf`, `alloc-pages`) is enough
//! alone. Its dependencies are
//! the leaves, each with its default features, and nothing else: no `alloc-core`, no
//! `allocator-api2`. The tests use only what a leaf re-exports (the traits, `Heap`,
//! `AllocatorError`, a `prelude`, the allocator-api2 crates) to put its allocators under
//! allocator-api2 `Vec`s and `Box`es of every version.
//!
//! Each leaf is an optional dependency with a feature of its own name, so one leaf can be
//! tested with nothing else in the graph:
//! `cargo test -p leaf-alone --no-default-features --features alloc-freelist`, and
//! `cargo tree -p leaf-alone --no-default-features --features alloc-freelist -e normal`
//! shows `alloc-freelist`, `alloc-core` and the three `allocator-api2` versions only.
//!
//! ```
//! # #[cfg(feature = "alloc-freelist")] {
//! use alloc_freelist::{api2_02::vec::Vec, FreeList};
//!
//! let pool = FreeList::new(1024, 64).unwrap();
//! let mut v: Vec<u64, FreeList> = Vec::new_in(pool); // by value: the Vec owns its pool
//! v.extend(0..100);
//! assert_eq!(v.iter().sum::<u64>(), 4950);
//! # }
//! ```
#![no_std]
