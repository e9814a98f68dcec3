//! `Bucketizer`: the conformance kit (powers of two and explicit classes), blocks of the
//! class size given back with any size that fits, spill-over through a `Fallback`, and the
//! foreign-block check.

use alloc_compose::{AllocatorExt, Bucketizer, Counters, Fallback, Null, Proxy};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::{Bump, Pool, kit};

fn pools(slots: usize) -> Bucketizer<Pool, 4> {
    Bucketizer::powers_of_two(16, |size| Ok(Pool::new(size, slots))).unwrap()
}

#[test]
fn pools_per_power_of_two_pass_as_an_owner() {
    let r = kit(500).check_owner(|| pools(8));
    // Requests above 128 bytes, and more than 8 per class, fail.
    assert!(r.allocations > 0 && r.failures > 0, "{r:?}");
}

#[test]
fn explicit_classes_pass_as_an_owner() {
    let r = kit(500).check_owner(|| {
        Bucketizer::<_, 3>::with_sizes([24, 40, 100], |_| Ok(Bump::new(2048))).unwrap()
    });
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn with_a_heap_fallback_nothing_fails() {
    let r = kit(500).check(|| pools(4).with_fallback(Heap));
    assert_eq!(r.failures, 0, "{r:?}");
}

#[test]
fn blocks_report_the_class_size_and_come_back_with_any_size_that_fits() {
    let alloc = pools(4);
    let layout = Layout::from_size_align(33, 1).unwrap();
    let block = alloc.allocate_raw(layout).unwrap();
    assert_eq!(block.size(), 64); // the slot of the 64-byte class
    assert_eq!(alloc.bucket(2).live(), 1);
    // Given back with the requested size: the same class.
    // SAFETY: a block of 33 bytes at the same address fits the block.
    unsafe { alloc.deallocate_raw(Block::from_raw_parts(block.ptr(), layout)) };
    assert_eq!(alloc.bucket(2).live(), 0);
}

#[test]
fn a_class_allocator_with_larger_blocks_is_capped_to_the_class() {
    // Every class is a pool of 256-byte slots: blocks are capped to their class size,
    // so a `Vec` using the reported size cannot push a block into the next class.
    let alloc = Bucketizer::<_, 3>::powers_of_two(32, |_| Ok(Pool::new(256, 4))).unwrap();
    let block = alloc.allocate_raw(Layout::new::<[u8; 20]>()).unwrap();
    assert_eq!(block.size(), 32);
    // SAFETY: currently allocated by `alloc`.
    let grown = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 100]>()) }.unwrap();
    assert_eq!(grown.size(), 128);
    assert_eq!((alloc.bucket(0).live(), alloc.bucket(2).live()), (0, 1));
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(grown) };
    kit(300)
        .check_owner(|| Bucketizer::<_, 3>::powers_of_two(32, |_| Ok(Pool::new(256, 4))).unwrap());
}

#[test]
fn reallocation_moves_between_classes_with_the_contents() {
    let alloc = pools(4);
    let mut v = allocator_api2_02::vec::Vec::<u8, _>::new_in(&alloc);
    for i in 0..100u8 {
        v.push(i); // grows 8 -> 16 -> 32 -> 64 -> 128 bytes, class by class
    }
    assert_eq!(v.capacity(), 128);
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u8));
    assert_eq!(alloc.bucket(3).live(), 1);
    assert_eq!(alloc.buckets().iter().map(Pool::live).sum::<usize>(), 1);
    v.truncate(3);
    v.shrink_to_fit(); // back to the 16-byte class
    assert_eq!((alloc.bucket(0).live(), alloc.bucket(3).live()), (1, 0));
    assert_eq!(&v[..], &[0, 1, 2]);
}

