//! alloc-pages in compositions: the page-protected mode of `Guard`
//! (`Guard::new(Protected::new())`), `Pages` as the large side of a `Segregator` and as the
//! parent of a `Tlsf`, `Recycler<Pages>` (freed blocks kept for reuse), each through the
//! conformance kit and its re-entrancy mode.

use allocators::prelude::*;
use allocators::{Guard, Heap, Pages, Protected, Recycler, Segregator, Tlsf};
use core::alloc::Layout;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::kit;

/// Under Miri, alloc-pages takes its memory from the heap (its documented fallback).
fn kit_protected() -> allocators::testing::Conformance {
    // `Protected` costs three system calls per block: a tenth of the usual volume.
    kit(1_000)
}

#[test]
fn the_page_protected_mode_of_guard_passes_the_kit() {
    let r = kit_protected().check_owner(|| Guard::new(Protected::new()));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    let r =
        kit_protected().check_owner_reentrant(|reentry| Guard::new(reentry.wrap(Protected::new())));
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn the_page_protected_mode_of_guard_still_checks_its_fences() {
    let alloc = Guard::new(Protected::new());
    let block = alloc.allocate_raw(Layout::new::<[u8; 8]>()).unwrap();
    // SAFETY: none: one byte past the block on purpose, into `Guard`'s fence, which is
    // memory of the inner `Protected` block (so no fault and no undefined behaviour).
    unsafe { block.as_ptr().add(8).write(0) };
    let e = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `block` is currently allocated by `alloc`.
        unsafe { alloc.deallocate_raw(block) }
    }))
    .expect_err("the fence was overwritten");
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("buffer overflow"), "{msg}");
    // The guard is consistent after its panic: the block is still live; free it properly.
    // SAFETY: restore the fence byte (0xFD) and give the block back.
    unsafe {
        block.as_ptr().add(8).write(0xFD);
        alloc.deallocate_raw(block);
    }
    assert_eq!(alloc.inner().live_blocks(), 0);
}

#[test]
fn pages_as_the_large_side_and_as_a_parent() {
    let r = kit(2_000).check(|| Segregator::<4096, _, _>::new(Heap, Pages));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(2_000).check_owner(|| Tlsf::new_in(Pages, 1 << 16).unwrap());
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(2_000)
        .check_owner_reentrant(|reentry| Tlsf::new_in(reentry.wrap(Pages), 4096).unwrap());
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn recycler_over_pages_passes_the_kit_and_reuses_pages() {
    let r = kit(2_000).check(|| Recycler::new(Pages, 8));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    let r = kit(2_000).check(|| Recycler::with_limits(Pages, 2, 64 << 10));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(2_000).check_reentrant(|reentry| Recycler::new(reentry.wrap(Pages), 4));
    assert!(r.reentrant > 0, "{r:?}");
    // `Pages` owns nothing it could answer for; over an owner, the recycler is one.
    let r = kit(2_000).check_owner(|| Recycler::new(Tlsf::new_in(Pages, 1 << 16).unwrap(), 8));
    assert!(r.allocations > 0, "{r:?}");

    // A freed 1 MiB block comes back for the next request of its class, written pages
    // and all.
    let alloc = Recycler::new(Pages, 8);
    let layout = Layout::from_size_align(1 << 20, 8).unwrap();
    let first = alloc.allocate_raw(layout).unwrap();
    // SAFETY: valid for 1 MiB; given back once.
    unsafe {
        first.as_ptr().add(4096).write(42);
        alloc.deallocate_raw(first);
    }
    assert_eq!(alloc.kept_bytes(), 1 << 20);
    let again = alloc.allocate_raw(layout).unwrap();
    assert_eq!(again.ptr(), first.ptr());
    // SAFETY: the same memory, not given back to the system: the byte is still there.
    assert_eq!(unsafe { again.as_ptr().add(4096).read() }, 42);
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(again) };
}
