//! `alloc-global` alone: a locked heap shared by threads, under the allocator-api2
//! collections.

use alloc_global::prelude::*;
use alloc_global::{Heap, Locked, api2_02, api2_03, api2_04};

#[test]
fn a_locked_allocator_under_a_vec_of_every_allocator_api2_version() {
    let shared = Locked::new(Heap);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut v = api2_02::vec::Vec::new_in(&shared);
            v.extend(0u64..100);
            assert_eq!(v.iter().sum::<u64>(), 4950);
        });
        s.spawn(|| {
            let b = api2_03::boxed::Box::new_in(7u8, &shared);
            let mut w = api2_04::vec::Vec::new_in(&shared);
            w.push(*b);
            assert_eq!(w[0], 7);
        });
    });
    assert_eq!(*shared.allocate(1u8).unwrap(), 1);
}
