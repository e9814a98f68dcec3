//! Integration tests of alloc-pages: the conformance kit for `Pages` and `Protected`,
//! rounding, alignment and reallocation, the guard pages, bad input, and faults seen from
//! a child process.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod bad_input;
#[cfg(all(unix, not(miri)))]
mod fault;
mod pages;
mod protected;

use core::alloc::Layout;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}
