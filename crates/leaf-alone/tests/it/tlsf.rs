//! `alloc-tlsf` alone: a coalescing heap under the allocator-api2 collections, with only the
//! names the leaf exports.

use alloc_tlsf::prelude::*;
use alloc_tlsf::{Heap, Tlsf, api2_02, api2_03, api2_04};

#[test]
fn a_tlsf_heap_under_a_vec_of_every_allocator_api2_version() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap(); // `Heap` re-exported by the leaf
    let mut v: api2_02::vec::Vec<u64, &Tlsf<Heap>> = api2_02::vec::Vec::new_in(&heap);
    v.extend(0..1000);
    assert_eq!(v.iter().sum::<u64>(), 499_500);
    let b = api2_03::boxed::Box::new_in([7u8; 100], &heap);
    let mut w: api2_04::vec::Vec<u32, &Tlsf<Heap>> = api2_04::vec::Vec::new_in(&heap);
    w.extend(0..16);
    assert_eq!((b[99], w[15]), (7, 15));
    let boxed = heap.allocate(5u16).unwrap(); // `Allocator` from the prelude
    assert!(heap.owns(&boxed)); // `BlockOwner` from the prelude
}
