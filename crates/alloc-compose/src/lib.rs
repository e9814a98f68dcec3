//! Building blocks that snap allocators together.
//!
//! - [`Fallback<M, F>`](Fallback): tries `M`, then `F`. Only `M` must be a
//!   [`BlockOwner`] (blocks are routed back by its answer), so
//!   "a pool, spilling to the heap" is `pool.with_fallback(Heap)`. A block that outgrows
//!   `M` moves to `F` with its contents.
//! - [`Proxy<A, L>`](Proxy): reports every operation on `A` to a [`ProxyLogger`]. Ready
//!   loggers: [`NoLog`] (free), [`Counters`] / [`AtomicCounters`] (counts, bytes live,
//!   peak), `Trace` (collects or prints every [`Event`], feature `std`), [`FnLogger`].
//! - [`Null`]: fails everything and owns nothing: the end of a chain, and the reference
//!   implementation of the traits.
//! - [`Segregator<T, S, L>`](Segregator): requests of up to `T` bytes to `S`, larger ones
//!   to `L`, routed back by size (neither side needs to be a `BlockOwner`).
//! - [`Bucketizer<A, N>`](Bucketizer): `N` allocators for size classes (free lists of 16,
//!   32, 64 … bytes), O(1) class lookup: the small-object allocator.
//! - [`AllocatorList`]: chunked growth, one more instance from an [`AllocatorFactory`]
//!   whenever the current ones are full, empty ones given back (one spare kept).
//! - [`Guard`]: a debug layer: fences checked on free, fill patterns, double-free,
//!   foreign-block and leak detection, each named in its panic.
//! - [`Affix<A, P, S>`](Affix): a typed prefix `P` and suffix `S` stored with every block
//!   (a size header, a reference count, a tag), reached from the block in O(1).
//! - [`Quantizer<A, R>`](Quantizer): every request rounded up by a [`Rounding`]
//!   ([`PowerOfTwo`], [`SizeClassRounding`], [`Multiple`]) so that blocks grow in place;
//!   [`good_size`](Allocator::good_size) tells callers the size they really get.
//! - [`Bitmapped`]: fixed-size blocks tracked by one bit each, requests of one or
//!   several contiguous blocks, O(1) ownership and a fast
//!   [`deallocate_all`](Bitmapped::deallocate_all).
//! - [`Recycler<A>`](Recycler): keeps a few freed blocks (up to `N`, and a byte cap) and
//!   serves later requests of their size class from them: large blocks from an allocator
//!   whose fresh blocks are dear (`Pages`: a system call and a page fault per page) come
//!   back at the cost of a list lookup.
//! - [`Stats`]: a logger with counts, live and peak bytes and a histogram of request
//!   sizes, printable as a summary.
//! - [`AllocatorExt`]: `.with_fallback(f)`, `.proxy(logger)`, `.segregate::<T, _>(large)`
//!   and `.guarded()` on every allocator, so a chain reads left to right and its type can
//!   be written down:
//!   `FreeList::new(64, 128)?.with_fallback(Heap).proxy(Counters::new())` is a
//!   `Proxy<Fallback<FreeList, Heap>, Counters>`.
//!
//! Every composite is an [`Allocator`], and a `BlockOwner` when its
//! parts are, so chains nest to any depth. With the `allocator-api2-02` / `-04` features
//! they also implement `allocator-api2`'s `Allocator`, for `allocator_api2::vec::Vec`,
//! hashbrown and friends.
//!
//! # Examples
//!
//! ```
//! use alloc_compose::{AllocatorExt, Counters, Null};
//! use alloc_core::{Allocator, Heap};
//!
//! // `Null` stands in for a pool here; see `Fallback` for a complete pool example.
//! let alloc = Null.with_fallback(Heap).proxy(Counters::new());
//! let words = alloc.allocate_str("composable").unwrap();
//! let numbers = alloc.allocate_slice_with(4, |i| i * 10).unwrap();
//! assert_eq!((&*words, &*numbers), ("composable", &[0, 10, 20, 30][..]));
//! drop(words);
//!
//! let counts = alloc.logger().counts();
//! assert_eq!((counts.allocations, counts.deallocations), (2, 1));
//! assert_eq!(counts.bytes_live, 4 * size_of::<usize>());
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc`; the `Trace` logger |
//! | `alloc` | via `std` | `ProxyLogger` for `Box`, `Rc` and `Arc` of a logger |
//! | `allocator-api2-02` | yes | `allocator-api2` 0.2 impls for every allocator of the crate |
//! | `allocator-api2-03` | yes | `allocator-api2` 0.3 impls (talc 5, blink-alloc 0.4) |
//! | `allocator-api2-04` | yes | `allocator-api2` 0.4 impls |
//! | `nightly` | no | `core::alloc::Allocator` impls, for std's `Vec::new_in`, `Box::new_in`, `Rc`, `Arc` (nightly compiler only) |
//!
//! With no features (`default-features = false`) the crate is `#![no_std]` and needs no
//! allocator.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod affix;
mod bitmap;
mod bitmapped;
mod bucketizer;
mod ext;
mod fallback;
mod guard;
mod list;
mod loggers;
mod null;
mod proxy;
mod quantizer;
mod recycler;
mod segregator;
mod stats;

pub use affix::Affix;
pub use bitmapped::Bitmapped;
pub use bucketizer::Bucketizer;
pub use ext::AllocatorExt;
pub use fallback::Fallback;
pub use guard::Guard;
pub use list::{AllocatorFactory, AllocatorList};
#[cfg(feature = "std")]
pub use loggers::Trace;
pub use loggers::{AtomicCounters, Counters, Counts, FnLogger, NoLog};
pub use null::Null;
pub use proxy::{Event, Proxy, ProxyLogger};
pub use quantizer::{Multiple, PowerOfTwo, Quantizer, Rounding, SizeClassRounding};
pub use recycler::Recycler;
pub use segregator::Segregator;
pub use stats::{Stats, StatsSummary};

// The vocabulary of `alloc-core` (traits, block, errors, heap, the allocator-api2
// crates), so that this crate alone is enough: written once, in alloc-core.
alloc_core::__leaf_vocabulary!();

/// The traits, for `use alloc_compose::prelude::*`: [`AllocatorExt`] and [`ProxyLogger`] (this crate's), [`Allocator`] and [`BlockOwner`].
///
/// # Examples
///
/// ```
/// use alloc_compose::prelude::*;
/// use alloc_compose::{Counters, Heap, Null};
///
/// let alloc = Null.with_fallback(Heap).proxy(Counters::new());
/// let b = alloc.allocate(3u8).unwrap();
/// assert!(!alloc.inner().main().owns(&b));
/// ```
pub mod prelude {
    pub use crate::{AllocatorExt, ProxyLogger};
    pub use alloc_core::prelude::*;
}

/// The README's examples, run as doctests (the README is the package's page on the
/// registry).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
