//! `alloc-pages` alone: memory from the operating system under the allocator-api2
//! collections, with only the names the leaf exports.

use alloc_pages::prelude::*;
use alloc_pages::{Pages, Protected, api2_02, api2_03, api2_04};

#[test]
fn pages_and_a_fence_under_a_vec_of_every_allocator_api2_version() {
    let mut v: api2_02::vec::Vec<u64, Pages> = api2_02::vec::Vec::new_in(Pages);
    v.extend(0..1000);
    assert_eq!(v.iter().sum::<u64>(), 499_500);
    let fence = Protected::new();
    let b = api2_03::boxed::Box::new_in([7u8; 100], &fence);
    let mut w: api2_04::vec::Vec<u32, &Protected> = api2_04::vec::Vec::new_in(&fence);
    w.extend(0..16);
    assert_eq!((b[99], w[15]), (7, 15));
    let boxed = fence.allocate(5u16).unwrap(); // `Allocator` from the prelude
    assert!(fence.owns(&boxed)); // `BlockOwner` from the prelude
}
