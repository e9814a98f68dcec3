//! `Quantizer`: the conformance kit (plain, owner and re-entrant) with each rounding,
//! in-place growth within a rounded size, the good size, bad input.

use alloc_compose::{AllocatorExt, Counters, Multiple, PowerOfTwo, Quantizer, SizeClassRounding};
use alloc_core::testing::Conformance;
use alloc_core::{Allocator, AllocatorError, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::{Bump, Pool, kit};

#[test]
fn every_rounding_passes_the_kit() {
    let r = kit(2_000).check(|| Quantizer::new(Heap));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    let r = kit(1_000).check(|| Quantizer::with_rounding(Heap, SizeClassRounding));
    assert!(r.allocations > 0, "{r:?}");
    let r = kit(1_000).check(|| Quantizer::with_rounding(Heap, Multiple::<48>));
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn over_owners_it_is_an_owner() {
    let r = kit(1_000).check_owner(|| Quantizer::new(Bump::new(1 << 16)));
    assert!(r.allocations > 0, "{r:?}");
    let r =
        kit(1_000).check_owner(|| Quantizer::with_rounding(Pool::new(128, 16), SizeClassRounding));
    assert!(r.allocations > 0 && r.failures > 0, "{r:?}");
    let alloc = Quantizer::new(Pool::new(64, 4));
    let mine = alloc.allocate([0u8; 3]).unwrap();
    assert!(alloc.owns(&mine));
    assert!(!alloc.owns(&Heap.allocate([0u8; 3]).unwrap()));
}

#[test]
fn inner_allocator_that_reenters() {
    let n = if cfg!(miri) { 8 } else { 10_000 };
    let r = Conformance::new()
        .tests(n)
        .check_reentrant(|reentry| Quantizer::with_rounding(reentry.wrap(Heap), SizeClassRounding));
    assert!(r.reentrant > 0, "{r:?}");
    let r = Conformance::new()
        .tests(n)
        .check_owner_reentrant(|reentry| Quantizer::new(reentry.wrap(Bump::new(1 << 16))));
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn growth_within_the_rounded_size_does_not_reach_the_inner_allocator() {
    let heap = Heap.proxy(Counters::new());
    let alloc = Quantizer::with_rounding(&heap, SizeClassRounding);
    let mut block = alloc.allocate_raw(Layout::new::<[u8; 17]>()).unwrap();
    assert_eq!(block.size(), 20);
    // SAFETY: the block is valid for its 20 bytes.
    unsafe { block.as_ptr().write_bytes(3, 20) };
    for size in 18..=20 {
        let layout = Layout::from_size_align(size, 1).unwrap();
        // SAFETY: `block` is currently allocated by `alloc`.
        block = unsafe { alloc.reallocate_raw(block, layout) }.unwrap();
    }
    assert_eq!(heap.logger().counts().reallocations, 0);
    // SAFETY: `block` is currently allocated by `alloc`.
    block = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 21]>()) }.unwrap();
    assert_eq!(
        (heap.logger().counts().reallocations, block.size()),
        (1, 24)
    );
    // SAFETY: the first 20 bytes moved with the block.
    assert_eq!(unsafe { block.as_ptr().add(19).read() }, 3);
    // Shrinking within the class stays too; the block is given back with a size that fits.
    // SAFETY: `block` is currently allocated by `alloc`.
    block = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 22]>()) }.unwrap();
    assert_eq!(heap.logger().counts().reallocations, 1);
    let fitting = alloc_core::Block::from_raw_parts(block.ptr(), Layout::new::<[u8; 21]>());
    // SAFETY: `fitting` fits the block (21 is between the request and the size returned).
    unsafe { alloc.deallocate_raw(fitting) };
    assert_eq!(heap.logger().counts().bytes_live, 0);
}

#[test]
fn the_good_size_is_the_rounded_size() {
    let q = Quantizer::new(Heap);
    assert_eq!(q.good_size(Layout::new::<[u8; 100]>()), 128);
    // Forwarded through references (collections hold `&Quantizer`).
    assert_eq!(Allocator::good_size(&&q, Layout::new::<[u8; 100]>()), 128);
    assert_eq!(Heap.good_size(Layout::new::<[u8; 100]>()), 100);
    let b = q.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    assert_eq!(b.size(), 128);
    // SAFETY: `b` is currently allocated by `q`.
    unsafe { q.deallocate_raw(b) };
    assert_eq!(*q.rounding(), PowerOfTwo);
}

#[test]
fn rounding_past_isize_max_is_size_overflow() {
    let q = Quantizer::new(Heap);
    let big = Layout::from_size_align((isize::MAX as usize >> 1) + 2, 1).unwrap();
    assert_eq!(q.allocate_raw(big), Err(AllocatorError::SizeOverflow));
    let b = q.allocate_raw(Layout::new::<u8>()).unwrap();
    // SAFETY: `b` is currently allocated by `q`; on error it stays so.
    let r = unsafe { q.reallocate_raw(b, big) };
    assert_eq!(r, Err(AllocatorError::SizeOverflow));
    // SAFETY: `b` is still allocated.
    unsafe { q.deallocate_raw(b) };
}

#[cfg(feature = "allocator-api2-02")]
#[test]
fn a_vec_growing_exactly_moves_once_per_class() {
    use allocator_api2_02::vec::Vec;
    let heap = Heap.proxy(Counters::new());
    let alloc = Quantizer::new(&heap);
    let mut v: Vec<u8, _> = Vec::new_in(&alloc);
    for i in 0..1000u32 {
        v.reserve_exact(1);
        v.push(i as u8);
    }
    // 1, 2, 4, … 1024: eleven classes, ten moves between them.
    assert_eq!(heap.logger().counts().reallocations, 10);
    assert_eq!(v[999], (999u32 as u8));
}
