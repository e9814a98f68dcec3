//! `alloc-scoped` alone: an arena under the allocator-api2 collections.

use alloc_scoped::prelude::*;
use alloc_scoped::{AllocatorError, Heap, Scoped, api2_02, api2_03, api2_04};
use core::alloc::Layout;

#[test]
fn a_scoped_arena_under_a_vec_of_every_allocator_api2_version() {
    let arena = Scoped::new(4096).unwrap();
    let mut v = api2_02::vec::Vec::new_in(&arena);
    v.extend(0u64..100);
    let b = api2_03::boxed::Box::new_in([1u8; 32], &arena);
    let used = arena.used();
    let total = arena
        .scope(|tmp| {
            let mut w = api2_04::vec::Vec::new_in(tmp);
            w.extend(0u32..10);
            w.iter().sum::<u32>()
        })
        .unwrap();
    assert_eq!((v.iter().sum::<u64>(), b[31], total), (4950, 1, 45));
    assert_eq!(arena.used(), used, "the scope's memory is back");
}

#[test]
fn the_vocabulary_comes_from_the_leaf() {
    let arena: Scoped<Heap> = Scoped::new(64).unwrap();
    let b = arena.allocate(5u8).unwrap();
    assert!(arena.owns(&b));
    let huge = Layout::from_size_align(1 << 20, 8).unwrap();
    assert_eq!(
        arena.allocate_raw(huge).err(),
        Some(AllocatorError::TooLarge)
    );
}
