//! The free lists by value inside allocator-api2 collections.

use alloc_freelist::{FreeList, SyncFreeList};
use allocator_api2_02::boxed::Box;
use allocator_api2_02::vec::Vec;

#[test]
fn vec_in_a_free_list_by_value() {
    let pool = FreeList::new(1024, 64).unwrap();
    let mut v: Vec<u64, FreeList> = Vec::new_in(pool);
    v.extend(0..100);
    assert_eq!(v.iter().sum::<u64>(), 4950);
    // Growth reallocated in place inside one block: one block in use.
    assert_eq!(v.allocator().free_blocks(), 63);
    // Moving the vector (and the list inside it) keeps the data.
    let moved = std::boxed::Box::new(v);
    assert_eq!(moved[99], 99);
    assert_eq!(moved.allocator().free_blocks(), 63);
}

#[test]
fn growing_past_a_block_is_an_error_not_a_crash() {
    let mut v: Vec<u64, FreeList> = Vec::new_in(FreeList::new(1024, 64).unwrap());
    v.extend(0..100);
    // 1024 bytes hold 128 `u64`s: 300 do not fit in a block.
    assert!(v.try_reserve(200).is_err());
    assert!(v.try_reserve_exact(29).is_err());
    // The vector is intact and can still use the whole block.
    assert!(v.try_reserve_exact(28).is_ok());
    v.extend(100..128);
    assert_eq!(v.len(), 128);
    assert_eq!(v.iter().sum::<u64>(), 127 * 128 / 2);
    assert_eq!(v.allocator().free_blocks(), 63);
}

#[test]
fn boxes_and_vectors_share_a_borrowed_list() {
    let pool = SyncFreeList::new(256, 8).unwrap();
    let boxes: std::vec::Vec<Box<[u8; 200], &SyncFreeList>> =
        (0..4u8).map(|i| Box::new_in([i; 200], &pool)).collect();
    let mut v: Vec<u32, &SyncFreeList> = Vec::new_in(&pool);
    v.extend(0..64);
    assert_eq!(pool.free_blocks(), 3);
    assert!(
        boxes
            .iter()
            .enumerate()
            .all(|(i, b)| b.iter().all(|&x| usize::from(x) == i))
    );
    drop(boxes);
    drop(v);
    assert_eq!(pool.free_blocks(), 8);
}
