//! The allocator-api2 bridge: collections of both versions in a `Locked` and a
//! `GlobalAllocator`, shared by threads.

use crate::pool::{Counters, SizeClassPool};
use alloc_global::{GlobalAllocator, Locked};
use std::alloc::System;

#[test]
fn collections_in_a_locked_pool_across_threads() {
    let counters = Counters::new();
    let shared = Locked::new(SizeClassPool::new_in(System, &counters));
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let shared = &shared;
            s.spawn(move || {
                let mut v02 = allocator_api2_02::vec::Vec::new_in(shared);
                let mut v04 = allocator_api2_04::vec::Vec::new_in(shared);
                for i in 0..100 {
                    v02.push(t * 1000 + i);
                    v04.push(u64::from(t) * 1000 + u64::from(i));
                }
                assert_eq!(v02.iter().sum::<u32>(), t * 100_000 + 4950);
                assert_eq!(v04.iter().sum::<u64>(), u64::from(t) * 100_000 + 4950);
            });
        }
    });
    assert!(counters.allocs() > 0);
    assert_eq!(counters.live(), 0);
}

#[test]
fn collections_in_a_global_allocator_value() {
    let global = GlobalAllocator::lazy(|| Ok(Locked::new(System)));
    let mut v = allocator_api2_02::vec::Vec::new_in(&global);
    v.extend_from_slice(b"through the adapter's Allocator impl");
    assert_eq!(&v[..7], b"through");
    let mut w = allocator_api2_04::vec::Vec::with_capacity_in(4, &global);
    w.push(1u8);
    assert_eq!(w.len(), 1);
}
