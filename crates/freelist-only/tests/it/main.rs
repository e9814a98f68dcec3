//! The first example, written with `alloc-freelist` alone (plus allocator-api2),
//! and what else a one-leaf user can do with it.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use alloc_freelist::FreeList;
use allocator_api2_02 as allocator_api2;

#[test]
fn the_first_example_with_one_leaf() {
    use allocator_api2::vec::Vec;
    let pool = FreeList::new(1024, 64).unwrap();
    let mut v: Vec<u64, FreeList> = Vec::new_in(pool); // by value: the Vec owns its pool
    v.extend(0..100);
    assert_eq!(v.iter().sum::<u64>(), 4950);
    assert_eq!(v.allocator().free_blocks(), 63);
}

#[test]
fn by_reference_boxes_and_a_full_block() {
    use allocator_api2::{boxed::Box, vec::Vec};
    let pool = FreeList::new(64, 4).unwrap();
    let b = Box::new_in([3u8; 64], &pool);
    let mut v: Vec<u32, &FreeList> = Vec::new_in(&pool);
    v.extend(0..16); // 64 bytes: one block
    assert!(
        v.try_reserve(1).is_err(),
        "a Vec cannot grow past one block"
    );
    assert_eq!((b[63], v[15], pool.free_blocks()), (3, 15, 2));
}
