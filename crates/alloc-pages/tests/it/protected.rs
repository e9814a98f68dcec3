//! `Protected`: the conformance kit (as an owner), placement against the guard page,
//! addresses never reused, reallocation moving, threads.

use alloc_core::testing::Conformance;
use alloc_pages::{Allocator, BlockOwner, Pages, Protected};
use static_assertions::assert_impl_all;
use std::collections::HashSet;
use std::sync::Arc;

use crate::layout;

assert_impl_all!(Protected: Send, Sync, Default, core::fmt::Debug);

#[test]
fn it_passes_the_kit_as_an_owner() {
    // Fewer sequences than the usual 10,000: every block costs three system calls and a
    // mapping that stays until the sequence's allocator is dropped (1,000 sequences take
    // about as long as the other crates' 10,000).
    let r = Conformance::new().tests(1_000).check_owner(Protected::new);
    assert!(
        r.allocations > 0 && r.reallocations > 0 && r.deallocations > 0,
        "{r:?}"
    );
}

#[test]
fn the_end_of_every_block_touches_the_guard_page() {
    let page = Pages::page_size();
    let fence = Protected::new();
    for size in [1, 3, 100, page - 1, page, page + 1, 3 * page + 7] {
        for align in [1, 2, 8, 64, page, 2 * page, 1 << 16] {
            let b = fence.allocate_raw(layout(size, align)).unwrap();
            assert_eq!(b.addr() % align, 0, "size {size} align {align}");
            assert_eq!(b.align(), align);
            assert!(
                b.size() >= size && b.size() - size < align,
                "{b:?} for {size}"
            );
            assert_eq!(
                (b.addr() + b.size()) % page,
                0,
                "the block ends where a page (the guard) begins: {b:?}"
            );
            // SAFETY: valid for `size()` bytes: the first and the last are ours.
            unsafe {
                b.as_ptr().write(1);
                b.as_ptr().add(b.size() - 1).write(2);
            }
            assert!(fence.owns_block(&b));
            // SAFETY: currently allocated by `fence`.
            unsafe { fence.deallocate_raw(b) };
            assert!(!fence.owns_block(&b), "a freed block is no longer owned");
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "under Miri the fallback frees to the heap, which reuses addresses"
)]
fn addresses_are_never_reused() {
    let fence = Protected::new();
    let mut seen = HashSet::new();
    for i in 0..200 {
        let b = fence.allocate_raw(layout(1 + i % 50, 8)).unwrap();
        assert!(
            seen.insert(b.addr()),
            "address {:#x} handed out twice",
            b.addr()
        );
        // SAFETY: currently allocated by `fence`.
        unsafe { fence.deallocate_raw(b) };
    }
    assert_eq!((fence.live_blocks(), fence.freed_blocks()), (0, 200));
}

#[test]
fn reallocation_moves_and_keeps_the_contents() {
    let fence = Protected::new();
    let b = fence.allocate_raw(layout(10, 1)).unwrap();
    // SAFETY: valid for 10 bytes.
    unsafe { b.as_ptr().write_bytes(5, 10) };
    // SAFETY: currently allocated by `fence`.
    let grown = unsafe { fence.reallocate_raw(b, layout(20, 1)) }.unwrap();
    assert_ne!(grown.ptr(), b.ptr(), "the old block's pages are retired");
    // SAFETY: the first 10 bytes were copied.
    assert_eq!(unsafe { grown.as_ptr().add(9).read() }, 5);
    assert!(!fence.owns_block(&b) && fence.owns_block(&grown));
    // SAFETY: currently allocated by `fence`.
    let gone = unsafe { fence.reallocate_raw(grown, layout(0, 1)) }.unwrap();
    assert!(gone.is_empty());
    assert_eq!(fence.live_blocks(), 0);
}

#[test]
fn owns_only_its_own_live_blocks() {
    let (a, b) = (Protected::new(), Protected::new());
    let x = a.allocate_raw(layout(64, 8)).unwrap();
    let y = b.allocate_raw(layout(64, 8)).unwrap();
    assert!(a.owns_block(&x) && !a.owns_block(&y) && b.owns_block(&y) && !b.owns_block(&x));
    let heap = alloc_pages::Heap.allocate_raw(layout(64, 8)).unwrap();
    assert!(!a.owns_block(&heap));
    // SAFETY: each block to its own allocator.
    unsafe {
        alloc_pages::Heap.deallocate_raw(heap);
        a.deallocate_raw(x);
        b.deallocate_raw(y);
    }
}

#[test]
fn threads_share_one_fence() {
    let fence = Arc::new(Protected::new());
    let rounds = if cfg!(miri) { 5 } else { 200 };
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let fence = Arc::clone(&fence);
            std::thread::spawn(move || {
                for i in 0..rounds {
                    let v = fence.allocate_slice_with(1 + i % 33, |j| (t, j)).unwrap();
                    assert!(v.iter().enumerate().all(|(j, &x)| x == (t, j)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!((fence.live_blocks(), fence.freed_blocks()), (0, 4 * rounds));
}
