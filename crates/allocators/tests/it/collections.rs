//! allocator-api2 collections (`Vec`, `Box`, hashbrown's `HashMap`) on our allocators and
//! chains of them, on both allocator-api2 versions: the issue's examples.

use allocators::api2_02 as allocator_api2;
use allocators::prelude::*;
use allocators::{Block, Counters, Fallback, FreeList, Heap, Scoped, api2_04};
use core::alloc::Layout;
use core::ptr::NonNull;

/// The block a `Vec` uses, as the allocator sees it.
fn block_of<T>(ptr: *const T, capacity: usize) -> Block {
    let ptr = NonNull::new(ptr.cast_mut().cast::<u8>()).unwrap();
    Block::from_raw_parts(ptr, Layout::array::<T>(capacity).unwrap())
}

#[test]
fn the_issue_example_verbatim() {
    use allocator_api2::vec::Vec;
    let pool = FreeList::new(1024, 64).unwrap();
    let mut v: Vec<u64, FreeList> = Vec::new_in(pool); // by value: the Vec owns its pool
    v.extend(0..100);
    let scoped = Scoped::new(1 << 16).unwrap();
    let mut w = Vec::new_in(&scoped); // by reference
    w.extend_from_slice(b"hello");
    let mut map = hashbrown::HashMap::new_in(&scoped); // hashbrown with our allocator
    map.insert(1, 2);

    // What the comments say: the Vec's block is one of its own pool's...
    assert_eq!(v.iter().sum::<u64>(), 4950);
    assert_eq!(v.allocator().free_blocks(), 63);
    assert!(
        v.allocator()
            .owns_block(&block_of(v.as_ptr(), v.capacity()))
    );
    // ...the others live in the scoped allocator's buffer.
    assert_eq!(&w[..], b"hello");
    assert!(scoped.owns_block(&block_of(w.as_ptr(), w.capacity())));
    assert_eq!(map.get(&1), Some(&2));
    assert!(scoped.used() > 5);
}

#[test]
fn the_issue_example_on_allocator_api2_04() {
    use api2_04::vec::Vec;
    let mut v: Vec<u64, FreeList> = Vec::new_in(FreeList::new(1024, 64).unwrap());
    v.extend(0..100);
    let scoped = Scoped::new(1 << 16).unwrap();
    let mut w = Vec::new_in(&scoped);
    w.extend_from_slice(b"hello");
    assert_eq!((v[99], &w[..]), (99, &b"hello"[..]));
    assert_eq!(v.allocator().free_blocks(), 63);
}

#[test]
fn boxes_on_every_allocator_and_on_chains() {
    use allocator_api2::boxed::Box;
    let pool = FreeList::new(64, 4).unwrap();
    let scoped = Scoped::new(4096).unwrap();
    let chain = FreeList::new(64, 1)
        .unwrap()
        .with_fallback(Scoped::new(256).unwrap().with_fallback(Heap))
        .proxy(Counters::new());
    {
        let a = Box::new_in([1u8; 64], &pool);
        let b = Box::new_in(2u64, &scoped);
        let c = Box::new_in(3u32, Heap);
        let d = Box::new_in(4u16, &chain); // the one pool block
        let e = Box::new_in([5u8; 100], &chain); // too large for the pool: the scoped part
        let f = Box::new_in([6u8; 1000], &chain); // too large for both: the heap
        assert_eq!((a[63], *b, *c, *d, e[99], f[999]), (1, 2, 3, 4, 5, 6));
        assert_eq!(pool.free_blocks(), 3);
        let (list, rest) = (chain.inner().main(), chain.inner().fallback());
        assert_eq!(list.free_blocks(), 0);
        assert!(rest.main().used() >= 100);
        let counts = chain.logger().counts();
        assert_eq!((counts.allocations, counts.bytes_live), (3, 2 + 100 + 1000));
        let g = api2_04::boxed::Box::new_in(7u8, &chain); // and through 0.4
        assert_eq!(*g, 7);
    }
    assert_eq!(pool.free_blocks(), 4);
    assert_eq!(chain.inner().main().free_blocks(), 1);
    assert_eq!(chain.inner().fallback().main().used(), 0);
    let counts = chain.logger().counts();
    assert_eq!((counts.deallocations, counts.bytes_live), (4, 0));
}

