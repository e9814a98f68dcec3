//! Integration tests of alloc-tlsf: the conformance kit, splitting and merging, growth from
//! a parent, static buffers, bad input.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod checks;
mod tlsf;
