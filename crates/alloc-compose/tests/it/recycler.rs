//! `Recycler`: the conformance kit (plain, owner, re-entrant, with and without tight
//! limits), reuse within a size class and alignment, eviction of the oldest block, the byte
//! cap, zeroed reuse, flush and drop, and bad input (double free, reallocating a kept
//! block).

use alloc_compose::{AllocatorExt, Counters, Recycler};
use alloc_core::testing::{Conformance, panic_message};
use alloc_core::{Allocator, Block, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::{Bump, Pool, kit};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn passes_the_kit_with_any_limits() {
    let r = kit(2_000).check(|| Recycler::new(Heap, 8));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    // Tight limits: evictions on most frees.
    let r = kit(1_000).check(|| Recycler::with_limits(Heap, 2, 256));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(500).check(|| Recycler::new(Heap, 0));
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn over_owners_it_is_an_owner() {
    let r = kit(1_000).check_owner(|| Recycler::new(Bump::new(1 << 16), 4));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(1_000).check_owner(|| Recycler::with_limits(Pool::new(128, 16), 3, 300));
    assert!(r.allocations > 0 && r.failures > 0, "{r:?}");
    let alloc = Recycler::new(Pool::new(64, 4), 4);
    let mine = alloc.allocate([0u8; 40]).unwrap();
    assert!(alloc.owns(&mine));
    assert!(!alloc.owns(&Heap.allocate([0u8; 40]).unwrap()));
}

#[test]
fn inner_allocator_that_reenters() {
    let n = if cfg!(miri) { 8 } else { 10_000 };
    let r = Conformance::new()
        .tests(n)
        .check_reentrant(|reentry| Recycler::new(reentry.wrap(Heap), 4));
    assert!(r.reentrant > 0, "{r:?}");
    let r = Conformance::new()
        .tests(n)
        .check_reentrant(|reentry| Recycler::with_limits(reentry.wrap(Heap), 2, 200));
    assert!(r.reentrant > 0, "{r:?}");
    let r = Conformance::new()
        .tests(n)
        .check_owner_reentrant(|reentry| Recycler::new(reentry.wrap(Bump::new(1 << 16)), 3));
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn a_freed_block_serves_its_size_class_and_alignment_only() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 8);
    let a = alloc.allocate_raw(layout(100, 8)).unwrap();
    assert_eq!(a.size(), 112, "the class of 100 bytes");
    // SAFETY: `a` is currently allocated by `alloc`; given back with the requested size,
    // which fits.
    unsafe { alloc.deallocate_raw(Block::from_raw_parts(a.ptr(), layout(100, 8))) };
    assert_eq!((alloc.kept_blocks(), alloc.kept_bytes()), (1, 112));
    // Another class (113 bytes: 128) and another alignment miss it.
    let other_class = alloc.allocate_raw(layout(113, 8)).unwrap();
    let other_align = alloc.allocate_raw(layout(100, 16)).unwrap();
    assert_ne!(other_class.ptr(), a.ptr());
    assert_ne!(other_align.ptr(), a.ptr());
    // Any size of the class gets it back, reported with the class size.
    let b = alloc.allocate_raw(layout(105, 8)).unwrap();
    assert_eq!((b.ptr(), b.size(), b.align()), (a.ptr(), 112, 8));
    assert_eq!(heap.logger().counts().allocations, 3);
    // SAFETY: each block is currently allocated by `alloc`, given back once.
    unsafe {
        alloc.deallocate_raw(b);
        alloc.deallocate_raw(other_class);
        alloc.deallocate_raw(other_align);
    }
    assert_eq!(alloc.kept_blocks(), 3);
    drop(alloc);
    let counts = heap.logger().counts();
    assert_eq!((counts.deallocations, counts.bytes_live), (3, 0));
}

#[test]
fn the_oldest_block_is_evicted_first() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 2);
    let blocks: Vec<Block> = (0..3)
        .map(|_| alloc.allocate_raw(layout(64, 8)).unwrap())
        .collect();
    for b in &blocks {
        // SAFETY: each block is currently allocated by `alloc`, given back once.
        unsafe { alloc.deallocate_raw(*b) };
    }
    assert_eq!(alloc.kept_blocks(), 2);
    assert_eq!(heap.logger().counts().deallocations, 1);
    // The newest comes back first; the oldest went back to the heap.
    let again: Vec<Block> = (0..2)
        .map(|_| alloc.allocate_raw(layout(64, 8)).unwrap())
        .collect();
    assert_eq!(
        again.iter().map(Block::ptr).collect::<Vec<_>>(),
        [blocks[2].ptr(), blocks[1].ptr()]
    );
    for b in again {
        // SAFETY: currently allocated by `alloc`, given back once.
        unsafe { alloc.deallocate_raw(b) };
    }
}

