//! Sharing allocators across threads, and installing one as the `#[global_allocator]`.
//!
//! - [`Locked<A>`](Locked): makes any [`Allocator`] `Sync` (and a
//!   [`BlockOwner`] when `A` is) by running each operation under a
//!   lock: [`SpinLock`] by default, [`StdMutex`] with feature `std`, or any [`RawLock`].
//! - [`ThreadCache<A>`](ThreadCache) (feature `std`): per-thread caches of free blocks in
//!   front of any allocator; allocation and free touch only the calling thread's cache
//!   (no lock, no atomic read-modify-write), batches move through a shared depot.
//! - [`GeneralPurpose`] (feature `std`): the ready composition, thread caches over
//!   [`SizeClasses`] (growable, chunks given back when empty), `System` for large blocks; `const fn new`, so
//!   `GlobalAllocator::new(GeneralPurpose::new())` is a whole `#[global_allocator]`.
//! - [`GlobalAllocator<A>`](GlobalAllocator): a `const`-constructible adapter that
//!   implements [`GlobalAlloc`](core::alloc::GlobalAlloc) for a thread-safe allocator,
//!   built in a `const` context or lazily on the first allocation; it never panics or
//!   unwinds across the boundary and returns null on failure.
//! - [`SharedFreeList`]: a lock-free pool of fixed-size blocks (a tagged Treiber stack over
//!   a side table of atomic links), in place of `SyncFreeList`'s spin lock where threads
//!   share one pool; tested under `loom`. On targets with 64-bit atomics.
//! - [`SizeClasses`]: growable, thread-safe size classes (8 B to 4 KiB) over 16 and 64 KiB
//!   chunks from a parent, given back when empty; the owner chunk of a block found in O(1);
//!   batch operations for per-thread caches; never a silent spill to another allocator.
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
//! waiting loop: about forty lines ([`SpinLock`], in alloc-core, which `SyncFreeList` uses
//! too), so by the workspace's rule (a dependency only where it beats a few lines) there is
//! none. The [`RawLock`] trait keeps the door open: any lock, including a `lock_api` one,
//! plugs in with a three-item impl.
//!
//! ## Which lock
//!
//! `Locked<A, L: RawLock = SpinLock>`: one type, generic over the lock, rather than two
//! types. The default is the spin lock, because an allocator's critical section is a few
//! instructions (a pop or a push): uncontended, the spin lock costs one atomic
//! read-modify-write (the unlock is a plain Release store) where `std::sync::Mutex` costs
//! two (its unlock is a swap) plus a poison check, and under contention a spinning waiter
//! gets the lock sooner than a sleeping one is woken. It also works without `std` and never
//! allocates, which matters for a global allocator. [`StdMutex`] (feature `std`) is offered
//! for programs where waiting threads must not burn CPU: inner allocators that hold the
//! lock for long (they call the system for a chunk, or copy large blocks when reallocating),
//! power- or latency-sensitive programs with many more threads than cores. The spin lock
//! limits that waste by yielding after 64 spins.
//!
//! Measured with the `global` benchmark of `allocators-benches` (criterion, same run; a
//! 2-core VM shared with other jobs, load average 4 to 10, so only large ratios are
//! meaningful). `Pool` is a single-threaded size-class pool, sizes 8 to 256 bytes with one
//! request in eight up to 1 KiB:
//!
//! | workload (1,000 requests) | spin lock | `StdMutex` | ratio mutex / spin |
//! |---|---|---|---|
//! | 1 thread, alloc+free pairs, `Locked<Pool>` (bare `Pool`: 13.7–14.6 µs) | 31.9–40.8 µs | 43.6–55.8 µs | 1.37 |
//! | 2 threads, pairs, one shared `Locked<Pool>` | 73–107 µs | 113–143 µs | 1.06–1.95 |
//! | 8 threads on 2 cores, pairs | 287 µs | 393 µs | 1.37 |
//!
//! In isolation one lock+unlock took 8.5–13.8 ns with the spin lock and 20.7–27.5 ns with
//! `StdMutex` on that machine (atomic read-modify-writes are slow there: a `System`
//! malloc+free pair, which needs none, took 10–14 ns). So `Locked` costs about two
//! uncontended atomics per allocate+free pair: 2.1–2.9× a bare `System` pair, 2.3–2.8× a
//! bare `Pool` pair. That is the price of sharing a single-threaded allocator; allocators
//! built for threads (`SyncFreeList`, per-thread caches) avoid it.
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
//! on x86) and a branch to each call: `GlobalAllocator<System>` against `System` measured
//! 0.84–1.53× in interleaved runs on the loaded machine above, that is, lost in the noise. Panics cannot be caught without `std`, and unwinding out of
//! `GlobalAlloc` is undefined behaviour, so a panic inside is turned into an abort. See
//! [`GlobalAllocator`] for the full list of guarantees.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | [`ThreadCache`], [`GeneralPurpose`]; [`StdMutex`]; yielding while spinning; detection of re-entrant calls (`Locked` in debug builds, `GlobalAllocator`'s initialiser always); abort via `std::process::abort` |
//! | `alloc` | via `std` | nothing yet (for symmetry with the other crates) |
//! | `allocator-api2-02` | yes | `allocator-api2` 0.2 impls for `Locked` and `GlobalAllocator` |
//! | `allocator-api2-03` | yes | `allocator-api2` 0.3 impls (talc 5, blink-alloc 0.4) |
//! | `allocator-api2-04` | yes | `allocator-api2` 0.4 impls |
//! | `nightly` | no | `core::alloc::Allocator` impls, for std's `Vec::new_in`, `Box::new_in`, `Rc`, `Arc` (nightly compiler only) |
//!
//! Without features (`default-features = false`) the crate is `#![no_std]` and needs no allocator.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(any(test, feature = "std"))]
extern crate std;

#[cfg(feature = "std")]
mod cache;
mod classes;
#[cfg(feature = "std")]
mod general;
mod global;
mod lock;
mod locked;
#[cfg(target_has_atomic = "64")]
mod shared_list;
#[cfg(target_has_atomic = "64")]
mod sync;

#[cfg(feature = "std")]
pub use cache::{CacheStats, ThreadCache};
pub use classes::SizeClasses;
#[cfg(feature = "std")]
pub use general::{GeneralPurpose, GeneralStats};
pub use global::GlobalAllocator;
#[cfg(feature = "std")]
pub use lock::StdMutex;
pub use lock::{RawLock, SpinGuard, SpinLock};
pub use locked::Locked;
#[cfg(target_has_atomic = "64")]
pub use shared_list::SharedFreeList;

// The vocabulary of `alloc-core` (traits, block, errors, heap, the allocator-api2
// crates), so that this crate alone is enough: written once, in alloc-core.
alloc_core::__leaf_vocabulary!();

/// The traits, for `use alloc_global::prelude::*`: [`Allocator`] and [`BlockOwner`].
///
/// # Examples
///
/// ```
/// use alloc_global::prelude::*;
/// use alloc_global::{Heap, Locked};
///
/// let shared = Locked::new(Heap);
/// let b = shared.allocate(3u8).unwrap();
/// assert_eq!(*b, 3);
/// ```
pub mod prelude {
    pub use alloc_core::prelude::*;
}

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

/// The README's examples, run as doctests (the README is the package's page on the
/// registry).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
