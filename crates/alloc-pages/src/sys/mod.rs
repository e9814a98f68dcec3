//! The operating system's page calls, one module per platform, all with the same
//! functions; the rest of the crate calls only this module.
//!
//! - `unix`: `mmap`, `munmap`, `mprotect`, and on Linux and Android `mremap`, through
//!   `libc`.
//! - `windows`: `VirtualAlloc`, `VirtualFree`, `VirtualProtect`, through `windows-sys`.
//! - `heap` (under Miri, which has no `mprotect` and rejects an `munmap` of part of a
//!   mapping, though it emulates `mmap` and `mremap`): the global heap with page
//!   alignment, so that Miri still checks the rounding, alignment and reallocation logic
//!   of `Pages` and the bookkeeping of `Protected`.
//!
//! Every length given to these functions is a non-zero multiple of [`page_size`], at
//! most `isize::MAX` (the callers check), and every alignment a power of two of at least
//! a page.

// The guarded mappings serve `Protected` only, which needs the `std` feature.
#![cfg_attr(not(feature = "std"), allow(dead_code))]

use core::sync::atomic::{AtomicUsize, Ordering};

#[cfg(miri)]
mod heap;
#[cfg(miri)]
pub(crate) use heap::*;

#[cfg(all(unix, not(miri)))]
mod unix;
#[cfg(all(unix, not(miri)))]
pub(crate) use unix::*;

#[cfg(all(windows, not(miri)))]
mod windows;
#[cfg(all(windows, not(miri)))]
pub(crate) use windows::*;

/// The page size, 0 until the first call asks the system.
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The size of a page: the system's answer, asked once and cached. Always a power of two.
#[inline]
pub(crate) fn page_size() -> usize {
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => page_size_slow(),
        size => size,
    }
}

#[cold]
#[inline(never)]
fn page_size_slow() -> usize {
    let size = os_page_size();
    // Every system this crate knows has power-of-two pages; the rounding relies on it.
    assert!(
        size.is_power_of_two(),
        "alloc_pages: the system's page size {size} is not a power of two"
    );
    // Every thread computes the same value: a plain store is enough.
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}
