//! The traits every allocator of the `allocators` toolkit implements.
//!
//! - [`Allocator`]: implement [`allocate_raw`](Allocator::allocate_raw) and
//!   [`deallocate_raw`](Allocator::deallocate_raw), get reallocation, typed boxes
//!   ([`allocate`](Allocator::allocate), [`allocate_with`](Allocator::allocate_with)),
//!   slices and strings for free. The trait documents [the contract](Allocator#the-contract)
//!   once; every method links to it.
//! - [`BlockOwner`]: an allocator that can tell whether a [`Block`] is its own, which is
//!   how composites route blocks back.
//! - [`Block`]: pointer, size and alignment of one allocation.
//! - [`AllocBox`]: a value owned in an allocator, freed on drop.
//! - [`AllocatorError`]: why a request failed; one byte, never allocates. [`InitError`]: why
//!   a constructor or initialiser failed, with a message.
//! - [`Heap`] (feature `alloc`): the global heap as an `Allocator`; [`FromGlobalAlloc`]:
//!   any `GlobalAlloc` (mimalloc's, your `#[global_allocator]`) as one.
//! - [`impl_allocator_api2!`]: the one macro that bridges an allocator to the
//!   `allocator-api2` crate's traits, so `allocator_api2::vec::Vec` and hashbrown's
//!   `HashMap` can use it on stable Rust, and (feature `nightly`) to the standard
//!   library's `core::alloc::Allocator`, for std's `Vec::new_in`, `Box::new_in`, `Rc`,
//!   `Arc`.
//! - `Api2` (features `allocator-api2-02`/`-03`/`-04`): wraps any `Allocator`, including
//!   one you write, so allocator-api2 collections accept it; `FromApi02` / `FromApi03` /
//!   `FromApi04`: the reverse, any allocator-api2 allocator (bumpalo's `&Bump`, say) as an
//!   `Allocator`, so it can be the parent of ours.
//! - `api2_02` / `api2_03` / `api2_04`: the allocator-api2 crates themselves, re-exported
//!   with their features, so a crate using one of ours needs no version juggling.
//! - [`prelude`]: the two traits, for `use alloc_core::prelude::*`.
//! - [`RawLock`] and [`SpinLock`]: the lock of allocators shared by threads, written once
//!   for the workspace (`SyncFreeList` and alloc-global's `Locked` use it; with `std`,
//!   waiters yield after a short spin).
//!
//! ```
//! use alloc_core::{Allocator, Heap};
//!
//! let greeting = Heap.allocate_str("hello").unwrap();
//! let answer = Heap.allocate_with(|| 6 * 7).unwrap();
//! assert_eq!((&*greeting, *answer), ("hello", 42));
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc`; [`SpinLock`] waiters yield to the OS after a short spin |
//! | `alloc` | via `std` | [`Heap`], and the traits for `Box<A>` |
//! | `testing` | no | `alloc_core::testing`, the conformance kit (property tests, on quickcheck) |
//! | `allocator-api2-02` | no | `allocator-api2` 0.2 impls (the version hashbrown and bumpalo use), `Api2`, `FromApi02`, `api2_02` |
//! | `allocator-api2-03` | no | `allocator-api2` 0.3 impls (talc 5, blink-alloc 0.4), `Api2`, `FromApi03`, `api2_03` |
//! | `allocator-api2-04` | no | `allocator-api2` 0.4 impls, `Api2`, `FromApi04`, `api2_04` |
//! | `nightly` | no | `core::alloc::Allocator` impls (nightly compiler only): std's `Vec::new_in(&alloc)` |
//!
//! The allocator crates (`alloc-scoped`, `alloc-freelist`, `alloc-compose`,
//! `alloc-global`) turn on the three `allocator-api2` features by default; this crate,
//! the vocabulary they share, does not.
//!
//! With no features the crate is `#![no_std]`, needs no allocator, and depends on nothing.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod allocator;
mod block;
mod boxed;
mod bridge;
#[cfg(any(
    feature = "allocator-api2-02",
    feature = "allocator-api2-03",
    feature = "allocator-api2-04"
))]
mod compat;
mod error;
mod global_alloc;
#[cfg(feature = "alloc")]
mod heap;
mod lock;
#[cfg(feature = "testing")]
pub mod testing;
mod vocabulary;

