//! [`Scoped`]: a bump allocator for temporary allocations in tight loops, with nested
//! scopes whose values cannot escape them.
//!
//! A `Scoped` takes one buffer from its parent allocator and hands out pieces of it by
//! moving a pointer: an allocation is a few instructions, and giving everything back at
//! once is free. [`scope`](Scoped::scope) lends a child allocator ([`Scope`]) to a
//! closure and reclaims all of the child's memory when the closure returns.
//!
//! ```
//! use alloc_scoped::Scoped;
//! use alloc_core::Allocator;
//!
//! #[derive(Debug)]
//! struct Bomb(u8);
//! impl Drop for Bomb { fn drop(&mut self) { println!("Boom! {}", self.0); } }
//!
//! // a new scoped allocator with a kilobyte of memory from the heap.
//! let alloc = Scoped::new(1024).unwrap();
//! alloc.scope(|inner| {
//!     let mut bombs = Vec::new();
//!     for i in 0..100 { bombs.push(inner.allocate(Bomb(i)).unwrap()) }
//!     // the bombs go off here, and the scope's memory is reclaimed when it returns.
//! }).unwrap();
//! let my_int = alloc.allocate_with(|| 23).unwrap();   // constructed in place
//! assert_eq!(*my_int, 23);
//! ```
//!
//! # Where the memory comes from
//!
//! - [`Scoped::new(size)`](Scoped::new): from the global heap (feature `alloc`).
//! - [`Scoped::new_in(size, parent)`](Scoped::new_in): from any [`Allocator`], taken by
//!   value; pass `&parent` to share it. A `Scoped` can live in another `Scoped`, a
//!   free list, or a proxy.
//! - [`Scoped::from_buffer(&mut memory)`](Scoped::from_buffer): from a
//!   `&mut [MaybeUninit<u8>]` the caller lends, with no heap at all (`no_std`). Its
//!   parent is a [`Buffer`], a one-block allocator over the borrowed slice, so this is
//!   the same `Scoped<A>` type with `A = Buffer<'a>`, carrying the borrow's lifetime.
//!
//! The buffer is given back to the parent when the `Scoped` is dropped. It is never
//! inside the `Scoped` value, so moving a `Scoped` (into a collection that owns its
//! allocator, say) keeps every block valid.
//!
//! - [`Scoped::growable(initial)`](Scoped::growable) and
//!   [`Scoped::growable_in(initial, parent)`](Scoped::growable_in): an arena that
//!   **grows** by chunks (see [Growth](#growth)).
//!
//! The constructors above but the growing ones give an arena of **fixed capacity**: when
//! the buffer is full, requests fail with [`AllocatorError::OutOfMemory`] (or `TooLarge`
//! when a request exceeds the whole capacity). A fixed buffer makes
//! [`used`](Scoped::used)/[`remaining`](Scoped::remaining) exact, and lets a `Scoped` live
//! in memory that cannot grow.
//!
//! | the job | pick |
//! |---|---|
//! | temporary values, size known (or a hard cap) | [`Scoped::new`], [`Scoped::from_buffer`] (`no_std`) |
//! | temporary values, size unknown | [`Scoped::growable`] |
//! | phases inside either | [`scope`](Scoped::scope), [`scope_guard`](Scoped::scope_guard), [`checkpoint`](Scoped::checkpoint) / [`reset_to`](Scoped::reset_to) |
//! | one arena filled by several threads at once | [`SharedArena`] |
//!
//! # Growth
//!
//! A growing `Scoped` bumps down through its current chunk exactly as a fixed one does
//! through its buffer (the same inlined fast path: the growth hook is an argument of its
//! cold slow path). When the chunk is full, the slow path takes another chunk from the
//! parent, twice as large as the last regular one (as bumpalo does), or as large as the
//! request if that is larger, and allocates there; the rest of the old chunk stays unused
//! ([`ArenaStats::wasted`]). A chunk is a block of the parent aligned to 16 with a header
//! of six words at its top.
//!
//! - **Limit.** [`set_limit`](Scoped::set_limit) caps the bytes held from the parent;
//!   past it, requests fail with `OutOfMemory` (`TooLarge` if the request alone exceeds
//!   it), after trying a chunk just large enough.
//! - **Failures.** A failed chunk request (the parent refuses, the limit, a size no
//!   layout can hold) is the request's error; the arena holds what it held and stays
//!   usable.
//! - **Scopes across chunks.** A scope starts in its parent's free space and takes its
//!   own chunks when that runs out; when it ends, its chunks go back. By default
//!   ([`Retain::Largest`]) the arena keeps **one** of them, the largest, as a spare that
//!   the next growth takes first: a loop of scopes that each cross a chunk boundary then
//!   never calls the parent after its first round. Measured (`arena/scope_frames`,
//!   frames of 8 KiB from a 4 KiB chunk): keeping one spare removes a `malloc`/`free`
//!   pair per frame; keeping every chunk ([`Retain::All`]) is the option for
//!   workloads whose scopes need several chunks each.
//! - **Reset keeps memory.** [`reset`](Scoped::reset) keeps the largest chunk (or all
//!   of them, with [`Retain::All`]), so a loop that resets stops asking the parent once
//!   the largest chunk holds a round.
//! - **Statistics.** [`stats`](Scoped::stats): bytes allocated, remaining, wasted at
//!   chunk ends, chunks in use and spare, bytes held from the parent.
//!
//! # Guards and checkpoints
//!
//! Besides the closure of [`scope`](Scoped::scope), [`scope_guard`](Scoped::scope_guard)
//! returns the child [`Scope`] itself: the scope ends when it is dropped, so it lives
//! across `?` and loops. [`checkpoint`](Scoped::checkpoint) records where the arena
//! stands, and [`reset_to`](Scoped::reset_to) (`&mut self`, so no value allocated since is
//! alive) goes back there, giving back the chunks added since. Values cannot escape
//! either (the `compile_fail` doctests of both prove it). A guard leaked with
//! `mem::forget` leaves its parent busy until `reset` (and leaks its own chunks); nothing
//! unsound happens.
//!
//! # The shared arena
//!
//! [`SharedArena`] is a growing bump arena that threads share through `&` (`Sync` when
//! its parent is). Each chunk's bump pointer is an atomic moved down by one
//! compare-and-swap per allocation; a thread that finds the chunk full takes a new chunk
//! from the parent while holding nothing, and publishes it with one compare-and-swap on
//! the chain's head (two threads growing at once both publish; one chunk's rest is
//! wasted). Chunks are given back only through `&mut self` (`reset`, `Drop`), so no thread
//! ever reads a freed header. The lock-free parts run under loom (`tests/loom.rs`).
//! Measured against blink-alloc's `SyncBlinkAlloc` (a read lock and a compare-and-swap
//! per allocation) and a `Mutex<bumpalo::Bump>`: see `benches/benches/arena.rs`.
//!
//! # From bumpalo
//!
//! | bumpalo | alloc-scoped |
//! |---|---|
//! | `Bump::new()` | `Scoped::growable(0).unwrap()` (no chunk until the first allocation) |
//! | `Bump::with_capacity(n)` | `Scoped::growable(n)`, or `Scoped::new(n)` for a fixed capacity |
//! | `bump.alloc(value)` | `arena.allocate(value)` (an owning `AllocBox`; `Err((error, value))` when full) |
//! | `bump.alloc_with(f)` | `arena.allocate_with(f)` |
//! | `bump.alloc_slice_copy(s)`, `alloc_str(s)` | `arena.allocate_slice_copy(s)`, `arena.allocate_str(s)` |
//! | `bump.alloc_layout(layout)` | `arena.allocate_raw(layout)` |
//! | `bump.reset()` | `arena.reset()` (keeps the largest chunk) |
//! | `bump.set_allocation_limit(Some(n))` | `arena.set_limit(Some(n))` |
//! | `bumpalo::collections::Vec::new_in(&bump)` | `api2_02::vec::Vec::new_in(&arena)` (allocator-api2 0.2, 0.3 or 0.4), hashbrown's `HashMap::new_in(&arena)` |
//! | — | `arena.scope(..)`, `scope_guard()`, `checkpoint()` / `reset_to(..)`, `SharedArena` |
//!
//! Two differences: an `AllocBox` runs its value's `Drop` (bumpalo's `alloc` never
//! does; `core::mem::forget` it for bumpalo's behaviour), and a `Scoped` is `Send`, so
//! it moves to another thread (bumpalo's too); share one with [`SharedArena`].
//!
//! ```
//! use alloc_scoped::prelude::*;
//! use alloc_scoped::{api2_02::vec::Vec, Scoped};
//!
//! let mut arena = Scoped::growable(0).unwrap(); // bumpalo: Bump::new()
//! for round in 0..3 {
//!     let x = arena.allocate_with(|| round * 2).unwrap(); // bump.alloc_with(..)
//!     let mut v = Vec::new_in(&arena); // a collection in the arena
//!     v.extend(0..1000u32);
//!     assert_eq!((*x, v.len()), (round * 2, 1000));
//!     drop((x, v));
//!     arena.reset(); // bump.reset(): the largest chunk is kept
//! }
//! ```
//!
//! # Allocation
//!
//! The bump pointer starts at the end of the buffer and moves **down**: a request for
//! `size` bytes aligned to `align` computes `(ptr - size) & !(align - 1)` (a checked
//! subtraction, so it cannot wrap) and compares the result with the start of the
//! buffer. That is the whole fast path, inlined into the caller: in a loop, eight
//! instructions per allocation (load, compare and branch for the subtraction, subtract,
//! mask, compare and branch against the start, store), with only the subtraction and the
//! mask on the bump pointer's dependency chain; the layout checks (zero size, alignment)
//! fold away for constant layouts and are hoisted out of loops. Zero-size requests
//! consume nothing; the reason for every failure comes from an out-of-line cold path
//! that returns the one-byte error in a register. Every non-empty block has exactly the
//! requested size.
//!
//! - Zero-size requests succeed with a well-aligned [`Block::empty`] and consume nothing.
//! - Alignments up to [`MAX_ALIGN`] (a page, 4096) are served; larger ones fail with
//!   `UnsupportedAlignment`.
//! - Sizes larger than the capacity fail with `TooLarge`; sizes larger than what is left
//!   with `OutOfMemory`. All bounds are checked on addresses (integers) before any
//!   pointer is formed, so no request, however large, overflows or forms an
//!   out-of-bounds pointer.
//!
//! # Freeing
//!
//! Freeing the most recent block rewinds the bump pointer to the block's end (the
//! alignment padding above it stays taken); freeing any other block does nothing: its
//! memory comes back at [`reset`](Scoped::reset), or when the scope ends. So values
//! dropped in reverse order of allocation (a stack discipline) give all their memory
//! back, and a `Vec` that grows and is dropped leaves nothing behind.
//!
//! # Reallocation
//!
//! The most recent block is reallocated in place: it may extend anywhere between the
//! start of the free space and its own end, so it grows downward into the free space and
//! shrinks towards its end, giving the difference back; its contents move with one
//! overlapping copy (`memmove`), as in bumpalo. A block that is not the most recent
//! keeps its address when it shrinks (with a compatible alignment), and is copied to a
//! new block when it grows (its old bytes are reclaimed later). Sizes are never
//! subtracted from each other, so shrinking cannot underflow.
//!
//! # Scopes
//!
//! [`Scoped::scope`] and [`Scope::scope`] run a closure with a child [`Scope`] that
//! starts where its parent stands and uses the parent's free space.
//!
//! - While the child is open, the parent refuses to allocate or grow blocks with
//!   [`AllocatorError::Busy`] (it would hand out memory the child uses). It can still
//!   free its blocks.
//! - When the closure returns, or panics (the child's `Drop` is the guard), the parent
//!   is unmarked; since its bump pointer never moved down, all of the child's memory is
//!   reclaimed at once.
//! - The closure gets `&Scope`, and values allocated in it borrow that reference: they
//!   cannot be returned from the closure (a `compile_fail` doctest on
//!   [`Scoped::scope`] proves it). Raw blocks from `allocate_raw` are valid until the
//!   scope ends.
//! - Scopes nest to any depth: a `Scope` opens its own scopes.
//!
//! # Ownership, misuse, threads
//!
//! - [`BlockOwner`]: a `Scoped` or `Scope` owns exactly the blocks that lie among its
//!   live blocks (from its bump pointer to the end of its region): blocks of an open
//!   child scope, of an ended scope, and foreign memory are not its own.
//! - Giving back a block that is not among the live blocks (a block freed twice after
//!   a rewind, a foreign block, a block of an ended scope) panics with a message naming
//!   the problem, **in every build** (the check costs one comparison on the rewinding
//!   path and two on the others). Freeing twice a block that was not the most recent
//!   is not detected (the free is a no-op either way).
//! - `Scoped<A>` is `Send` when `A` is, and never `Sync` (the bump pointer is a
//!   `Cell`); `Scope` is neither `Send` nor `Sync`; `Buffer` is `Send`, not `Sync`;
//!   `SharedArena<A>` is `Send` when `A` is and `Sync` when `A` is.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc` |
//! | `alloc` | via `std` | [`Scoped::new`] (from the heap), and `Heap` as the default parent |
//! | `allocator-api2-02` | yes | `allocator-api2` 0.2 impls for `Scoped`, `Scope`, `Buffer` (for hashbrown, `allocator_api2::vec::Vec`) |
//! | `allocator-api2-03` | yes | `allocator-api2` 0.3 impls (talc 5, blink-alloc 0.4) |
//! | `allocator-api2-04` | yes | `allocator-api2` 0.4 impls |
//! | `nightly` | no | `core::alloc::Allocator` impls, for std's `Vec::new_in`, `Box::new_in`, `Rc`, `Arc` (nightly compiler only) |
//!
//! Without features (`default-features = false`) the crate is `#![no_std]` and needs no allocator
//! ([`Scoped::from_buffer`]).
//!
//! [`Allocator`]: alloc_core::Allocator
//! [`BlockOwner`]: alloc_core::BlockOwner
//! [`AllocatorError::OutOfMemory`]: alloc_core::AllocatorError::OutOfMemory
//! [`AllocatorError::Busy`]: alloc_core::AllocatorError::Busy
//! [`Block::empty`]: alloc_core::Block::empty
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

