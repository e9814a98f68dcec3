//! Sharing allocators across threads, and installing one as the `#[global_allocator]`.
//!
//! - [`Locked<A>`](Locked): makes any [`Allocator`](alloc_core::Allocator) `Sync` (and a
//!   [`BlockOwner`](alloc_core::BlockOwner) when `A` is) by running each operation under a
//!   lock: [`SpinLock`] by default, [`StdMutex`] with feature `std`, or any [`RawLock`].
//! - [`GlobalAllocator<A>`](GlobalAllocator): a `const`-constructible adapter that
//!   implements [`GlobalAlloc`](core::alloc::GlobalAlloc) for a thread-safe allocator,
//!   built in a `const` context or lazily on the first allocation; it never panics or
//!   unwinds across the boundary and returns null on failure.
//!
//! ```
//! use alloc_core::Allocator;
//! use alloc_global::Locked;
//! use std::alloc::System;
//!
//! // Any allocator, shared by threads (`System` is already `Sync`; a pool would not be).
//! let shared = Locked::new(System);
//! std::thread::scope(|s| {
//!     s.spawn(|| assert_eq!(*shared.allocate(1u8).unwrap(), 1));
//!     s.spawn(|| assert_eq!(*shared.allocate(2u8).unwrap(), 2));
//! });
//! ```
//!
//! The [`GlobalAllocator`] docs show a complete `#[global_allocator]`.
//!
//! # Design decisions
//!
//! ## No lock crate
//!
//! The issue suggested `lock_api` for `no_std`. A correct spin lock is an `AtomicBool`, a
//! compare-exchange with Acquire ordering, a Release store in a guard's `Drop`, and a
//! waiting loop: about forty lines ([`SpinLock`]), so by the workspace's rule (a
//! dependency only where it beats a few lines) there is none. The [`RawLock`] trait keeps
//! the door open: any lock, including a `lock_api` one, plugs in with a three-item impl.
//!
//! ## Which lock
//!
//! `Locked<A, L: RawLock = SpinLock>`: one type, generic over the lock, rather than two
//! types. The default is the spin lock, because an allocator's critical section is a few
//! instructions (a pop or a push), where a spin lock is cheapest uncontended and a waiter
//! gets the lock sooner than a sleeping one would; it works without `std` and never
//! allocates, which matters for a global allocator. [`StdMutex`] (feature `std`) sleeps
//! instead of spinning, which is the better choice when threads outnumber cores (a spinning
//! waiter can burn the time slice of a preempted holder; the spin lock yields after 64
//! spins to limit that) or when the inner allocator holds the lock for long (it calls the
//! system for a new chunk). Measured on the `global` benchmark (2 cores, criterion, same
//! run; see the crate's README section in the report for raw times):
//!
//! BENCH_TABLE
//!
//! ## Re-entrancy
//!
//! Neither lock is re-entrant, and an inner allocator that calls back into the same
//! `Locked` deadlocks. Debug builds with `std` detect it and panic with a message instead
//! (see [`Locked`'s docs](Locked#re-entrancy)); release builds skip the thread-local
//! access that the check costs.
//!
//! ## The global allocator
//!
//! [`GlobalAllocator`] stores either the allocator (for a `const` one) or a plain `fn`
//! pointer that builds it: a `static` needs a nameable type, which rules out closures
//! with captures, and most allocators need a parent allocation first, which a `const`
//! context cannot make. A four-state once-cell on one atomic (uninitialised, initialising,
//! ready, failed) runs it on the first allocation; it adds one Acquire load (a plain load
//! on x86) to each call. Panics cannot be caught without `std`, and unwinding out of
//! `GlobalAlloc` is undefined behaviour, so a panic inside is turned into an abort. See
//! [`GlobalAllocator`] for the full list of guarantees.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | [`StdMutex`]; yielding while spinning; detection of re-entrant calls (`Locked` in debug builds, `GlobalAllocator`'s initialiser always); abort via `std::process::abort` |
//! | `alloc` | via `std` | nothing yet (for symmetry with the other crates) |
//! | `allocator-api2-02` | no | `allocator-api2` 0.2 impls for `Locked` and `GlobalAllocator` |
//! | `allocator-api2-04` | no | `allocator-api2` 0.4 impls |
//!
//! Without features the crate is `#![no_std]` and needs no allocator.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod global;
mod lock;
mod locked;

pub use global::GlobalAllocator;
#[cfg(feature = "std")]
pub use lock::StdMutex;
pub use lock::{RawLock, SpinGuard, SpinLock};
pub use locked::Locked;

/// A number that identifies the calling thread while it runs: the address of a
/// thread-local byte (never 0 for a live thread; 0 if thread-locals are already gone).
///
/// The thread-local has a `const` initialiser and no destructor, so on every platform with
/// native thread-locals (Linux, macOS, Windows) reading it never allocates.
#[cfg(feature = "std")]
#[inline]
fn thread_marker() -> usize {
    std::thread_local! {
        static MARKER: u8 = const { 0 };
    }
    MARKER
        .try_with(|marker| core::ptr::from_ref(marker).addr())
        .unwrap_or(0)
}
