//! Compositions across the leaf crates (left to the facade by alloc-compose, since no leaf
//! may depend on another): pools and arenas with fallbacks, spill-over, blocks moving
//! between parts, allocators nested in each other's memory, and the conformance kit on
//! chains at least two levels deep.

use allocators::prelude::*;
use allocators::testing::{run_ops, run_ops_owner};
use allocators::{
    AllocatorList, Block, Bucketizer, Counters, Fallback, FreeList, Heap, Locked, NoLog, Null,
    Proxy, Scoped, Segregator, Stats, SyncFreeList, Trace,
};
use core::alloc::Layout;

use crate::kit;

/// Writes `fill` into every byte of `block`.
fn fill(block: Block, fill: u8) {
    // SAFETY: the callers pass blocks currently allocated, valid for `size()` bytes.
    unsafe { block.as_ptr().write_bytes(fill, block.size()) };
}

/// Whether the first `len` bytes of `block` all equal `fill`.
fn holds(block: Block, len: usize, fill: u8) -> bool {
    // SAFETY: the callers pass blocks currently allocated and initialised for `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), len) };
    bytes.iter().all(|&b| b == fill)
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

#[test]
fn a_pool_serves_small_requests_and_the_heap_big_ones() {
    let alloc = FreeList::new(64, 128).unwrap().with_fallback(Heap);
    let small = alloc.allocate([1u64; 8]).unwrap();
    let smaller = alloc.allocate(2u8).unwrap();
    let big = alloc.allocate([3u64; 9]).unwrap(); // 72 bytes: too large for a block
    let aligned = alloc
        .allocate_raw(Layout::from_size_align(64, 64).unwrap())
        .unwrap();
    assert!(alloc.main().owns(&small) && alloc.main().owns(&smaller));
    assert!(!alloc.main().owns(&big), "too large: from the heap");
    assert!(
        !alloc.main().owns_block(&aligned),
        "more aligned than the blocks: from the heap"
    );
    assert_eq!(alloc.main().free_blocks(), 126);
    assert_eq!((small[7], *smaller, big[8]), (1, 2, 3));
    // SAFETY: `aligned` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(aligned) };
    drop((small, smaller, big));
    assert_eq!(alloc.main().free_blocks(), 128);
}

#[test]
fn a_scoped_arena_in_front_of_the_heap() {
    let alloc = Scoped::new(1024).unwrap().with_fallback(Heap);
    let a = alloc.allocate([1u8; 100]).unwrap();
    let big = alloc.allocate([2u8; 2000]).unwrap(); // larger than the arena
    let huge_align = alloc
        .allocate_raw(Layout::from_size_align(16, 8192).unwrap())
        .unwrap();
    assert!(alloc.main().owns(&a) && !alloc.main().owns(&big));
    assert!(
        !alloc.main().owns_block(&huge_align),
        "over a page: the heap serves it"
    );
    assert_eq!(huge_align.addr() % 8192, 0);
    // SAFETY: `huge_align` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(huge_align) };
    // While a scope is open the arena is busy: the heap serves the parent's requests.
    alloc
        .main()
        .scope(|s| {
            let inner = s.allocate(5u32).unwrap();
            let outer = alloc.allocate(6u32).unwrap();
            assert!(!alloc.main().owns(&outer));
            assert_eq!((*inner, *outer), (5, 6));
        })
        .unwrap();
    assert_eq!((a[99], big[1999]), (1, 2));
}

#[test]
fn exhaustion_spills_over_and_freeing_brings_requests_back() {
    let alloc = FreeList::new(64, 4)
        .unwrap()
        .with_fallback(Heap)
        .proxy(Counters::new());
    let pool = || alloc.inner().main();
    let mut boxes: Vec<_> = (0..4u64).map(|i| alloc.allocate(i).unwrap()).collect();
    assert_eq!(pool().free_blocks(), 0);
    let spilled = alloc.allocate(4u64).unwrap();
    assert!(!pool().owns(&spilled), "the pool is full: the heap serves");
    boxes.remove(1); // one block back to the pool
    let back = alloc.allocate(5u64).unwrap();
    assert!(pool().owns(&back), "a freed block is reused");
    assert!(boxes.iter().all(|b| pool().owns(b)));
    assert_eq!(
        alloc.logger().counts().failures,
        0,
        "the fallback hides the pool's failures"
    );

    let scoped = Scoped::new(256).unwrap().with_fallback(Heap);
    let fill_up: Vec<_> = (0..32)
        .map(|i| scoped.allocate(i as u64).unwrap())
        .collect();
    assert!(fill_up.iter().all(|b| scoped.main().owns(b)));
    let over = scoped.allocate(32u64).unwrap();
    assert!(
        !scoped.main().owns(&over),
        "the arena is full: the heap serves"
    );
    assert_eq!(
        fill_up.iter().map(|b| **b).sum::<u64>() + *over,
        32 * 33 / 2
    );
}

#[test]
fn reallocation_moves_a_block_from_main_to_fallback_with_its_contents() {
    let alloc = FreeList::new(64, 2).unwrap().with_fallback(Heap);
    let block = alloc.allocate_raw(layout(48)).unwrap();
    assert!(alloc.main().owns_block(&block));
    fill(block, 0xA5);
    // Within the block: stays in place.
    // SAFETY: `block` is currently allocated by `alloc`.
    let same = unsafe { alloc.reallocate_raw(block, layout(64)) }.unwrap();
    assert_eq!(same.addr(), block.addr());
    // SAFETY: `same` is currently allocated by `alloc`.
    let moved = unsafe { alloc.reallocate_raw(same, layout(4000)) }.unwrap();
    assert!(!alloc.main().owns_block(&moved));
    assert!(holds(moved, 48, 0xA5), "contents survive the move");
    assert_eq!(
        alloc.main().free_blocks(),
        2,
        "the pool block was given back"
    );
    // SAFETY: `moved` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(moved) };

    // The same with a scoped arena as the main part.
    let alloc = Scoped::new(512).unwrap().with_fallback(Heap);
    let block = alloc.allocate_raw(layout(200)).unwrap();
    fill(block, 0x5A);
    // SAFETY: `block` is currently allocated by `alloc`.
    let grown = unsafe { alloc.reallocate_raw(block, layout(400)) }.unwrap();
    assert!(
        alloc.main().owns_block(&grown),
        "the most recent block grows in place"
    );
    assert!(holds(grown, 200, 0x5A));
    // SAFETY: `grown` is currently allocated by `alloc`.
    let moved = unsafe { alloc.reallocate_raw(grown, layout(600)) }.unwrap();
    assert!(
        !alloc.main().owns_block(&moved),
        "larger than the arena: on the heap"
    );
    assert!(holds(moved, 200, 0x5A));
    assert_eq!(alloc.main().used(), 0, "the arena's block was rewound");
    // SAFETY: `moved` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(moved) };
}

#[test]
fn allocators_live_in_each_others_memory() {
    // A scoped arena in a free-list block, and a free list in the arena.
    let blocks = FreeList::new(4096, 2).unwrap();
    let arena = Scoped::new_in(2048, &blocks).unwrap();
    assert_eq!(blocks.free_blocks(), 1);
    let nodes = FreeList::new_in(32, 16, &arena).unwrap();
    // The arena is only the fallback: the main part, which routes frees, owns its blocks
    // by value (a borrowed owner cannot route frees; see `BlockOwner`'s docs).
    let alloc = nodes.with_fallback(&arena);
    let a = alloc.allocate([1u8; 32]).unwrap(); // a node
    let b = alloc.allocate([2u8; 100]).unwrap(); // the arena
    assert!(alloc.main().owns(&a));
    assert!(!alloc.main().owns(&b) && arena.owns(&b));
    let node = Block::from_raw_parts(core::ptr::NonNull::from(&*a).cast(), layout(32));
    assert!(
        arena.owns_block(&node),
        "the node lies inside the arena too"
    );
    assert_eq!((a[31], b[99]), (1, 2));
    let too_big = alloc.allocate_raw(layout(5000)).unwrap_err();
    assert_eq!(too_big, allocators::AllocatorError::TooLarge);
    drop((a, b));
    drop(alloc);
    drop(arena);
    assert_eq!(blocks.free_blocks(), 2, "the arena gave its block back");
}

#[test]
fn nested_chains_pass_the_conformance_kit() {
    // The shape the issue names: Proxy<Fallback<FreeList, Fallback<Scoped, Heap>>, Counters>.
    type Chain = Proxy<Fallback<FreeList, Fallback<Scoped, Heap>>, Counters>;
    let make = || -> Chain {
        FreeList::new(64, 8)
            .unwrap()
            .with_fallback(Scoped::new(2048).unwrap().with_fallback(Heap))
            .proxy(Counters::new())
    };
    let report = kit(300).check(make);
    assert!(
        report.allocations > 0 && report.reallocations > 0,
        "{report:?}"
    );

    // Every part an owner: the kit also checks `owns_block`, three levels deep.
    let report = kit(300).check_owner(|| {
        FreeList::new(32, 4)
            .unwrap()
            .proxy(NoLog)
            .with_fallback(
                Scoped::new(1024)
                    .unwrap()
                    .with_fallback(FreeList::new(4096, 4).unwrap()),
            )
            .proxy(Counters::new())
            .with_fallback(Null)
    });
    assert!(
        report.allocations > 0 && report.reallocations > 0,
        "{report:?}"
    );

    // A thread-safe chain, and one behind a lock, with a trace logger in the middle.
    kit(200).check_owner(|| {
        SyncFreeList::new(64, 8)
            .unwrap()
            .with_fallback(SyncFreeList::new(1024, 8).unwrap())
    });
    kit(100).check(|| {
        Locked::new(
            FreeList::new(128, 4)
                .unwrap()
                .proxy(Trace::new())
                .with_fallback(Heap),
        )
    });
}

#[test]
fn the_conformance_kit_inside_a_scope_and_over_borrowed_parts() {
    let arena = Scoped::new(64 * 1024).unwrap();
    kit(200).check_with(|ops| {
        arena
            .scope(|s| {
                // Two owners carved out of the scope, by value: the kit checks `owns_block`.
                let owners = FreeList::new_in(64, 8, s)
                    .unwrap()
                    .with_fallback(Scoped::new_in(4096, s).unwrap());
                run_ops_owner(&owners, ops)?;
                // The scope itself as the fallback of a pool carved out of it.
                let pool = FreeList::new_in(64, 8, s).unwrap();
                run_ops(&pool.with_fallback(s), ops)
            })
            .unwrap()
    });
    assert_eq!(arena.used(), 0);
    let mut pool = FreeList::new(256, 8).unwrap();
    kit(200).check_with(|ops| run_ops(&Fallback::new(&mut pool, Heap).proxy(Counters::new()), ops));
    assert_eq!(
        pool.free_blocks(),
        8,
        "the kit frees everything it allocates"
    );
}

#[test]
fn a_locked_chain_serves_collections_on_several_threads() {
    use allocators::api2_02::vec::Vec;
    let shared = Locked::new(FreeList::new(256, 64).unwrap().with_fallback(Heap));
    let rounds = if cfg!(miri) { 3 } else { 200 };
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let shared = &shared;
            s.spawn(move || {
                for round in 0..rounds {
                    let mut v = Vec::new_in(shared);
                    v.extend((0..40u64).map(|i| i + t + round));
                    assert_eq!(v[39], 39 + t + round);
                }
            });
        }
    });
    assert_eq!(shared.into_inner().main().free_blocks(), 64);
}