mod buffer;
mod bump;
mod chunk;
mod growing;
mod scope;
mod scoped;
mod shared;

pub use buffer::Buffer;
pub use chunk::{ArenaStats, Retain};
pub use growing::Checkpoint;
pub use scope::Scope;
pub use scoped::Scoped;
pub use shared::SharedArena;

// The vocabulary of `alloc-core` (traits, block, errors, heap, the allocator-api2
// crates), so that this crate alone is enough: written once, in alloc-core.
alloc_core::__leaf_vocabulary!();

/// The traits, for `use alloc_scoped::prelude::*`: [`Allocator`] and [`BlockOwner`].
///
/// # Examples
///
/// ```
/// use alloc_scoped::prelude::*;
/// use alloc_scoped::Scoped;
///
/// let arena = Scoped::new(256).unwrap();
/// let b = arena.allocate(3u8).unwrap();
/// assert!(arena.owns(&b));
/// ```
pub mod prelude {
    pub use alloc_core::prelude::*;
}

/// The largest alignment a [`Scoped`] or [`Scope`] serves: a page (4096 bytes). Larger
/// alignments fail with [`AllocatorError::UnsupportedAlignment`].
///
/// [`AllocatorError::UnsupportedAlignment`]: alloc_core::AllocatorError::UnsupportedAlignment
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, AllocatorError};
/// use alloc_scoped::{Scoped, MAX_ALIGN};
/// use core::alloc::Layout;
///
/// let alloc = Scoped::new(3 * MAX_ALIGN).unwrap();
/// assert!(alloc.allocate_raw(Layout::from_size_align(8, MAX_ALIGN).unwrap()).is_ok());
/// let too_aligned = Layout::from_size_align(8, 2 * MAX_ALIGN).unwrap();
/// assert_eq!(alloc.allocate_raw(too_aligned), Err(AllocatorError::UnsupportedAlignment));
/// ```
pub const MAX_ALIGN: usize = 4096;

/// The alignment of the buffers [`Scoped::new_in`] asks its parent for: enough for every
/// primitive type, so the first blocks need no padding.
const BUFFER_ALIGN: usize = 16;

/// The README's examples, run as doctests (the README is the package's page on the
/// registry).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
