//! std's own collections on our allocators, through `core::alloc::Allocator` (feature
//! `nightly`, nightly compiler): `Vec::new_in`, `Box::new_in`, `VecDeque`, `Rc::new_in`,
//! `Arc::new_in`, over `Scoped`, `FreeList`, and `Fallback` / `Proxy` chains. Run with
//! `cargo +nightly test -p allocators --features nightly`.

use std::alloc::Layout;
use std::boxed::Box;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::vec::Vec;

use allocators::prelude::*;
use allocators::{Counters, FreeList, Heap, Scoped, SyncFreeList};

#[test]
fn std_vec_and_box_on_a_scoped_arena() {
    let arena = Scoped::new(1 << 16).unwrap();
    {
        let mut v = Vec::new_in(&arena);
        v.extend(0u64..1000);
        let b = Box::new_in([7u8; 100], &arena);
        assert_eq!((v.iter().sum::<u64>(), b[99]), (499_500, 7));
        assert!(
            arena.used() >= 8000 + 100,
            "the Vec and the Box live in the arena"
        );
    }
    // A scope: std collections inside it, all reclaimed when it ends.
    let len = arena
        .scope(|tmp| {
            let mut q = VecDeque::new_in(tmp);
            q.extend(0u32..100);
            q.rotate_left(10);
            q.pop_front().unwrap()
        })
        .unwrap();
    assert_eq!(len, 10);
}

#[test]
fn std_collections_on_a_freelist_by_reference_and_by_value() {
    let pool = FreeList::new(64, 16).unwrap();
    let b = Box::new_in(3u64, &pool);
    let mut q: VecDeque<u32, &FreeList> = VecDeque::new_in(&pool);
    q.extend(0..16); // 64 bytes: one block
    assert_eq!(pool.free_blocks(), 14);
    assert!(
        q.try_reserve(1).is_err(),
        "one block is all a free list gives"
    );
    drop((b, q));
    assert_eq!(pool.free_blocks(), 16);

    // By value: the Vec owns its pool (the blocks live in the pool's parent).
    let mut v: Vec<u8, FreeList> = Vec::new_in(FreeList::new(256, 1).unwrap());
    v.extend_from_slice(&[1; 256]);
    assert_eq!((v.len(), v.allocator().free_blocks()), (256, 0));
}

#[test]
fn rc_and_arc_on_our_allocators() {
    let arena = Scoped::new(4096).unwrap();
    let rc = Rc::new_in(String::from("shared"), &arena);
    let rc2 = Rc::clone(&rc);
    assert_eq!((Rc::strong_count(&rc), rc2.as_str()), (2, "shared"));

    // `SyncFreeList` is `Sync`: an `Arc` on it crosses threads.
    let pool = SyncFreeList::new(64, 8).unwrap();
    let arc = Arc::new_in([5u32; 4], &pool);
    std::thread::scope(|s| {
        let arc = Arc::clone(&arc);
        s.spawn(move || assert_eq!(arc[3], 5));
    });
    assert_eq!(pool.free_blocks(), 7);
    drop(arc);
    assert_eq!(pool.free_blocks(), 8);
}

#[test]
fn a_fallback_proxy_chain_serves_std_collections_and_counts_them() {
    let chain = FreeList::new(64, 4)
        .unwrap()
        .with_fallback(Heap)
        .proxy(Counters::new());
    {
        let small = Box::new_in([1u64; 8], &chain); // 64 bytes: the pool
        let mut v = Vec::new_in(&chain);
        v.extend(0u64..100); // outgrows a block: moves to the heap, no abort
        assert!(chain.inner().main().owns_block(&small_block(&small)));
        assert_eq!(v.iter().sum::<u64>(), 4950);
        assert_eq!(chain.inner().main().free_blocks(), 3);
    }
    let counts = chain.logger().counts();
    assert!(counts.allocations >= 2);
    assert_eq!(counts.bytes_live, 0, "every block came back");
}

/// The block a boxed `[u64; 8]` occupies, to ask its owner.
fn small_block(b: &[u64; 8]) -> allocators::Block {
    let ptr = core::ptr::NonNull::from(b).cast::<u8>();
    allocators::Block::from_raw_parts(ptr, Layout::new::<[u64; 8]>())
}

#[test]
fn the_same_behaviour_as_the_allocator_api2_bridges() {
    // A refusal is an error on both sides, with the same layouts.
    let pool = FreeList::new(32, 1).unwrap();
    let too_big = Layout::from_size_align(33, 8).unwrap();
    assert!(std::alloc::Allocator::allocate(&pool, too_big).is_err());
    assert!(allocators::api2_02::alloc::Allocator::allocate(&pool, too_big).is_err());
    // A block reports the free list's full block size through both.
    let ok = Layout::from_size_align(8, 8).unwrap();
    let std_block = std::alloc::Allocator::allocate(&pool, ok).unwrap();
    assert_eq!(std_block.len(), 32);
    // SAFETY: allocated just above by `pool` with `ok`.
    unsafe { std::alloc::Allocator::deallocate(&pool, std_block.cast(), ok) };
    let api2_block = allocators::api2_02::alloc::Allocator::allocate(&pool, ok).unwrap();
    assert_eq!(api2_block.len(), 32);
    // SAFETY: allocated just above by `pool` with `ok`.
    unsafe { allocators::api2_02::alloc::Allocator::deallocate(&pool, api2_block.cast(), ok) };
    assert_eq!(pool.free_blocks(), 1);
}