/// The classic small-object allocator: free lists of 16 to 256 bytes, the heap beyond.
type SmallObjects = Segregator<256, Bucketizer<FreeList, 5>, Heap>;

fn small_objects(blocks: usize) -> SmallObjects {
    Bucketizer::powers_of_two(16, |size| FreeList::new(size, blocks))
        .unwrap()
        .segregate::<256, _>(Heap)
}

#[test]
fn a_bucketizer_of_free_lists_behind_a_segregator() {
    let alloc = small_objects(64).proxy(Stats::new());
    let a = alloc.allocate([1u8; 10]).unwrap(); // class 16
    let b = alloc.allocate([2u8; 100]).unwrap(); // class 128
    let c = alloc.allocate([3u8; 256]).unwrap(); // class 256
    let d = alloc.allocate([4u8; 257]).unwrap(); // the heap
    let buckets = alloc.inner().small();
    assert!(buckets.bucket(0).owns(&a) && buckets.bucket(3).owns(&b) && buckets.bucket(4).owns(&c));
    assert!(!buckets.owns(&d));
    assert_eq!(buckets.bucket(0).free_blocks(), 63);
    assert_eq!((a[9], b[99], c[255], d[256]), (1, 2, 3, 4));
    // A Vec crosses the threshold and moves to the heap with its contents.
    let mut v = crate::api2_vec(&alloc);
    v.extend(0..100u8);
    v.extend(100..=255u8);
    v.extend(0..100u8);
    assert_eq!(v[255], 255);
    drop(v);
    drop((a, b, c, d));
    let summary = alloc.logger().summary();
    assert_eq!(summary.counts.bytes_live, 0);
    assert!(summary.sizes().count() >= 4, "{summary}");
    assert!(
        alloc
            .inner()
            .small()
            .buckets()
            .iter()
            .all(|f| f.free_blocks() == 64)
    );
}

