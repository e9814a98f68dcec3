//! `AllocatorList`: the conformance kit on lists of pools and of bump regions, growth by
//! instances, the one spare, moves between instances, and an unbounded small-object
//! allocator built from fixed-size pools.

use std::cell::Cell;

use alloc_compose::{AllocatorExt, AllocatorFactory, AllocatorList, Bucketizer, Counters, Guard};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap, InitError};
use core::alloc::Layout;

use crate::support::{Bump, Pool, kit};

#[test]
fn lists_of_pools_and_of_regions_pass_as_owners() {
    let r = kit(500).check_owner(|| AllocatorList::new(|| Ok(Pool::new(64, 2))));
    // Only requests above 64 bytes (or 64-aligned) fail: the list grows instead.
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    kit(500).check_owner(|| AllocatorList::new(|| Ok(Bump::new(1024))));
}

#[test]
fn instances_are_made_on_demand_and_dropped_when_empty_but_one() {
    let made = Cell::new(0);
    let list = AllocatorList::new(|| {
        made.set(made.get() + 1);
        Ok(Pool::new(16, 4))
    });
    assert_eq!(list.instances(), 0);
    let mut boxes: Vec<_> = (0..10u64).map(|i| list.allocate(i).unwrap()).collect();
    assert_eq!((list.instances(), made.get()), (3, 3));
    assert!(!list.has_spare());
    // Free the first four (the first pool): it becomes the spare.
    boxes.drain(..4);
    assert_eq!(list.instances(), 3);
    assert!(list.has_spare());
    // Free the next four: a second empty pool is dropped.
    boxes.drain(..4);
    assert_eq!(list.instances(), 2);
    // The spare serves again before any new pool is made.
    let more: Vec<_> = (0..4u64).map(|i| list.allocate(i).unwrap()).collect();
    assert_eq!((list.instances(), made.get()), (2, 3));
    assert!(!list.has_spare());
    drop((boxes, more));
    assert_eq!(list.instances(), 1);
    assert!(list.has_spare());
}

#[test]
fn errors_other_than_out_of_memory_do_not_grow_the_list() {
    let list = AllocatorList::new(|| Ok(Pool::new(32, 4)));
    let big = Layout::from_size_align(33, 1).unwrap();
    assert_eq!(list.allocate_raw(big).err(), Some(AllocatorError::TooLarge));
    // The first request made the first instance (the list was empty); it stays, as the spare.
    assert_eq!(list.instances(), 1);
    assert_eq!(list.allocate_raw(big).err(), Some(AllocatorError::TooLarge));
    assert_eq!(list.instances(), 1);
    // A factory that fails: its error is returned.
    let failing = AllocatorList::new(|| -> Result<Pool, _> { Err(InitError::other("no")) });
    assert_eq!(
        failing.allocate_raw(Layout::new::<u8>()).err(),
        Some(AllocatorError::Other)
    );
    assert_eq!(failing.instances(), 0);
}

#[test]
fn a_block_the_instance_cannot_resize_moves_to_another() {
    let list = AllocatorList::new(|| Ok(Bump::new(256)));
    let first = list.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    let second = list.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    // SAFETY: valid for 100 bytes.
    unsafe { first.as_ptr().write_bytes(0x42, 100) };
    assert_eq!(list.instances(), 1);
    // The first block is not the last of its region: it cannot grow there, and the region
    // has no room for a copy either, so it moves to a new region.
    // SAFETY: currently allocated by `list`.
    let grown = unsafe { list.reallocate_raw(first, Layout::new::<[u8; 200]>()) }.unwrap();
    assert_eq!(list.instances(), 2);
    // SAFETY: 100 bytes were written, and moved.
    let bytes = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 100) };
    assert!(bytes.iter().all(|&b| b == 0x42));
    assert!(list.owns_block(&grown) && list.owns_block(&second));
    // SAFETY: both are currently allocated by `list`.
    unsafe {
        list.deallocate_raw(second);
        list.deallocate_raw(grown);
    }
    assert_eq!(list.instances(), 1);
}

#[test]
#[should_panic(expected = "AllocatorList::deallocate_raw: foreign block")]
fn a_foreign_block_panics() {
    let list = AllocatorList::new(|| Ok(Pool::new(16, 4)));
    let _mine = list.allocate(1u8).unwrap();
    let mut memory = [0u64; 2];
    let foreign = Block::from_raw_parts(
        core::ptr::NonNull::from(&mut memory).cast(),
        Layout::new::<[u64; 2]>(),
    );
    assert!(!list.owns_block(&foreign));
    // SAFETY: none, on purpose: no instance owns it, and the list panics before using it.
    unsafe { list.deallocate_raw(foreign) };
}

/// A nameable factory: pools of four `slot`-byte blocks, counting how many it made.
struct Pools<'a> {
    slot: usize,
    made: &'a Cell<usize>,
}

impl AllocatorFactory for Pools<'_> {
    type Output = Pool;
    fn make(&self) -> Result<Pool, InitError> {
        self.made.set(self.made.get() + 1);
        Ok(Pool::new(self.slot, 4))
    }
}

#[test]
fn size_classes_of_growing_pools_make_an_unbounded_small_object_allocator() {
    let made = Cell::new(0);
    let small: Bucketizer<AllocatorList<Pools<'_>>, 4> = Bucketizer::powers_of_two(16, |slot| {
        Ok(AllocatorList::new(Pools { slot, made: &made }))
    })
    .unwrap();
    let alloc = small.segregate::<128, _>(Heap).proxy(Counters::new());
    let mut live = Vec::new();
    let n = if cfg!(miri) { 100 } else { 500 };
    for i in 0..n {
        let size = 1 + i * 37 % 200; // 1..=200: four classes and the heap
        live.push(alloc.allocate_slice_with(size, |j| (i + j) as u8).unwrap());
        if i % 3 == 0 {
            live.swap_remove(i * 7 % live.len());
        }
    }
    assert!(
        made.get() > 8,
        "pools of 16 blocks were added: {}",
        made.get()
    );
    for (n, b) in live.iter().enumerate() {
        assert!(
            b.iter()
                .enumerate()
                .all(|(j, &x)| x == b[0].wrapping_add(j as u8)),
            "{n}"
        );
    }
    drop(live);
    assert_eq!(alloc.logger().counts().bytes_live, 0);
    // Every class shrank back to its spare.
    let instances: Vec<_> = alloc
        .inner()
        .small()
        .buckets()
        .iter()
        .map(AllocatorList::instances)
        .collect();
    assert_eq!(instances, [1, 1, 1, 1]);
    kit(200).check_owner(|| {
        Bucketizer::<_, 3>::powers_of_two(16, |slot| {
            Ok(AllocatorList::new(move || Ok(Pool::new(slot, 2))))
        })
        .unwrap()
    });
}

#[test]
fn a_list_is_send_but_not_sync() {
    type List = AllocatorList<fn() -> Result<Guard<Heap>, InitError>>;
    static_assertions::assert_impl_all!(List: Send);
    static_assertions::assert_not_impl_any!(List: Sync);
    static_assertions::assert_not_impl_any!(AllocatorList<fn() -> Result<Pool, InitError>>: Send);
    // The nodes are in the parent: moving the list (to another thread) keeps every block
    // valid.
    let list: List = AllocatorList::new(|| Ok(Heap.guarded()));
    let b = list.allocate_raw(Layout::new::<u64>()).unwrap();
    let moved = std::thread::spawn(move || list).join().unwrap();
    assert!(moved.owns_block(&b));
    // SAFETY: currently allocated by the list, which moved.
    unsafe { moved.deallocate_raw(b) };
}
