//! `Segregator`: the conformance kit (with a small side that hands out more than the
//! threshold), routing by size, moves across the threshold, and a small-object chain.

use alloc_compose::{AllocatorExt, Bucketizer, Counters, Null, Proxy, Segregator};
use alloc_core::{Allocator, AllocatorError, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::{Bump, Pool, kit};

#[test]
fn pool_and_heap_pass() {
    let r = kit(500).check(|| Pool::new(64, 8).segregate::<64, _>(Heap));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
}

#[test]
fn a_small_side_with_larger_blocks_is_capped_and_still_passes() {
    // The pool hands out 128-byte slots for requests of up to 64 bytes: the segregator
    // reports at most 64, so a block given back with any size that fits goes to the pool.
    let r = kit(500).check_owner(|| Pool::new(128, 8).segregate::<64, _>(Bump::new(8192)));
    assert!(r.allocations > 0, "{r:?}");
    let alloc = Pool::new(128, 8).segregate::<64, _>(Heap);
    let block = alloc.allocate_raw(Layout::new::<[u8; 10]>()).unwrap();
    assert_eq!(block.size(), 64);
    // SAFETY: `block` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    assert_eq!(alloc.small().live(), 0);
}

#[test]
fn owners_on_both_sides_make_an_owner() {
    kit(300).check_owner(|| Bump::new(2048).segregate::<32, _>(Pool::new(4096, 4)));
    let alloc = Pool::new(32, 4).segregate::<32, _>(Bump::new(1024));
    let small = alloc.allocate(1u64).unwrap();
    let large = alloc.allocate([0u8; 33]).unwrap();
    assert!(alloc.owns(&small) && alloc.owns(&large));
    assert!(alloc.small().owns(&small) && alloc.large().owns(&large));
    assert!(!alloc.owns(&Heap.allocate(1u64).unwrap()));
}

#[test]
fn each_request_goes_to_one_side_only() {
    let alloc = Null
        .proxy(Counters::new())
        .segregate::<16, _>(Heap.proxy(Counters::new()));
    assert!(matches!(
        alloc.allocate([0u8; 16]),
        Err((AllocatorError::OutOfMemory, _))
    ));
    assert_eq!(alloc.large().logger().counts().allocations, 0);
    assert!(alloc.allocate([0u8; 17]).is_ok());
    assert_eq!(alloc.small().logger().counts().failures, 1);
    assert_eq!(alloc.large().logger().counts().allocations, 1);
    // Zero-size requests are the small side's, whatever it is.
    let empty = alloc.allocate_raw(Layout::new::<[u64; 0]>()).unwrap();
    assert!(empty.is_empty() && empty.addr() % 8 == 0);
}

#[test]
fn reallocation_across_the_threshold_moves_the_block_both_ways() {
    let small = Pool::new(64, 4);
    let large = Bump::new(4096);
    let alloc = Segregator::<64, _, _>::new(&small, &large);
    let block = alloc.allocate_raw(Layout::new::<[u8; 40]>()).unwrap();
    // SAFETY: the block is valid for 40 bytes.
    unsafe { block.as_ptr().write_bytes(0x11, 40) };
    // Within the small side: the pool grows in place.
    // SAFETY: `block` is currently allocated by `alloc`.
    let same = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 64]>()) }.unwrap();
    assert_eq!(same.ptr(), block.ptr());
    // Across: to the bump allocator, contents and all.
    // SAFETY: `same` is currently allocated by `alloc`.
    let grown = unsafe { alloc.reallocate_raw(same, Layout::new::<[u8; 500]>()) }.unwrap();
    assert!(large.owns_block(&grown) && small.live() == 0);
    // SAFETY: 40 bytes were written, and moved.
    let bytes = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 40) };
    assert!(bytes.iter().all(|&b| b == 0x11));
    // And back.
    // SAFETY: `grown` is currently allocated by `alloc`.
    let back = unsafe { alloc.reallocate_raw(grown, Layout::new::<[u8; 8]>()) }.unwrap();
    assert!(small.owns_block(&back) && large.live() == 0);
    // SAFETY: the first 8 bytes were moved back.
    assert_eq!(unsafe { back.as_ptr().add(7).read() }, 0x11);
    // A move the other side cannot serve leaves the block where it was.
    let full = Segregator::<64, _, _>::new(&small, Null);
    // SAFETY: `back` is currently allocated by `full` (its small side is `small`).
    let err = unsafe { full.reallocate_raw(back, Layout::new::<[u8; 65]>()) };
    assert_eq!(err, Err(AllocatorError::OutOfMemory));
    assert_eq!(small.live(), 1);
    // SAFETY: still allocated, by the small side.
    unsafe { alloc.deallocate_raw(back) };
    assert_eq!(small.live(), 0);
}

/// The small-object allocator: size classes in front of the heap, with the counts
/// showing where each request went.
type SmallObjects = Segregator<256, Bucketizer<Proxy<Pool, Counters>, 5>, Proxy<Heap, Counters>>;

#[test]
fn a_small_object_chain_routes_by_size() {
    let alloc: SmallObjects =
        Bucketizer::powers_of_two(16, |size| Ok(Pool::new(size, 64).proxy(Counters::new())))
            .unwrap()
            .segregate::<256, _>(Heap.proxy(Counters::new()));
    let mut boxes = Vec::new();
    for size in [1usize, 16, 17, 100, 200, 256, 257, 4000] {
        boxes.push(alloc.allocate_slice_with(size, |i| i as u8).unwrap());
    }
    let per_class: Vec<usize> = alloc
        .small()
        .buckets()
        .iter()
        .map(|b| b.logger().counts().allocations)
        .collect();
    assert_eq!(per_class, [2, 1, 0, 1, 2]);
    assert_eq!(alloc.large().logger().counts().allocations, 2);
    assert!(
        boxes
            .iter()
            .all(|b| b.iter().enumerate().all(|(i, &x)| x == i as u8))
    );
    drop(boxes);
    let live: usize = alloc
        .small()
        .buckets()
        .iter()
        .map(|b| b.inner().live())
        .sum();
    assert_eq!(live, 0);
    assert_eq!(alloc.large().logger().counts().bytes_live, 0);
    let r = kit(300).check(|| {
        Bucketizer::<_, 5>::powers_of_two(16, |size| Ok(Pool::new(size, 8)))
            .unwrap()
            .segregate::<256, _>(Heap)
    });
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn a_segregator_of_zero_size_types_is_zero_size() {
    assert_eq!(size_of::<Segregator<64, Null, Heap>>(), 0);
    static_assertions::assert_impl_all!(Segregator<64, Null, Heap>: Send, Sync, Copy);
    static_assertions::assert_not_impl_any!(Segregator<64, Pool, Heap>: Sync);
}
