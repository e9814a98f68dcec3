//! [`Tlsf`]: a coalescing general-purpose heap with O(1) allocation and deallocation
//! (two-level segregated fit, Masmano et al. 2004), over any memory: a parent allocator's
//! blocks, a static buffer, regions added later.
//!
//! Free blocks sit on one of `32 × 16` lists by size (a first level per power of two, 16
//! second-level steps within it); two bitmaps find the first non-empty list that fits in
//! a few instructions. A block is split on allocation, merged with its free physical
//! neighbours on deallocation, and grown in place into a free next neighbour (or moved
//! down into a free previous one) on reallocation. Every block has a two-word header (its
//! physical predecessor and its size); the smallest block is four words.
//!
//! It is the heap of `no_std` programs, embedded targets and WASM, as talc and rlsf are:
//! `#[global_allocator]` through `alloc-global`'s `Locked` and `GlobalAllocator`.
//!
//! # Examples
//!
//! ```
//! use alloc_tlsf::Tlsf;
//! use alloc_core::{Allocator, Heap};
//!
//! // A heap of 1 MiB chunks taken from `Heap` as needed, given back on drop.
//! let heap = Tlsf::new_in(Heap, 1 << 20).unwrap();
//! let words = heap.allocate_str("coalescing").unwrap();
//! let numbers = heap.allocate_slice_with(1000, |i| i as u32).unwrap();
//! assert_eq!((&*words, numbers[999]), ("coalescing", 999));
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc` |
//! | `alloc` | via `std` | `Heap` re-exported |
//! | `allocator-api2-02` / `-03` / `-04` | yes | the `allocator-api2` traits for `Tlsf` |
//! | `nightly` | no | `core::alloc::Allocator` for `Tlsf` (nightly compiler only) |
//!
//! With no features the crate is `#![no_std]` and needs no allocator.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

mod control;
mod mapping;
mod tlsf;

pub use tlsf::{NoParent, Tlsf};

// The vocabulary of `alloc-core` (traits, block, errors, heap, the allocator-api2
// crates), so that this crate alone is enough: written once, in alloc-core.
alloc_core::__leaf_vocabulary!();

/// The traits, for `use alloc_tlsf::prelude::*`: [`Allocator`] and [`BlockOwner`].
///
/// # Examples
///
/// ```
/// use alloc_tlsf::prelude::*;
/// use alloc_tlsf::{Heap, Tlsf};
///
/// let heap = Tlsf::new_in(Heap, 4096).unwrap();
/// let b = heap.allocate(3u8).unwrap();
/// assert!(heap.owns(&b));
/// ```
pub mod prelude {
    pub use alloc_core::prelude::*;
}

/// The README's examples, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
