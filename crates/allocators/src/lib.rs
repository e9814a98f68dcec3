//! `allocators`: composable memory allocators, one dependency.
//!
//! This facade re-exports every crate of the workspace. For now it holds the core traits
//! (from `alloc-core`); the leaf allocators join as their crates land.
//!
//! ```
//! use allocators::{Allocator, Heap};
//!
//! let b = Heap.allocate([1u8, 2, 3]).unwrap();
//! assert_eq!(b.len(), 3);
//! ```
#![no_std]

#[doc(inline)]
pub use alloc_core::*;

/// The traits, for `use allocators::prelude::*`.
pub mod prelude {
    pub use alloc_core::{Allocator, BlockOwner};
}

#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
