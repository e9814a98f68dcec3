//! Fixed-size blocks in O(1): [`FreeList`], and the thread-safe [`SyncFreeList`].
//!
//! A free list takes one contiguous allocation from a parent [`Allocator`] (the [`Heap`]
//! by default, or any allocator: a scope, a block of another free list, a proxy), cuts it
//! into `count` blocks of `block_size` bytes (`FreeList::new(block_size, count)`; `count`
//! is then its `capacity()`), and hands them out and takes them back in
//! constant time. It is the allocator to put in front of a general-purpose one for a hot
//! fixed-size type (nodes, messages, buffers), alone or as the first half of a `Fallback`.
//!
//! ```
//! use alloc_freelist::FreeList;
//! use alloc_freelist::{Allocator, AllocatorError, BlockOwner};
//! use core::alloc::Layout;
//!
//! let list = FreeList::new(64, 1024).unwrap();
//! let node = list.allocate([1u64, 2, 3]).unwrap();
//! assert!(list.owns(&node));
//! // Requests a free list can never serve fail with an error a `Fallback` can act on.
//! let big = Layout::from_size_align(65, 8).unwrap();
//! assert_eq!(list.allocate_raw(big).err(), Some(AllocatorError::TooLarge));
//! ```
//!
//! [`Heap`]: alloc_core::Heap
//! [`Allocator`]: alloc_core::Allocator
//!
//! # Design
//!
//! - **One parent allocation.** Block `i` is at `start + i × stride`, where `stride` is the
//!   block size rounded up to the block alignment. Ownership is therefore an O(1) test,
//!   and the memory lives in the parent, never in the `FreeList` value: moving a free
//!   list (into a `Vec<T, FreeList>` by value, a `Box`, another thread) keeps every block
//!   valid. Dropping the list gives the memory back to the parent.
//! - **Lazy list.** Blocks never handed out are not threaded onto the list at
//!   construction: an index (`fresh`) hands them out in address order, and the list only
//!   holds blocks that came back. When the last allocated block comes back, every block is
//!   free and the list restarts in O(1) (empty list, `fresh = 0`): after a batch is
//!   allocated and freed (the usual pattern of a pool), the next batch is handed out in
//!   address order again, without walking links through memory. Construction is O(1) (in checked builds, see below, plus
//!   clearing a bitmap of `capacity / 8` bytes). The parent allocation is laid out by
//!   [`region_layout`]: the blocks, then the bitmap, reserved in every build so that
//!   whether a free list fits a parent does not depend on the build profile.
//! - **Pop and push.** Allocation pops the most recently freed block (LIFO: the block most
//!   likely still in cache), deallocation pushes it. The link to the next free block is
//!   stored in the first bytes of the free block (read and written unaligned, so blocks
//!   may be aligned to less than a pointer); there is no per-block header.
//! - **Whole blocks.** Every allocation reports the full block size (and the requested
//!   alignment), so a `Vec` may use the spare room; by the allocator contract the caller
//!   may give back the block with any size between the requested and the reported one.
//!   Reallocation within the block size and alignment returns the same block.
//! - **Alignment.** By default the block size's natural alignment (largest power of two
//!   dividing it) capped at 16, which is what `malloc` gives on 64-bit targets: a 64- or
//!   1024-byte block is 16-aligned, a 24-byte block 8-aligned, a 12-byte block 4-aligned.
//!   The `with_layout` constructors choose any alignment (a 64-byte, 64-aligned block for
//!   cache lines).
//! - **Errors.** Larger requests than a block: `TooLarge`; more aligned than the blocks:
//!   `UnsupportedAlignment`; no free block: `OutOfMemory` (freeing a block makes the next
//!   request succeed); zero-size requests: [`Block::empty`](alloc_core::Block::empty),
//!   consuming nothing. Constructors return an [`alloc_core::InitError`] with a
//!   message: a block smaller than a pointer or a zero count is `InvalidArgument`, and a
//!   size × count that overflows (or exceeds `isize::MAX`) is `SizeOverflow`; the parent's
//!   error is returned when it has no memory.
//!
//! # Checks against misuse
//!
//! Giving back a block is `unsafe`, but mistakes are caught rather than silently
//! corrupting the list:
//!
//! | mistake | debug builds | release builds |
//! |---|---|---|
//! | a block outside the list's memory, not on a block boundary, or larger than a block | panic | panic |
//! | a block of the list that was never handed out | panic | panic |
//! | a double free | panic | panic if the block is the most recently freed one, or was freed before the list last restarted (for example when no block is allocated); otherwise **undetected** (the block would be handed out twice) |
//! | a free block written to (use after free) | panic when the corrupted link is popped, if it points outside the used blocks | undetected |
//!
//! The ownership test costs one subtraction, one multiplication and one rotation (a
//! divisibility test by the stride's odd part via its inverse modulo 2<sup>64</sup>), so
//! it is always on. Exact double-free detection keeps one bit per block (set while
//! allocated) in the same parent allocation, after the blocks; it is on in debug builds,
//! and in release builds with the feature `double-free-check`. It is off by default in
//! release builds because it is not cheap: measured with the `freelist` benchmark, it made
//! fill-and-drain about 1.7× slower and churn about 1.6× slower.
//!
//! # `SyncFreeList`: a short spin lock
//!
//! [`SyncFreeList`] is `Send + Sync`. It runs the same code as [`FreeList`] under a
//! test-and-test-and-set spin lock held for one pop or push (a few nanoseconds; waiters
//! spin briefly, then yield with feature `std`). A lock-free Treiber stack was the
//! alternative; it was not chosen because:
//!
//! - links inside free blocks would be read atomically by one thread while the user of
//!   that block (popped by another thread in between) writes to it non-atomically: a data
//!   race (undefined behaviour, which Miri reports). Avoiding it needs the links in a side
//!   table of atomics (4 bytes per block more) and a tagged head against ABA;
//! - it needs one compare-and-swap per operation, the same single-thread cost as taking
//!   an uncontended lock, and under contention both serialise on one cache line;
//! - exact `free_blocks()` and the double-free bitmap would need a second atomic per
//!   operation, where under the lock they come for free.
//!
//! The benchmark `freelist` (in `benches/`) measures the choice against a `Mutex<FreeList>`
//! and a lock-free prototype (side table of atomic links, tagged head). On a shared 2-core
//! machine (three runs, noisy):
//!
//! | | ratio |
//! |---|---|
//! | `SyncFreeList` single-thread time / `FreeList` | 4.3–6.3× (one uncontended locked instruction per operation) |
//! | lock-free prototype single-thread time / `SyncFreeList` | 1.1–1.65× (slower) |
//! | `Mutex<FreeList>` single-thread time / `SyncFreeList` | 1.6–2.2× (slower) |
//! | `SyncFreeList` two-thread throughput / its one-thread throughput | 0.6–1.1× (the threads serialise on one cache line) |
//! | lock-free prototype two-thread throughput / `SyncFreeList`'s | 1.08–1.17× |
//!
//! So the lock is the cheaper choice for one thread and within about 15 % under
//! contention, while keeping exact counts, the bitmap and the restart. A free list shared
//! by many busy threads is a contention point either way: prefer one `FreeList` per thread
//! (the `threads` benchmark measures both), and a `SyncFreeList` where blocks really cross
//! threads.
//!
//! ```
//! use alloc_core::Allocator;
//! use alloc_freelist::FreeList;
//!
//! std::thread_local! {
//!     // Each thread's own pool: no lock, no shared cache line.
//!     static POOL: FreeList = FreeList::new(64, 256).unwrap();
//! }
//!
//! std::thread::scope(|s| {
//!     for t in 0..2u8 {
//!         s.spawn(move || {
//!             POOL.with(|pool| {
//!                 let blocks: Vec<_> = (0..256).map(|_| pool.allocate([t; 64]).unwrap()).collect();
//!                 assert!(blocks.iter().all(|b| b[63] == t));
//!                 assert_eq!(pool.free_blocks(), 0);
//!             })
//!         });
//!     }
//! });
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | implies `alloc`; `SyncFreeList` waiters yield to the OS scheduler |
//! | `alloc` | via `std` | `FreeList::new`, `with_layout` (memory from `Heap`), and `Heap` as the default parent |
//! | `double-free-check` | no | the double-free bitmap in release builds too |
//! | `allocator-api2-02` | yes | `allocator-api2` 0.2's `Allocator` for both types (`Vec<T, FreeList>`) |
//! | `allocator-api2-03` | yes | `allocator-api2` 0.3 impls (talc 5, blink-alloc 0.4) |
//! | `allocator-api2-04` | yes | `allocator-api2` 0.4's `Allocator` for both types |
//! | `nightly` | no | `core::alloc::Allocator` impls, for std's `Vec::new_in`, `Box::new_in`, `Rc`, `Arc` (nightly compiler only) |
//!
//! Without features (`default-features = false`) the crate is `#![no_std]` and needs no global allocator (use the
//! `*_in` constructors with any parent).
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(feature = "std")]
extern crate std;

