//! The allocator-api2 bridge on composites: collections over a proxy and over a fallback
//! that spills to the heap.

use alloc_compose::{AllocatorExt, Counters, Counts, Fallback, Null, Proxy};
use alloc_core::{Block, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::Pool;

#[test]
fn a_vec_over_a_proxy_is_counted() {
    let alloc: Proxy<Heap, Counters> = Heap.proxy(Counters::new());
    {
        let mut v = allocator_api2_02::vec::Vec::new_in(&alloc);
        for i in 0..1000u32 {
            v.push(i); // grows by reallocation
        }
        v.truncate(10);
        v.shrink_to_fit();
        assert_eq!(v.iter().sum::<u32>(), 45);
    }
    let counts = alloc.logger().counts();
    assert_eq!((counts.allocations, counts.deallocations), (1, 1));
    assert!(counts.reallocations > 0);
    assert_eq!(counts.bytes_live, 0);
    assert!(counts.peak_bytes >= 4000, "{counts:?}");
}

#[test]
fn a_vec_spills_from_the_pool_to_the_heap_as_it_grows() {
    let alloc: Fallback<Pool, Heap> = Pool::new(64, 2).with_fallback(Heap);
    let mut v = allocator_api2_02::vec::Vec::<u8, _>::with_capacity_in(8, &alloc);
    let in_pool = |v: &allocator_api2_02::vec::Vec<u8, &Fallback<Pool, Heap>>| {
        let block = Block::from_raw_parts(
            core::ptr::NonNull::new(v.as_ptr().cast_mut()).unwrap(),
            Layout::array::<u8>(v.capacity()).unwrap(),
        );
        alloc.main().owns_block(&block)
    };
    v.extend(0..64u8);
    assert!(in_pool(&v), "64 bytes fit a slot");
    v.extend(64..200u8);
    assert!(!in_pool(&v), "200 bytes do not");
    assert_eq!(alloc.main().live(), 0);
    assert!(v.iter().copied().eq(0..200u8));
    v.truncate(10);
    v.shrink_to_fit();
    assert!(!in_pool(&v), "a spilled block stays in the fallback");
    drop(v);

    let mut w = allocator_api2_04::vec::Vec::new_in(&alloc);
    w.extend([1u64, 2, 3]);
    assert_eq!(alloc.main().live(), 1);
    w.extend(4..=100u64);
    assert_eq!(alloc.main().live(), 0);
    assert_eq!(w.iter().sum::<u64>(), 5050);
}

#[test]
fn null_refuses_collections() {
    let mut v = allocator_api2_02::vec::Vec::<u8, Null>::new_in(Null);
    assert!(v.try_reserve(1).is_err());
    let alloc = Null.with_fallback(Heap).proxy(Counters::new());
    let mut v = allocator_api2_04::vec::Vec::new_in(&alloc);
    v.push(1u8);
    drop(v);
    assert_eq!(
        alloc.logger().counts(),
        Counts {
            allocations: 1,
            deallocations: 1,
            peak_bytes: alloc.logger().counts().peak_bytes,
            ..Counts::default()
        }
    );
}
