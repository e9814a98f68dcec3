//! `allocators`: composable memory allocators, one dependency.
//!
//! Small allocators — a bump allocator with nested scopes, a fixed-size free list, a
//! fallback, a logging proxy, a lock — snap together into the allocator a program needs.
//! Every one implements [`Allocator`]: typed, owning boxes
//! ([`allocate`](Allocator::allocate), [`allocate_with`](Allocator::allocate_with),
//! slices, strings) that give their memory back when dropped, and, with the
//! `allocator-api2-02` / `-03` / `-04` features (on by default), the `allocator-api2`
//! traits, so `allocator_api2::vec::Vec`, `allocator_api2::boxed::Box` and hashbrown's
//! `HashMap` run on them on stable Rust. On a nightly compiler, the `nightly` feature adds
//! the standard library's own `core::alloc::Allocator`, for std's `Vec::new_in`,
//! `Box::new_in`, `VecDeque`, `Rc` and `Arc`.
//!
//! This crate re-exports every public item of the workspace's crates (`alloc-core`,
//! `alloc-scoped`, `alloc-freelist`, `alloc-compose`, `alloc-global`) at its root, and the
//! three `allocator-api2` versions as `api2_02`, `api2_03` and `api2_04`.
//! `use allocators::prelude::*` brings the traits into scope.
//!
//! # Which allocator for which job
//!
//! | the job | pick | why |
//! |---|---|---|
//! | many short-lived values, freed all at once (per frame, per request, a parser's nodes) | [`Scoped`], and [`scope`](Scoped::scope) for nested phases | an allocation is a pointer bump; a scope frees everything it allocated in one step, and the borrow checker keeps its values inside |
//! | the same, with no size known in advance (bumpalo's `Bump::new()`) | [`Scoped::growable`], with [`scope_guard`](Scoped::scope_guard) and [`checkpoint`](Scoped::checkpoint) | chunks that double from the first; a scope or a checkpoint gives back what it added, and `reset` keeps the largest chunk for the next round |
//! | a bump arena several threads fill at once (rayon, scoped threads) | [`SharedArena`] | `Sync`: one compare-and-swap per allocation, lock-free growth |
//! | many values of one size, freed in any order (nodes, messages, buffers) | [`FreeList`] (one thread), [`SyncFreeList`] (shared) | O(1) pop and push, no per-block header, several times faster than `malloc` |
//! | a fast pool, but never fail when it is full or a request is too big | `pool.with_fallback(Heap)`: [`Fallback`] | small requests from the pool, the rest from the heap; a block that outgrows the pool moves with its contents |
//! | small objects of many sizes | [`Bucketizer`] of [`FreeList`]s behind a [`Segregator`] | one free list per size class, the heap above a threshold; frees routed by size |
//! | a pool that grows and shrinks with the live set | [`AllocatorList`] of [`FreeList`]s (or of [`Scoped`]s) | a new instance from the parent when all are full, empty ones given back |
//! | knowing what a piece of code allocates | `alloc.proxy(Counters::new())`: [`Proxy`] with [`Counters`], [`Stats`], [`Trace`], [`FnLogger`] | counts, live and peak bytes, a size histogram, or every event |
//! | finding memory bugs in tests and debug builds | `alloc.guarded()`: [`Guard`] | fences, fill patterns, double-free, foreign-block and leak detection, each naming the problem |
//! | making overflows and uses after free fault at once (electric fence) | `Protected` (feature `pages`), or `Guard::new(Protected::new())`, the page-protected mode of [`Guard`] | every block against an inaccessible page; freed pages inaccessible and never reused |
//! | large blocks (64 KiB and up), or a parent that takes its memory from the system | `Pages` (feature `pages`) | `mmap`/`VirtualAlloc` per block; on Linux growth by `mremap`, without copying |
//! | large blocks allocated and freed again and again (buffers, images, a request's scratch) | `Recycler::new(Pages, 8)`: [`Recycler`] | keeps up to 8 freed blocks (and a byte cap) and hands them out again for requests of their size class: no system call, no page fault |
//! | one allocator for several threads | [`Locked`], or [`SyncFreeList`] | a short lock around any allocator |
//! | many threads allocating and freeing small blocks | [`ThreadCache`] in front of any thread-safe allocator | per-thread stacks of free blocks: no lock, no atomic on the fast path (see [Sharing across threads](#sharing-across-threads)) |
//! | the `#[global_allocator]` | [`GlobalAllocator`]`<`[`GeneralPurpose`]`>`, or over your own thread-safe chain | `const`-constructible, never unwinds, null on failure |
//! | memory without a heap (`no_std`, a static buffer) | [`Scoped::from_buffer`], `FreeList::new_in(.., parent)` | every allocator takes its memory from a parent you choose |
//! | your own allocator under the collections | implement [`Allocator`], wrap it in [`Api2`] | two functions to write, everything else provided |
//! | another crate's allocator (bumpalo) as a parent | [`FromApi02`] / [`FromApi04`] | any `allocator-api2` allocator becomes an [`Allocator`] |
//! | the ordinary heap | [`Heap`] (or `std::alloc::System`) | the default parent of everything above |
//!
//! When in doubt, start with [`Heap`], measure with a [`Proxy`], and put a [`Scoped`] or a
//! [`FreeList`] in front where the counts show a hot spot. Run
//! `cargo run --release --example tour` for a walk through all of them.
//!
//! # Examples
//!
//! Temporary values in a scope, reclaimed in one step when the scope ends:
//!
//! ```
//! use allocators::prelude::*;
//! use allocators::Scoped;
//!
//! let arena = Scoped::new(64 * 1024).unwrap();
//! let total = arena.scope(|tmp| {
//!     let squares = tmp.allocate_slice_with(100, |i| i * i).unwrap();
//!     let label = tmp.allocate_str("sum of squares").unwrap();
//!     assert_eq!(&*label, "sum of squares");
//!     squares.iter().sum::<usize>()
//! }).unwrap();
//! assert_eq!(total, 328_350);
//! assert_eq!(arena.used(), 0); // everything the scope allocated is back
//! ```
//!
//! A pool of 64-byte blocks spilling to the heap, counted by a proxy:
//!
//! ```
//! use allocators::prelude::*;
//! use allocators::{Counters, FreeList, Heap};
//!
//! let alloc = FreeList::new(64, 128).unwrap().with_fallback(Heap).proxy(Counters::new());
//! let small = alloc.allocate([1u64; 8]).unwrap();     // 64 bytes: from the pool
//! let big = alloc.allocate([2u64; 100]).unwrap();     // 800 bytes: from the heap
//! assert!(alloc.inner().main().owns(&small));
//! assert!(!alloc.inner().main().owns(&big));
//! assert_eq!(alloc.logger().counts().bytes_live, 64 + 800);
//! ```
//!
//! The small-object allocator: free lists of 16 to 256 bytes, the heap beyond, with
//! statistics:
//!
//! ```
//! use allocators::prelude::*;
//! use allocators::{Bucketizer, FreeList, Heap, Stats};
//!
//! let alloc = Bucketizer::<FreeList, 5>::powers_of_two(16, |size| FreeList::new(size, 256))
//!     .unwrap()
//!     .segregate::<256, _>(Heap)
//!     .proxy(Stats::new());
//! let word = alloc.allocate_str("size classes").unwrap(); // the 16-byte free list
//! let page = alloc.allocate([0u8; 4096]).unwrap(); // above 256 bytes: the heap
//! assert_eq!(alloc.inner().small().bucket(0).free_blocks(), 255);
//! println!("{}", alloc.logger().summary()); // counts and a histogram of sizes
//! # drop((word, page));
//! ```
//!
//! Collections on our allocators, by value or by reference:
//!
//! ```
//! use allocators::{FreeList, Scoped};
//! use allocators::api2_02::vec::Vec;
//!
//! let mut ids: Vec<u64, FreeList> = Vec::new_in(FreeList::new(1024, 64).unwrap());
//! ids.extend(0..100); // the Vec owns its pool
//! let scoped = Scoped::new(1 << 16).unwrap();
//! let mut map = hashbrown::HashMap::new_in(&scoped);
//! map.insert("answer", 42);
//! assert_eq!((ids[99], map["answer"]), (99, 42));
//! ```
//!
//! An allocator that has no `allocator-api2` impl of its own (here `std::alloc::System`;
//! see [`Api2`] for one written from scratch in a dozen lines) under the collections:
//!
//! ```
//! use allocators::Api2;
//! use std::alloc::System;
//!
//! let mut v = allocators::api2_04::vec::Vec::new_in(Api2(System));
//! v.extend(0..1000);
//! assert_eq!(v.iter().sum::<i32>(), 499_500);
//! ```
//!
//! bumpalo's arena as the parent of a free list, through [`FromApi02`]:
//!
//! ```
//! use allocators::prelude::*;
//! use allocators::{FreeList, FromApi02};
//!
//! let bump = bumpalo::Bump::new();
//! let pool = FreeList::new_in(32, 16, FromApi02(&bump)).unwrap();
//! let node = pool.allocate((1u64, 2u64)).unwrap();
//! assert_eq!(*node, (1, 2));
//! ```
//!
//! # Sharing across threads
//!
//! Which block for which pattern:
//!
//! | pattern | pick | cost |
//! |---|---|---|
//! | each thread allocates and frees its own blocks | one [`FreeList`] (or [`Scoped`]) per thread, in a `thread_local!` | nothing shared: the single-thread speed on every thread |
//! | a pool that threads really share, rarely | [`SyncFreeList`], or [`Locked`] around any allocator | one lock (an atomic read-modify-write) per call; contended, the lock's cache line moves between cores on every call |
//! | a cache in front of anything thread-safe | [`ThreadCache`]`::new(alloc)` | per-thread stacks of free blocks per size class: no lock and no atomic read-modify-write on the fast path; batches move to and from `alloc` through a shared depot |
//! | a general-purpose allocator, the `#[global_allocator]` | [`GeneralPurpose`] | [`ThreadCache`] over growable size classes ([`SizeClasses`]), `System` for large blocks |
//!
//! The global allocator, whole:
//!
//! ```rust,standalone_crate
//! use allocators::{GeneralPurpose, GlobalAllocator};
//!
//! #[global_allocator]
//! static A: GlobalAllocator<GeneralPurpose> = GlobalAllocator::new(GeneralPurpose::new());
//!
//! fn main() {
//!     let handles: Vec<_> = (0..4).map(|t| std::thread::spawn(move || format!("thread {t}"))).collect();
//!     let names: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
//!     assert_eq!(names[3], "thread 3");
//!     let stats = A.get().unwrap().stats(); // per class, spills, bytes cached, chunks
//!     assert!(stats.cache.served > 0);
//! }
//! ```
//!
//! A block freed by another thread than the one that allocated it joins the freeing
//! thread's cache (magazine style, no lock): see [`ThreadCache`]'s design notes for why.
//! `cargo run -p allocators --example global` runs threads that hand `String`s to each
//! other and prints the statistics.
//!
//! Measured on a 2-core VM at load average 0.6-1.6 (`cargo xtask bench --quick larson
//! xmalloc threads cache`, one run; time per allocation and its free, `GeneralPurpose` ×
//! mimalloc / × `System` in the same run; `benches/RESULTS.md` has every point and peer):
//!
//! | workload | 1 thread | 2 threads | 4 threads |
//! |---|---|---|---|
//! | larson, 8-64 B, a share freed by other threads | 0.93 / 0.35 | 0.28 / 0.29 | 0.30 / 0.27 |
//! | larson, 8-4,096 B, same | 0.29 / 0.13 | 0.27 / 0.05 | 0.20 / 0.05 |
//! | one producer, one consumer per pair, 8-256 B | – | 0.33 / 0.19 | 1.29 / 0.33 |
//! | same, each pair pinned to one core / across two | – | – | 0.97 / 0.44, 0.35 / 0.34 |
//! | 64 B | 0.35 / 0.50 | – | – |
//! | 8-64 B, half the frees on another thread | 0.80 / 0.47 | 0.26 / 0.11 | 1.03 / 0.52 |
//! | 8-4,096 B, same | 0.41 / 0.10 | 0.33 / 0.08 | 0.99 / 0.46 |
//!
//! Threads sharing blocks is where the caches win most (mimalloc takes 3.3-5 × the time
//! on larson at 2 and 4 threads). The 4-thread points oversubscribe the 2 cores, and there
//! the scheduler decides how many blocks cross cores: on the producer/consumer workload it
//! keeps mimalloc's pairs on one core (98 % of batches, counted) and ours less often
//! (29 %); pinned, `GeneralPurpose` is 0.94-0.98 × mimalloc with each pair on one core and
//! 0.35-0.40 × with each pair across two, and the scheduled point swings with the
//! placement (1.2-2.6 × across runs). Memory: peak bytes taken on larson 1.14-1.24 ×
//! mimalloc's usable bytes (16 KiB chunks for the classes up to 1 KiB), peak resident
//! memory 0.24-0.86 × mimalloc's. As the `#[global_allocator]` of the regex, serde_json,
//! hashbrown and rayon test suites, every test passes; regex's suite takes 0.80-0.94 ×
//! System's wall time (0.72-1.13 × mimalloc's, whose runs swing between two modes),
//! hashbrown's and rayon's 0.99-1.10 × (serde_json's runs last 20-40 ms).
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc`; the [`Trace`] logger, [`StdMutex`], `std::alloc::System` as an [`Allocator`] |
//! | `alloc` | via `std` | [`Heap`], and the constructors that take memory from it (`Scoped::new`, `FreeList::new`, ...) |
//! | `allocator-api2-02` | yes | `allocator-api2` 0.2 impls for every allocator (hashbrown 0.17, bumpalo 3), [`Api2`], [`FromApi02`], the crate as `api2_02` |
//! | `allocator-api2-03` | yes | `allocator-api2` 0.3 impls for every allocator (talc 5, blink-alloc 0.4), [`Api2`], [`FromApi03`], the crate as `api2_03` |
//! | `allocator-api2-04` | yes | `allocator-api2` 0.4 impls for every allocator, [`Api2`], [`FromApi04`], the crate as `api2_04` |
//! | `nightly` | no | `core::alloc::Allocator` impls for every allocator (nightly compiler only): std's `Vec::new_in(&arena)`, `Box::new_in`, `Rc::new_in` |
//! | `double-free-check` | no | [`FreeList`]'s exact double-free detection in release builds too |
//! | `testing` | no | `allocators::testing`, the conformance kit: property tests for your own allocators |
//! | `pages` | yes | `Pages` and (with `std`) `Protected` from alloc-pages: memory from the operating system; nothing on targets without one |
//!
//! With no features the crate is `#![no_std]` and needs no allocator: every allocator
//! takes its memory from a parent you give it (for example [`Scoped::from_buffer`]).
//!
//! The MSRV is Rust 1.85 (the `nightly` feature needs a nightly compiler). Behaviour at
//! the `Layout` level is identical on the three `allocator-api2` versions and on `core`'s
//! trait: they are generated by one macro, [`impl_allocator_api2!`].
//!
//! # Collections that outgrow their allocator
//!
//! A collection asks its allocator for more memory as it grows; when the allocator
//! refuses (a [`FreeList`] whose one block is too small, a full [`Scoped`]), the
//! collections of `allocator-api2` and of std call `handle_alloc_error`, which **aborts
//! the process**. Where that can happen, grow with `try_reserve` (an error, not an abort),
//! or put a [`Fallback`] behind the pool (`pool.with_fallback(Heap)`), which serves what
//! the pool cannot:
//!
//! ```
//! use allocators::prelude::*;
//! use allocators::{api2_02::vec::Vec, FreeList, Heap};
//!
//! let pool = FreeList::new(64, 8).unwrap(); // 8 blocks of 64 bytes
//! let mut v: Vec<u64, _> = Vec::new_in(&pool);
//! assert!(v.try_reserve(100).is_err()); // 800 bytes: refused, an error to handle
//!
//! let spill = FreeList::new(64, 8).unwrap().with_fallback(Heap);
//! let mut w: Vec<u64, _> = Vec::new_in(&spill);
//! w.extend(0..100); // moves to the heap when it outgrows its 64-byte block
//! assert_eq!(w.iter().sum::<u64>(), 4950);
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use alloc_compose::*;
#[doc(inline)]
pub use alloc_core::*;
#[doc(inline)]
pub use alloc_freelist::*;
#[doc(inline)]
pub use alloc_global::*;
#[cfg(feature = "pages")]
#[doc(inline)]
pub use alloc_pages::*;
#[doc(inline)]
pub use alloc_scoped::*;
#[doc(inline)]
pub use alloc_tlsf::*;

// The allocator-api2 crates, shown as re-exports (the globs above would inline a copy of
// each crate's documentation).
#[cfg(feature = "allocator-api2-02")]
#[doc(no_inline)]
pub use alloc_core::api2_02;
#[cfg(feature = "allocator-api2-03")]
#[doc(no_inline)]
pub use alloc_core::api2_03;
#[cfg(feature = "allocator-api2-04")]
#[doc(no_inline)]
pub use alloc_core::api2_04;

/// The traits, for `use allocators::prelude::*`: [`Allocator`] and [`BlockOwner`] (the
/// allocator interface), [`AllocatorExt`] (`.with_fallback(..)`, `.proxy(..)`) and
/// [`ProxyLogger`] (to write a logger).
///
/// # Examples
///
/// ```
/// use allocators::prelude::*;
/// use allocators::{Counters, Heap, Null};
///
/// let alloc = Null.with_fallback(Heap).proxy(Counters::new());
/// let b = alloc.allocate(1u8).unwrap();
/// assert!(!alloc.inner().main().owns(&b));
/// ```
pub mod prelude {
    pub use alloc_compose::{AllocatorExt, ProxyLogger};
    pub use alloc_core::{Allocator, BlockOwner};
}

#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
