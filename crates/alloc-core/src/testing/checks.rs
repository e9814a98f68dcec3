//! Small checks for bad-input tests: the message of an expected panic, and whether an
//! allocator still works after a refusal or a panic.

extern crate std;

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::alloc::Layout;
use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

use crate::Allocator;

/// The message of the panic that `f` raises: its `String` or `&str` payload (empty for any
/// other payload). The panic hook still runs (and prints, by default).
///
/// # Panics
///
/// If `f` returns without panicking.
///
/// # Examples
///
/// ```
/// use alloc_core::testing::panic_message;
///
/// assert_eq!(panic_message(|| panic!("bad block {}", 7)), "bad block 7");
/// assert_eq!(panic_message(|| panic!("static")), "static");
/// ```
#[track_caller]
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Allocates one 24-byte block from `a`, writes it and gives it back: after a refused
/// request or a caught panic, the allocator still serves.
///
/// # Panics
///
/// With `name` and the error, if `a` refuses the request.
///
/// # Examples
///
/// ```
/// use alloc_core::{Heap, testing::assert_usable};
///
/// assert_usable("Heap", &Heap);
/// let dynamic: &dyn alloc_core::Allocator = &Heap;
/// assert_usable("dyn Heap", dynamic);
/// ```
#[track_caller]
pub fn assert_usable<A: Allocator + ?Sized>(name: &str, a: &A) {
    let layout = Layout::new::<[u64; 3]>();
    let block = a
        .allocate_raw(layout)
        .unwrap_or_else(|e| panic!("{name}: no longer usable: {e}"));
    // SAFETY: `block` is valid for 24 bytes and currently allocated by `a`; it is given
    // back once and not used afterwards.
    unsafe {
        block.as_ptr().write_bytes(1, layout.size());
        a.deallocate_raw(block);
    }
}
