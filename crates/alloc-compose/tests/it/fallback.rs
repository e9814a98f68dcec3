//! `Fallback`: the conformance kit on nested fallbacks, spill-over, moves on reallocation,
//! error choice, and blocks that neither side owns.

use alloc_compose::{AllocatorExt, Fallback, Null};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;
use core::ptr::NonNull;

use crate::support::{Bump, Pool, kit};

#[test]
fn pool_with_heap_fallback_passes() {
    let r = kit(500).check(|| Pool::new(64, 4).with_fallback(Heap));
    // Sequences of up to 100 operations exhaust 4 slots and ask for more than 64 bytes.
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
    assert_eq!(
        r.failures, 0,
        "the heap serves whatever the pool cannot: {r:?}"
    );
}

#[test]
fn pool_with_bump_fallback_passes_as_an_owner() {
    kit(500).check_owner(|| Pool::new(64, 4).with_fallback(Bump::new(4096)));
}

#[test]
fn fallbacks_nest_on_the_fallback_side() {
    let r = kit(300).check(|| {
        Pool::new(32, 4).with_fallback(
            Pool::new(256, 4)
                .with_fallback(Bump::new(2048))
                .with_fallback(Heap),
        )
    });
    assert_eq!(r.failures, 0, "{r:?}");
    kit(300).check_owner(|| Pool::new(32, 4).with_fallback(Bump::new(1024).with_fallback(Null)));
}

#[test]
fn fallbacks_nest_on_the_main_side() {
    let r = kit(300).check(|| {
        Pool::new(64, 2)
            .with_fallback(Bump::new(1024))
            .with_fallback(Heap)
    });
    assert_eq!(r.failures, 0, "{r:?}");
    kit(300).check_owner(|| {
        Bump::new(512)
            .with_fallback(Pool::new(128, 4))
            .with_fallback(Pool::new(4096, 2).with_fallback(Null))
    });
}

#[test]
fn null_at_either_end_passes() {
    let r = kit(200).check_owner(|| Null.with_fallback(Pool::new(64, 4)));
    assert!(r.allocations > 0 && r.failures > 0, "{r:?}");
    let r = kit(200).check(|| Null.with_fallback(Null.with_fallback(Heap)));
    assert_eq!(r.failures, 0, "{r:?}");
}

#[test]
fn spills_over_to_the_fallback_when_main_is_exhausted() {
    let alloc = Pool::new(64, 4).with_fallback(Heap);
    let in_pool: Vec<_> = (0..4u64).map(|i| alloc.allocate(i).unwrap()).collect();
    assert!(in_pool.iter().all(|b| alloc.main().owns(b)));
    assert_eq!(alloc.main().live(), 4);

    // The pool is full: the heap serves.
    let spilled: Vec<_> = (4..10u64).map(|i| alloc.allocate(i).unwrap()).collect();
    assert!(spilled.iter().all(|b| !alloc.main().owns(b)));
    assert_eq!(alloc.main().live(), 4);
    // Too large for a slot: the heap serves, whatever the pool's state.
    let big = alloc.allocate([3u8; 200]).unwrap();
    assert!(!alloc.main().owns(&big));

    // Blocks go back where they came from: the pool gets its slots back, the heap its
    // blocks (a heap block given to the pool would panic).
    drop(spilled);
    assert_eq!(alloc.main().live(), 4);
    drop(in_pool);
    assert_eq!(alloc.main().live(), 0);
    let again = alloc.allocate(11u64).unwrap();
    assert!(alloc.main().owns(&again));
    assert_eq!((*again, big[199]), (11, 3));
}

#[test]
fn spills_over_from_a_bump_allocator_too() {
    let alloc = Bump::new(256).with_fallback(Heap);
    let first = alloc.allocate([1u8; 200]).unwrap();
    let second = alloc.allocate([2u8; 200]).unwrap();
    assert!(alloc.main().owns(&first) && !alloc.main().owns(&second));
    assert_eq!((first[199], second[199]), (1, 2));
    assert_eq!(alloc.main().live(), 1);
    drop((first, second));
    assert_eq!(alloc.main().live(), 0);
}

/// Fills the first `len` bytes of `block` with `byte`.
fn fill(block: Block, len: usize, byte: u8) {
    // SAFETY: callers pass a live block of at least `len` bytes.
    unsafe { block.as_ptr().write_bytes(byte, len) };
}