#[test]
fn a_vec_growing_past_a_freelist_block_fails_through_try_reserve() {
    use allocator_api2::vec::Vec;
    let mut v: Vec<u64, FreeList> = Vec::new_in(FreeList::new(1024, 64).unwrap());
    v.extend(0..128); // exactly one 1024-byte block
    let error = v.try_reserve(1).unwrap_err();
    assert!(
        error.to_string().contains("memory allocation failed"),
        "{error}"
    );
    assert!(v.try_reserve_exact(1).is_err());
    // Nothing was lost or moved.
    assert_eq!(v.len(), 128);
    assert_eq!(v.iter().sum::<u64>(), 127 * 128 / 2);
    assert_eq!(v.allocator().free_blocks(), 63);

    let mut w: api2_04::vec::Vec<u64, FreeList> =
        api2_04::vec::Vec::new_in(FreeList::new(1024, 1).unwrap());
    w.extend(0..128);
    assert!(w.try_reserve(1).is_err());
    assert_eq!(w[127], 127);
}

#[test]
fn with_a_fallback_behind_it_the_vec_spills_to_the_heap() {
    use allocator_api2::vec::Vec;
    let alloc: Fallback<FreeList, Heap> = FreeList::new(1024, 4).unwrap().with_fallback(Heap);
    let mut v = Vec::new_in(&alloc);
    v.extend(0u64..100); // 800 bytes: a pool block
    assert!(alloc.main().owns_block(&block_of(v.as_ptr(), v.capacity())));
    assert_eq!(alloc.main().free_blocks(), 3);
    v.try_reserve(1000).unwrap(); // 8800 bytes: moves to the heap, contents and all
    v.extend(100..1100);
    assert!(!alloc.main().owns_block(&block_of(v.as_ptr(), v.capacity())));
    assert_eq!(
        alloc.main().free_blocks(),
        4,
        "the pool block was given back"
    );
    assert!(v.iter().copied().eq(0..1100));
    // Shrinking back into a block's size does not have to return to the pool, but works.
    v.truncate(10);
    v.shrink_to_fit();
    assert!(v.iter().copied().eq(0..10));

    // By value, and on 0.4.
    let mut w = api2_04::vec::Vec::new_in(FreeList::new(64, 2).unwrap().with_fallback(Heap));
    w.extend(0u32..1000);
    assert_eq!(w.iter().map(|&x| u64::from(x)).sum::<u64>(), 499_500);
}

#[test]
fn hashbrown_on_a_scoped_arena_spills_to_the_heap_when_full() {
    let alloc = Scoped::new(2048)
        .unwrap()
        .with_fallback(Heap)
        .proxy(Counters::new());
    let mut map = hashbrown::HashMap::new_in(&alloc);
    let n = if cfg!(miri) { 400 } else { 1000u32 }; // 400 entries still outgrow the arena
    for i in 0..n {
        map.insert(i, i * 2);
    }
    assert_eq!(map[&(n - 1)], 2 * (n - 1));
    let counts = alloc.logger().counts();
    assert!(
        counts.bytes_live > 2048,
        "the table outgrew the arena: {counts:?}"
    );
    assert!(alloc.inner().main().used() <= 2048);
    drop(map);
    assert_eq!(alloc.logger().counts().bytes_live, 0);
}

#[test]
fn vec_of_strings_in_a_scope() {
    use allocator_api2::vec::Vec;
    let scoped = Scoped::new(1 << 14).unwrap();
    let lengths = scoped
        .scope(|s| {
            let mut names = Vec::new_in(s);
            for i in 0..50 {
                names.push(s.allocate_str(&format!("name-{i}")).unwrap());
            }
            names.iter().map(|n| n.len()).sum::<usize>()
        })
        .unwrap();
    assert_eq!(lengths, 10 * 6 + 40 * 7);
    assert_eq!(scoped.used(), 0);
}