#[test]
fn too_large_requests_fail_so_a_fallback_serves_them() {
    let alloc: Fallback<Bucketizer<Pool, 4>, Proxy<Heap, Counters>> =
        pools(2).with_fallback(Heap.proxy(Counters::new()));
    assert_eq!(
        alloc.main().allocate_raw(Layout::new::<[u8; 129]>()).err(),
        Some(AllocatorError::TooLarge)
    );
    let a = alloc.allocate([1u8; 129]).unwrap(); // too large: the heap
    let b = alloc.allocate(1u64).unwrap();
    let c = alloc.allocate(2u64).unwrap();
    let d = alloc.allocate(3u64).unwrap(); // the 16-byte class is full: the heap
    // Over-aligned for a 16-byte slot: the pool refuses, the heap serves.
    let e = alloc
        .allocate_raw(Layout::from_size_align(8, 64).unwrap())
        .unwrap();
    assert_eq!(e.addr() % 64, 0);
    assert!(alloc.main().owns(&b) && alloc.main().owns(&c));
    assert!(!alloc.main().owns(&a) && !alloc.main().owns(&d) && !alloc.main().owns_block(&e));
    assert_eq!(alloc.fallback().logger().counts().allocations, 3);
    // SAFETY: `e` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(e) };
    // Reallocation beyond the largest class moves the block to the heap.
    let block = alloc.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    assert!(alloc.main().owns_block(&block));
    // SAFETY: `block` is currently allocated by `alloc`.
    let moved = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 1000]>()) }.unwrap();
    assert!(!alloc.main().owns_block(&moved));
    // SAFETY: `moved` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(moved) };
    drop((a, b, c, d));
    assert_eq!(alloc.fallback().logger().counts().bytes_live, 0);
    assert_eq!(
        alloc.main().buckets().iter().map(Pool::live).sum::<usize>(),
        0
    );
}

#[test]
#[should_panic(expected = "Bucketizer: foreign block")]
fn a_block_larger_than_every_class_panics() {
    let alloc = pools(2);
    let foreign = Heap.allocate_raw(Layout::new::<[u8; 200]>()).unwrap();
    assert!(!alloc.owns_block(&foreign));
    /// Frees the heap block while the panic unwinds (no leak, also under Miri).
    struct FreeOnDrop(Block);
    impl Drop for FreeOnDrop {
        fn drop(&mut self) {
            // SAFETY: allocated by `Heap` above, freed nowhere else.
            unsafe { Heap.deallocate_raw(self.0) }
        }
    }
    let _free = FreeOnDrop(foreign);
    // SAFETY: none: a block of `Heap`, on purpose; the bucketizer panics before using it.
    unsafe { alloc.deallocate_raw(foreign) };
}

#[test]
#[should_panic(expected = "Pool::deallocate_raw: foreign block")]
fn other_foreign_blocks_are_left_to_the_class_allocator() {
    let alloc = pools(2);
    let mut memory = [0u64; 2];
    let foreign = Block::from_raw_parts(
        core::ptr::NonNull::from(&mut memory).cast(),
        Layout::new::<[u64; 2]>(),
    );
    // SAFETY: none, on purpose: the 16-byte class's pool detects it before using it.
    unsafe { alloc.deallocate_raw(foreign) };
}

#[test]
fn a_bucketizer_is_send_and_sync_when_its_classes_are() {
    static_assertions::assert_impl_all!(Bucketizer<Heap, 4>: Send, Sync);
    static_assertions::assert_not_impl_any!(Bucketizer<Pool, 4>: Sync);
}

/// Issue 13, case 4: sizes near `usize::MAX` made the power-of-two test overflow ("attempt
/// to multiply with overflow" in debug builds). Now: a correct bucketizer (binary search),
/// in debug and release.
#[test]
fn class_sizes_near_usize_max_do_not_overflow() {
    let top = 1usize << (usize::BITS - 1);
    let b = Bucketizer::<Null, 2>::with_sizes([top, top + 1], |_| Ok(Null)).unwrap();
    assert_eq!(b.classes(), &[top, top + 1]);
    assert_eq!(b.class_of(1), Some(0));
    assert_eq!(b.class_of(top), Some(0));
    assert_eq!(b.class_of(top + 1), Some(1));
    assert_eq!(b.class_of(usize::MAX), None);
    let b = Bucketizer::<Null, 3>::with_sizes([top / 2, top, usize::MAX], |_| Ok(Null)).unwrap();
    assert_eq!(b.class_of(top + 1), Some(2));
    // An allocation the classes cannot serve is refused, not an overflow.
    assert!(
        b.allocate_raw(Layout::from_size_align(64, 8).unwrap())
            .is_err()
    );
}