mod freelist;
mod raw;
mod sync;

pub use freelist::FreeList;
pub use sync::SyncFreeList;

// The vocabulary of `alloc-core` (traits, block, errors, heap, the allocator-api2
// crates), so that this crate alone is enough: written once, in alloc-core.
alloc_core::__leaf_vocabulary!();

/// The traits, for `use alloc_freelist::prelude::*`: [`Allocator`] and [`BlockOwner`].
///
/// # Examples
///
/// ```
/// use alloc_freelist::prelude::*;
/// use alloc_freelist::FreeList;
///
/// let pool = FreeList::new(16, 4).unwrap();
/// let b = pool.allocate(3u8).unwrap();
/// assert!(pool.owns(&b));
/// ```
pub mod prelude {
    pub use alloc_core::prelude::*;
}

use core::alloc::Layout;

/// The layout of the one allocation a free list of `count` blocks of `block` takes from its
/// parent (for both [`FreeList`] and [`SyncFreeList`]): the blocks, `block.size()` rounded
/// up to `block.align()` apart, then one bit per block for the double-free bitmap,
/// rounded up to 8 bytes. It is the same in every build.
///
/// Use it to size a parent, for example a block of another allocator.
///
/// # Errors
///
/// As [`FreeList::new`]: `InvalidArgument` for a block smaller than a pointer or a zero
/// count, `SizeOverflow` when the size overflows.
///
/// # Examples
///
/// ```
/// use alloc_freelist::{region_layout, FreeList};
/// use core::alloc::Layout;
///
/// let block = Layout::from_size_align(32, 32).unwrap();
/// let region = region_layout(block, 31).unwrap();
/// assert_eq!((region.size(), region.align()), (31 * 32 + 8, 32));
/// // So 31 such blocks fit in one 1 KiB, 32-aligned block of a parent free list.
/// let parent = FreeList::with_layout(Layout::from_size_align(1024, 32).unwrap(), 1).unwrap();
/// let child = FreeList::with_layout_in(block, 31, &parent).unwrap();
/// assert_eq!(child.capacity(), 31);
/// ```
pub fn region_layout(block: Layout, count: usize) -> Result<Layout, InitError> {
    raw::Geometry::new(block, count).map(|g| g.region())
}

/// The README's examples, run as doctests (the README is the package's page on the
/// registry).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
