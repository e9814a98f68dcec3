//! `alloc-compose` alone: a chain over the heap (no pool: that would be another leaf)
//! under the allocator-api2 collections.

use alloc_compose::prelude::*;
use alloc_compose::{AllocatorError, Counters, Heap, Null, api2_02, api2_03, api2_04};
use core::alloc::Layout;

#[test]
fn a_chain_under_a_vec_of_every_allocator_api2_version() {
    let chain = Null.with_fallback(Heap).proxy(Counters::new());
    {
        let mut v = api2_02::vec::Vec::new_in(&chain);
        v.extend(0u64..100);
        let b = api2_03::boxed::Box::new_in(9u8, &chain);
        let w = api2_04::vec::Vec::<u16, _>::with_capacity_in(4, &chain);
        assert_eq!(
            (v.iter().sum::<u64>(), *b, w.capacity() >= 4),
            (4950, 9, true)
        );
    }
    let counts = chain.logger().counts();
    assert!(counts.allocations >= 3);
    assert_eq!(counts.bytes_live, 0);
}

#[test]
fn the_vocabulary_comes_from_the_leaf() {
    let b = Null.allocate_raw(Layout::new::<u64>());
    assert_eq!(b.err(), Some(AllocatorError::OutOfMemory));
    let mut v = api2_02::vec::Vec::<u8, Null>::new_in(Null);
    assert!(
        v.try_reserve(1).is_err(),
        "Null refuses: an error, not an abort"
    );
}
