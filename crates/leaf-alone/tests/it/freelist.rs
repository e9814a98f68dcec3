//! `alloc-freelist` alone: the first example, and what else a one-leaf user does.

use alloc_freelist::prelude::*;
use alloc_freelist::{AllocatorError, FreeList, api2_02, api2_03, api2_04};
use core::alloc::Layout;

#[test]
fn a_freelist_under_a_vec_of_every_allocator_api2_version() {
    let pool = FreeList::new(1024, 64).unwrap();
    let mut v: api2_02::vec::Vec<u64, FreeList> = api2_02::vec::Vec::new_in(pool); // by value
    v.extend(0..100);
    assert_eq!(v.iter().sum::<u64>(), 4950);
    assert_eq!(v.allocator().free_blocks(), 63);

    let pool = FreeList::new(64, 4).unwrap();
    let b = api2_03::boxed::Box::new_in([3u8; 64], &pool);
    let mut w: api2_04::vec::Vec<u32, &FreeList> = api2_04::vec::Vec::new_in(&pool);
    w.extend(0..16); // 64 bytes: one block
    assert!(
        w.try_reserve(1).is_err(),
        "a Vec cannot grow past one block"
    );
    assert_eq!((b[63], w[15], pool.free_blocks()), (3, 15, 2));
}

#[test]
fn the_vocabulary_comes_from_the_leaf() {
    let pool = FreeList::new(16, 2).unwrap();
    let node = pool.allocate(7u32).unwrap(); // `Allocator` from the prelude
    assert!(pool.owns(&node)); // `BlockOwner` from the prelude
    let big = Layout::from_size_align(17, 8).unwrap();
    assert_eq!(pool.allocate_raw(big).err(), Some(AllocatorError::TooLarge));
    // `Heap` is the default parent, and re-exported.
    let _parent: &alloc_freelist::Heap = pool.parent();
}