#[test]
fn a_list_of_free_lists_grows_and_shrinks() {
    let list = AllocatorList::new(|| FreeList::new(64, 4));
    let boxes: Vec<_> = (0..10u64).map(|i| list.allocate(i).unwrap()).collect();
    assert_eq!(list.instances(), 3, "ten blocks in pools of four");
    assert!(boxes.iter().all(|b| list.owns(b)));
    assert_eq!(boxes.iter().map(|b| **b).sum::<u64>(), 45);
    drop(boxes);
    assert!(
        list.instances() <= 2,
        "empty pools are given back, one kept as a spare"
    );
    assert_eq!(
        list.allocate_raw(layout(65)).unwrap_err(),
        allocators::AllocatorError::TooLarge,
        "another pool would refuse it too"
    );
}

#[test]
fn a_guard_over_a_pool_catches_misuse_and_leaks() {
    let alloc = FreeList::new(64, 8).unwrap().guarded();
    let block = alloc.allocate_raw(layout(16)).unwrap();
    // SAFETY: none needed for the fence: one byte past the block lies in the guard's
    // fence, inside the inner allocation (this is what the guard exists to catch).
    unsafe { block.as_ptr().add(16).write(0) };
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| alloc.check()));
    let message = caught.unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or("");
    assert!(message.contains("buffer overflow"), "{message}");
    // SAFETY: repair the fence byte (the guard fills fences with 0xFD).
    unsafe { block.as_ptr().add(16).write(0xFD) };
    alloc.check();
    // SAFETY: `block` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    assert_eq!(alloc.live_blocks(), 0);
    assert_eq!(alloc.inner().free_blocks(), 8);
}

#[test]
fn the_new_building_blocks_pass_the_conformance_kit() {
    let report = kit(300).check(|| small_objects(8));
    assert!(
        report.allocations > 0 && report.reallocations > 0,
        "{report:?}"
    );
    kit(200).check_owner(|| AllocatorList::new(|| FreeList::new(512, 2)));
    kit(200).check_owner(|| {
        Bucketizer::<FreeList, 3>::with_sizes([32, 96, 4096], |size| FreeList::new(size, 4))
            .unwrap()
            .guarded()
            .with_fallback(Scoped::new(8192).unwrap())
    });
}