pub use allocator::{Allocator, BlockOwner, move_block};
pub use block::Block;
pub use boxed::AllocBox;
#[doc(hidden)]
pub use bridge::__private;
#[cfg(any(
    feature = "allocator-api2-02",
    feature = "allocator-api2-03",
    feature = "allocator-api2-04"
))]
pub use compat::Api2;
#[cfg(feature = "allocator-api2-02")]
pub use compat::FromApi02;
#[cfg(feature = "allocator-api2-03")]
pub use compat::FromApi03;
#[cfg(feature = "allocator-api2-04")]
pub use compat::FromApi04;
pub use error::{AllocatorError, InitError};
pub use global_alloc::FromGlobalAlloc;
#[cfg(feature = "alloc")]
pub use heap::Heap;
pub use lock::{RawLock, SpinGuard, SpinLock};

#[cfg(feature = "alloc")]
impl_allocator_api2!(Heap);

/// The `allocator-api2` crate, version 0.2 (what hashbrown 0.17 and bumpalo 3 use): its
/// `vec::Vec`, `boxed::Box` (with feature `alloc`) and `alloc::Allocator`, with no version
/// juggling in your `Cargo.toml`. Every allocator of the toolkit implements its
/// `Allocator` trait.
///
/// # Examples
///
/// ```
/// use alloc_core::{api2_02::vec::Vec, Heap};
///
/// let mut v: Vec<u8, Heap> = Vec::new_in(Heap);
/// v.push(1);
/// assert_eq!(v.len(), 1);
/// ```
#[cfg(feature = "allocator-api2-02")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator-api2-02")))]
#[doc(no_inline)]
pub use allocator_api2_02 as api2_02;

/// The `allocator-api2` crate, version 0.3 (what talc 5 and blink-alloc 0.4 use): every
/// allocator of the toolkit implements its `Allocator` trait too.
///
/// # Examples
///
/// ```
/// use alloc_core::{api2_03::boxed::Box, Heap};
///
/// let b = Box::new_in([7u32; 4], Heap);
/// assert_eq!(b[3], 7);
/// ```
#[cfg(feature = "allocator-api2-03")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator-api2-03")))]
#[doc(no_inline)]
pub use allocator_api2_03 as api2_03;

/// The `allocator-api2` crate, version 0.4, the newest: every allocator of the toolkit
/// implements its `Allocator` trait too.
///
/// # Examples
///
/// ```
/// use alloc_core::{api2_04::vec::Vec, Heap};
///
/// let mut v: Vec<u16, Heap> = Vec::new_in(Heap);
/// v.extend([1, 2, 3]);
/// assert_eq!(v.iter().sum::<u16>(), 6);
/// ```
#[cfg(feature = "allocator-api2-04")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator-api2-04")))]
#[doc(no_inline)]
pub use allocator_api2_04 as api2_04;

/// The traits, for `use alloc_core::prelude::*`: [`Allocator`] (allocate, typed boxes)
/// and [`BlockOwner`] (whose block is it). Every allocator crate of the toolkit has a
/// `prelude` that includes this one.
///
/// # Examples
///
/// ```
/// use alloc_core::prelude::*;
/// use alloc_core::Heap;
///
/// let b = Heap.allocate(3u8).unwrap();
/// assert_eq!(*b, 3);
/// ```
pub mod prelude {
    pub use crate::{Allocator, BlockOwner};
}

/// The README's examples, run as doctests (the README is the package's page on the
/// registry).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