#[test]
fn the_byte_cap_bounds_the_kept_memory() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::with_limits(&heap, 8, 1000);
    let blocks: Vec<Block> = [512, 256, 384, 2048]
        .iter()
        .map(|&s| alloc.allocate_raw(layout(s, 8)).unwrap())
        .collect();
    for (i, b) in blocks.iter().enumerate() {
        // SAFETY: each block is currently allocated by `alloc`, given back once.
        unsafe { alloc.deallocate_raw(*b) };
        assert!(
            alloc.kept_bytes() <= 1000,
            "after {i}: {}",
            alloc.kept_bytes()
        );
    }
    // 512 + 256 fit, 384 more evicts the oldest (512); 2048 alone exceeds the cap.
    assert_eq!((alloc.kept_blocks(), alloc.kept_bytes()), (2, 256 + 384));
    assert_eq!(heap.logger().counts().bytes_live, 256 + 384);
    alloc.flush();
    assert_eq!(heap.logger().counts().bytes_live, 0);
    assert_eq!(alloc.kept_blocks(), 0);
}

#[test]
fn small_blocks_are_not_kept() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 8);
    let b = alloc.allocate_raw(layout(16, 8)).unwrap();
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(b) };
    assert_eq!(alloc.kept_blocks(), 0);
    assert_eq!(heap.logger().counts().bytes_live, 0);
}

#[test]
fn a_kept_block_is_zeroed_for_a_zeroed_request() {
    let alloc = Recycler::new(Heap, 4);
    let b = alloc.allocate_raw(layout(300, 8)).unwrap();
    // SAFETY: valid for its size.
    unsafe { b.as_ptr().write_bytes(0xAB, b.size()) };
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(b) };
    let z = alloc.allocate_zeroed_raw(layout(300, 8)).unwrap();
    assert_eq!(z.ptr(), b.ptr());
    // SAFETY: valid and initialised (zeroed) for its size.
    let bytes = unsafe { core::slice::from_raw_parts(z.as_ptr(), z.size()) };
    assert!(bytes.iter().all(|&x| x == 0));
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(z) };
}

#[test]
fn reallocation_stays_within_the_class_and_else_goes_to_the_inner_allocator() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 4);
    let b = alloc.allocate_raw(layout(200, 8)).unwrap();
    assert_eq!(b.size(), 224);
    // SAFETY: valid for its size.
    unsafe { b.as_ptr().write_bytes(7, 200) };
    // SAFETY: currently allocated by `alloc`.
    let same = unsafe { alloc.reallocate_raw(b, layout(220, 8)) }.unwrap();
    assert_eq!(
        (same.ptr(), heap.logger().counts().reallocations),
        (b.ptr(), 0)
    );
    // SAFETY: currently allocated by `alloc`.
    let grown = unsafe { alloc.reallocate_raw(same, layout(1000, 8)) }.unwrap();
    assert_eq!(
        (grown.size(), heap.logger().counts().reallocations),
        (1024, 1)
    );
    // SAFETY: the first 200 bytes moved with the block.
    assert_eq!(unsafe { grown.as_ptr().add(199).read() }, 7);
    // SAFETY: currently allocated by `alloc`; reallocating to zero frees (and keeps) it.
    let empty = unsafe { alloc.reallocate_raw(grown, layout(0, 8)) }.unwrap();
    assert_eq!((empty.size(), alloc.kept_blocks()), (0, 1));
}

#[test]
fn freeing_a_kept_block_again_panics_and_the_recycler_stays_usable() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 4);
    let b = alloc.allocate_raw(layout(4096, 8)).unwrap();
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(b) };
    let msg = panic_message(|| {
        // SAFETY: none: a double free on purpose, which the recycler detects (the block is
        // kept) before touching anything.
        unsafe { alloc.deallocate_raw(b) }
    });
    assert!(msg.contains("Recycler: double free"), "{msg}");
    let msg = panic_message(|| {
        // SAFETY: none: reallocating a freed block on purpose, detected as above.
        let _ = unsafe { alloc.reallocate_raw(b, layout(8192, 8)) };
    });
    assert!(msg.contains("Recycler: double free"), "{msg}");
    assert_eq!(alloc.kept_blocks(), 1);
    let again = alloc.allocate_raw(layout(4096, 8)).unwrap();
    assert_eq!(again.ptr(), b.ptr());
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(again) };
    drop(alloc);
    assert_eq!(heap.logger().counts().bytes_live, 0);
}

