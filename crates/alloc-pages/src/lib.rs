//! Memory straight from the operating system's page allocator:
//!
//! - [`Pages`]: page-granular blocks, each a mapping of its own (`mmap`/`munmap` on unix,
//!   `VirtualAlloc`/`VirtualFree` on Windows), for large blocks and as the parent of
//!   allocators that carve small blocks out of large ones;
//! - [`Protected`] (feature `std`): an electric fence for debugging, every block on pages
//!   of its own with its end against an inaccessible page, freed pages made inaccessible
//!   and never reused, so that overflows and uses after free fault at once.
//!
//! # Examples
//!
//! ```
//! use alloc_pages::{Allocator, Pages, Protected};
//!
//! // 1 MiB straight from the system, zeroed for free (fresh pages read as zero).
//! let table = Pages.allocate_slice_with(1 << 17, |_| 0u64).unwrap();
//! assert_eq!(table.len(), 1 << 17);
//!
//! // Debugging: every block against a guard page.
//! let fence = Protected::new();
//! let b = fence.allocate([1u8; 100]).unwrap();
//! assert_eq!(b[99], 1); // b[100] would fault: the guard page follows
//! ```
//!
//! # Platforms
//!
//! The system calls go through `libc` on unix (`mmap`, `munmap`, `mprotect`, and
//! `mremap` on Linux and Android) and through `windows-sys` on Windows (`VirtualAlloc`,
//! `VirtualFree`, `VirtualProtect`): no hand-written FFI. **On targets with neither (bare
//! metal, `wasm32-unknown-unknown`) the crate builds but is empty**: there is no
//! operating system to ask for pages. Use a `Tlsf` or a `Scoped` over a static buffer
//! there.
//!
//! Under **Miri** both types take their memory from the global heap instead. Miri
//! (checked with nightly 1.97) emulates anonymous `mmap` and `mremap`, but treats an
//! `munmap` of part of a mapping (which `Pages` needs to trim an over-aligned mapping and
//! to shrink in place) as undefined behaviour, and has no `mprotect` (which `Protected`
//! needs). The fallback hands out page-aligned heap blocks, without guard pages, so that
//! Miri checks everything above the system calls: the rounding, alignment and
//! reallocation logic of `Pages`, and the records and checks of `Protected`. What differs:
//! `Pages` moves on every reallocation that changes the page count (no `mremap`, no tail
//! unmapping), and `Protected` deallocates a freed block's memory at once (Miri then
//! reports a use after free as such) rather than keeping it reserved and inaccessible.
//!
//! # Which to use
//!
//! `Pages` as the large-block side of a composition (a `Segregator` sending blocks of
//! 64 KiB and more to it), or as the parent of a `Tlsf` or a growing `Scoped`. `Pages` is
//! not a `BlockOwner`: it cannot tell its mappings from others' without a table. Every
//! request is a system call: it is not a general-purpose allocator.
//!
//! `Protected` in tests and debug builds, alone or under alloc-compose's `Guard`: **the
//! page-protected mode of `Guard` is `Guard::new(Protected::new())`**.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | [`Protected`] (its table is a `std` `Mutex`); implies `alloc` |
//! | `alloc` | via `std` | `Heap` re-exported |
//! | `allocator-api2-02` / `-03` / `-04` | yes | the `allocator-api2` traits for both types |
//! | `nightly` | no | `core::alloc::Allocator` for both types (nightly compiler only) |
//!
//! With no features the crate is `#![no_std]`, needs no allocator, and has `Pages`.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(any(all(feature = "std", any(unix, windows)), miri))]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(any(unix, windows))]
mod pages;
#[cfg(all(feature = "std", any(unix, windows)))]
mod protected;
#[cfg(any(unix, windows))]
mod sys;

#[cfg(any(unix, windows))]
pub use pages::Pages;
#[cfg(all(feature = "std", any(unix, windows)))]
pub use protected::Protected;

// The vocabulary of `alloc-core` (traits, block, errors, heap, the allocator-api2
// crates), so that this crate alone is enough: written once, in alloc-core.
alloc_core::__leaf_vocabulary!();

/// The traits, for `use alloc_pages::prelude::*`: [`Allocator`] and [`BlockOwner`].
///
/// # Examples
///
/// ```
/// use alloc_pages::prelude::*;
/// use alloc_pages::Pages;
///
/// let b = Pages.allocate(3u8).unwrap();
/// assert_eq!(*b, 3);
/// ```
pub mod prelude {
    pub use alloc_core::prelude::*;
}

/// The README's examples, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
