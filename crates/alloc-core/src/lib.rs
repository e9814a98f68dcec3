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
//!   `HashMap` can use it on stable Rust.
//! - `Api2` (features `allocator-api2-02`/`-04`): wraps any `Allocator`, including one you
//!   write, so allocator-api2 collections accept it; `FromApi02` / `FromApi04`: the
//!   reverse, any allocator-api2 allocator (bumpalo's `&Bump`, say) as an `Allocator`, so it
//!   can be the parent of ours.
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
//! | `allocator-api2-02` | no | `allocator-api2` 0.2 impls (the version hashbrown and bumpalo use), `Api2`, `FromApi02` |
//! | `allocator-api2-04` | no | `allocator-api2` 0.4 impls, `Api2`, `FromApi04` |
//!
//! With no features the crate is `#![no_std]`, needs no allocator, and depends on nothing.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod allocator;
mod block;
mod boxed;
mod bridge;
#[cfg(any(feature = "allocator-api2-02", feature = "allocator-api2-04"))]
mod compat;
mod error;
mod global_alloc;
#[cfg(feature = "alloc")]
mod heap;
mod lock;
#[cfg(feature = "testing")]
pub mod testing;

pub use allocator::{Allocator, BlockOwner, move_block};
pub use block::Block;
pub use boxed::AllocBox;
#[doc(hidden)]
pub use bridge::__private;
#[cfg(any(feature = "allocator-api2-02", feature = "allocator-api2-04"))]
pub use compat::Api2;
#[cfg(feature = "allocator-api2-02")]
pub use compat::FromApi02;
#[cfg(feature = "allocator-api2-04")]
pub use compat::FromApi04;
pub use error::{AllocatorError, InitError};
pub use global_alloc::FromGlobalAlloc;
#[cfg(feature = "alloc")]
pub use heap::Heap;
pub use lock::{RawLock, SpinGuard, SpinLock};

#[cfg(feature = "alloc")]
impl_allocator_api2!(Heap);