#[test]
fn into_inner_gives_the_kept_blocks_back() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 4);
    drop(alloc.allocate([0u8; 500]).unwrap());
    assert_eq!(heap.logger().counts().bytes_live, 512);
    let inner = alloc.into_inner();
    assert_eq!(inner.logger().counts().bytes_live, 0);
}

#[test]
fn send_not_sync() {
    static_assertions::assert_impl_all!(Recycler<Heap>: Send);
    static_assertions::assert_not_impl_any!(Recycler<Heap>: Sync);
    static_assertions::assert_not_impl_any!(Recycler<Pool>: Send);
}

// The rows of docs/bad-input.md ("Recycler").

#[test]
fn zero_size_requests() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Recycler::new(&heap, 4);
    let b = alloc.allocate_raw(layout(0, 64)).unwrap();
    assert_eq!((b.size(), b.addr() % 64), (0, 0));
    // SAFETY: an empty block: giving it back (twice) does nothing.
    unsafe {
        alloc.deallocate_raw(b);
        alloc.deallocate_raw(b);
    }
    assert_eq!(
        (alloc.kept_blocks(), heap.logger().counts().allocations),
        (0, 0)
    );
}

#[test]
fn isize_max_and_overflowing_sizes() {
    let alloc = Recycler::new(Heap, 4);
    let max = isize::MAX as usize;
    for size in [max - 100, max] {
        assert_eq!(
            alloc.allocate_raw(layout(size, 1)).unwrap_err(),
            alloc_core::AllocatorError::SizeOverflow,
            "{size}"
        );
    }
    let b = alloc.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: currently allocated by `alloc`; on error it stays allocated.
    let e = unsafe { alloc.reallocate_raw(b, layout(max - 100, 8)) }.unwrap_err();
    assert_eq!(e, alloc_core::AllocatorError::SizeOverflow);
    // SAFETY: still allocated (the failed reallocation left it).
    unsafe { alloc.deallocate_raw(b) };
}

#[test]
fn exhaustion_and_too_large_are_the_inner_answers() {
    let alloc = Recycler::new(Pool::new(64, 2), 4);
    let a = alloc.allocate_raw(layout(40, 8)).unwrap();
    let b = alloc.allocate_raw(layout(40, 8)).unwrap();
    assert_eq!(
        alloc.allocate_raw(layout(40, 8)).unwrap_err(),
        alloc_core::AllocatorError::OutOfMemory
    );
    // SAFETY: currently allocated by `alloc`; on error it stays allocated.
    let e = unsafe { alloc.reallocate_raw(a, layout(100, 8)) }.unwrap_err();
    assert_eq!(e, alloc_core::AllocatorError::TooLarge);
    // SAFETY: each currently allocated by `alloc`, given back once.
    unsafe {
        alloc.deallocate_raw(a);
        alloc.deallocate_raw(b);
    }
    // Both kept: the pool is still full, yet requests of their class are served.
    assert_eq!(alloc.inner().live(), 2);
    assert!(alloc.allocate_raw(layout(40, 8)).is_ok());
}

#[test]
fn freeing_a_foreign_block_reaches_the_inner_allocator_when_not_kept() {
    let foreign = Pool::new(64, 2);
    let other = foreign.allocate_raw(layout(40, 8)).unwrap();
    // Nothing kept (`max_blocks` 0): the inner allocator checks at once.
    let alloc = Recycler::new(Pool::new(64, 2), 0);
    let msg = panic_message(|| {
        // SAFETY: none: a foreign block on purpose, which the inner pool detects.
        unsafe { alloc.deallocate_raw(Block::from_raw_parts(other.ptr(), layout(40, 8))) }
    });
    assert!(msg.contains("Pool"), "{msg}");
    // SAFETY: `other` is currently allocated by `foreign`.
    unsafe { foreign.deallocate_raw(other) };
    assert!(alloc.allocate_raw(layout(40, 8)).is_ok());
}