/// Whether the first `len` bytes of `block` are all `byte`.
fn holds(block: Block, len: usize, byte: u8) -> bool {
    // SAFETY: callers pass a live block of at least `len` initialised bytes.
    unsafe { core::slice::from_raw_parts(block.as_ptr(), len) }
        .iter()
        .all(|&b| b == byte)
}

fn bytes(n: usize) -> Layout {
    Layout::from_size_align(n, 8).unwrap()
}

#[test]
fn reallocation_moves_a_block_from_main_to_fallback_keeping_its_contents() {
    let alloc = Pool::new(64, 4).with_fallback(Heap);
    let block = alloc.allocate_raw(bytes(16)).unwrap();
    fill(block, 16, 0x5A);

    // Within the slot: in place, still in the pool.
    // SAFETY: `block` is currently allocated by `alloc`.
    let grown = unsafe { alloc.reallocate_raw(block, bytes(60)) }.unwrap();
    assert_eq!(grown.addr(), block.addr());
    assert!(alloc.main().owns_block(&grown));
    fill(grown, 60, 0x5B);

    // Beyond the slot: moved to the heap, contents kept, slot freed.
    // SAFETY: `grown` is currently allocated by `alloc`.
    let moved = unsafe { alloc.reallocate_raw(grown, bytes(1000)) }.unwrap();
    assert!(!alloc.main().owns_block(&moved));
    assert!(holds(moved, 60, 0x5B));
    assert_eq!(alloc.main().live(), 0);
    fill(moved, 1000, 0x5C);

    // A block of the fallback stays there, growing or shrinking (the documented rule).
    // SAFETY: `moved` is currently allocated by `alloc`.
    let shrunk = unsafe { alloc.reallocate_raw(moved, bytes(8)) }.unwrap();
    assert!(!alloc.main().owns_block(&shrunk));
    assert!(holds(shrunk, 8, 0x5C));
    assert_eq!(alloc.main().live(), 0);
    // SAFETY: `shrunk` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(shrunk) };
}

#[test]
fn reallocation_walks_down_a_nested_chain() {
    let alloc = Pool::new(64, 2).with_fallback(Pool::new(512, 2).with_fallback(Heap));
    let block = alloc.allocate_raw(bytes(64)).unwrap();
    fill(block, 64, 1);
    // SAFETY: `block` is currently allocated by `alloc`.
    let middle = unsafe { alloc.reallocate_raw(block, bytes(300)) }.unwrap();
    assert!(alloc.fallback().main().owns_block(&middle));
    assert!(holds(middle, 64, 1));
    fill(middle, 300, 2);
    // SAFETY: `middle` is currently allocated by `alloc`.
    let last = unsafe { alloc.reallocate_raw(middle, bytes(5000)) }.unwrap();
    assert!(!alloc.main().owns_block(&last) && !alloc.fallback().main().owns_block(&last));
    assert!(holds(last, 300, 2));
    assert_eq!(
        (alloc.main().live(), alloc.fallback().main().live()),
        (0, 0)
    );
    // SAFETY: `last` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(last) };
}

#[test]
fn reallocating_an_empty_block_tries_main_first() {
    let alloc = Pool::new(64, 1).with_fallback(Heap);
    let empty = alloc.allocate_raw(bytes(0)).unwrap();
    assert!(empty.is_empty());
    assert_eq!(alloc.main().live(), 0);
    // SAFETY: empty blocks may be reallocated.
    let block = unsafe { alloc.reallocate_raw(empty, bytes(32)) }.unwrap();
    assert!(alloc.main().owns_block(&block));
    // SAFETY: `block` is currently allocated by `alloc`; to size 0 frees it.
    let gone = unsafe { alloc.reallocate_raw(block, bytes(0)) }.unwrap();
    assert!(gone.is_empty());
    assert_eq!(alloc.main().live(), 0);
}

#[test]
fn zeroed_allocations_are_zero_on_both_sides() {
    let alloc = Pool::new(64, 1).with_fallback(Heap);
    let dirty = alloc.allocate_raw(bytes(64)).unwrap();
    fill(dirty, 64, 0xFF);
    // SAFETY: `dirty` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(dirty) };
    let a = alloc.allocate_zeroed_raw(bytes(64)).unwrap();
    let b = alloc.allocate_zeroed_raw(bytes(64)).unwrap(); // the pool is full: heap
    assert!(alloc.main().owns_block(&a) && !alloc.main().owns_block(&b));
    assert!(holds(a, 64, 0) && holds(b, 64, 0));
    // SAFETY: both are currently allocated by `alloc`.
    unsafe {
        alloc.deallocate_raw(a);
        alloc.deallocate_raw(b);
    }
}

#[test]
fn when_both_fail_the_more_informative_error_is_returned() {
    // The pool says `TooLarge`, `Null` says `OutOfMemory`: the pool's error wins.
    let alloc = Pool::new(64, 1).with_fallback(Null);
    assert_eq!(
        alloc.allocate_raw(bytes(100)),
        Err(AllocatorError::TooLarge)
    );
    let align = Layout::from_size_align(8, 128).unwrap();
    assert_eq!(
        alloc.allocate_raw(align),
        Err(AllocatorError::UnsupportedAlignment)
    );
    // And the other way round: the fallback's error wins.
    let alloc = Null.with_fallback(Pool::new(64, 1));
    assert_eq!(
        alloc.allocate_zeroed_raw(bytes(100)),
        Err(AllocatorError::TooLarge)
    );
    // Equal ranks: both out of memory.
    let alloc = Pool::new(64, 1).with_fallback(Pool::new(64, 1));
    let a = alloc.allocate_raw(bytes(8)).unwrap();
    let b = alloc.allocate_raw(bytes(8)).unwrap();
    assert_eq!(
        alloc.allocate_raw(bytes(8)),
        Err(AllocatorError::OutOfMemory)
    );

    // A failed reallocation keeps the block where it was, unchanged.
    fill(a, 64, 7);
    // SAFETY: `a` is currently allocated by `alloc` (in its main pool).
    let err = unsafe { alloc.reallocate_raw(a, bytes(100)) };
    assert_eq!(err, Err(AllocatorError::TooLarge));
    assert!(alloc.main().owns_block(&a) && holds(a, 64, 7));
    // SAFETY: both are currently allocated by `alloc`.
    unsafe {
        alloc.deallocate_raw(a);
        alloc.deallocate_raw(b);
    }
    assert_eq!((alloc.main().live(), alloc.fallback().live()), (0, 0));
}

/// Memory that no allocator handed out (a local buffer), described as a block.
fn foreign_block(buffer: &mut [u64; 8]) -> Block {
    Block::from_raw_parts(NonNull::from(buffer).cast(), bytes(64))
}

#[test]
#[should_panic(expected = "Null never allocates a non-empty block")]
fn a_block_of_neither_side_is_caught_by_a_null_fallback() {
    let alloc = Pool::new(64, 2).with_fallback(Null);
    // SAFETY: not safe on purpose: no part of the chain allocated the block; the chain must
    // panic before touching it (it is a live local buffer anyway).
    unsafe { alloc.deallocate_raw(foreign_block(&mut [0; 8])) };
}

#[test]
#[should_panic(expected = "Null::reallocate_raw")]
fn a_block_of_no_part_of_a_nested_chain_is_caught_at_its_end() {
    let alloc = Pool::new(64, 2).with_fallback(Bump::new(512).with_fallback(Null));
    // SAFETY: as above.
    let _ = unsafe { alloc.reallocate_raw(foreign_block(&mut [0; 8]), bytes(8)) };
}

#[test]
#[should_panic(expected = "Pool::deallocate_raw: foreign block")]
fn a_block_of_neither_side_is_caught_by_an_owner_fallback() {
    let alloc = Bump::new(512).with_fallback(Pool::new(64, 2));
    // SAFETY: as above.
    unsafe { alloc.deallocate_raw(foreign_block(&mut [0; 8])) };
}

#[test]
fn a_dynamic_fallback_works() {
    let fallback: Box<dyn Allocator> = Box::new(Heap);
    let alloc: Fallback<Pool, Box<dyn Allocator>> = Pool::new(16, 1).with_fallback(fallback);
    let a = alloc.allocate(1u64).unwrap();
    let b = alloc.allocate(2u64).unwrap();
    assert!(alloc.main().owns(&a) && !alloc.main().owns(&b));
}
