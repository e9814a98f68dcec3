//! Frees, reallocation, reset and the size accessors.

use alloc_core::{Allocator, AllocatorError, Block};
use alloc_scoped::Scoped;
use core::alloc::Layout;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Fills `block` with `byte`.
fn fill(block: Block, byte: u8) {
    // SAFETY: callers pass live blocks, valid for writes of their size.
    unsafe { block.as_ptr().write_bytes(byte, block.size()) };
}

/// The bytes of `block`.
fn bytes(block: Block) -> Vec<u8> {
    // SAFETY: callers pass live blocks whose bytes were all written.
    unsafe { std::slice::from_raw_parts(block.as_ptr(), block.size()) }.to_vec()
}

#[test]
fn freeing_in_reverse_order_gives_everything_back() {
    let alloc = Scoped::new(1024).unwrap();
    let blocks: Vec<Block> = (1..=10)
        .map(|i| alloc.allocate_raw(layout(i * 8, 8)).unwrap())
        .collect();
    assert_eq!(alloc.used(), 8 * 55);
    for b in blocks.into_iter().rev() {
        // SAFETY: each block is the most recent live one when freed.
        unsafe { alloc.deallocate_raw(b) };
    }
    assert_eq!(alloc.used(), 0);
    assert_eq!(alloc.remaining(), 1024);
}

#[test]
fn freeing_out_of_order_reclaims_nothing_until_reset() {
    let mut alloc = Scoped::new(1024).unwrap();
    let a = alloc.allocate_raw(layout(100, 4)).unwrap();
    let b = alloc.allocate_raw(layout(100, 4)).unwrap();
    // SAFETY: `a` is live (not the most recent: a no-op).
    unsafe { alloc.deallocate_raw(a) };
    assert_eq!(alloc.used(), 200);
    // SAFETY: `b` is the most recent: rewinds to its end, `a`'s bytes stay taken.
    unsafe { alloc.deallocate_raw(b) };
    assert_eq!(alloc.used(), 100);
    alloc.reset();
    assert_eq!(
        (alloc.used(), alloc.remaining(), alloc.capacity()),
        (0, 1024, 1024)
    );
    // After the reset the first block is at the end of the buffer again.
    let c = alloc.allocate_raw(layout(100, 4)).unwrap();
    assert_eq!(c.addr(), a.addr());
}

#[test]
fn padding_is_counted_and_alignment_honoured() {
    let alloc = Scoped::new(8192).unwrap();
    let a = alloc.allocate_raw(layout(1, 1)).unwrap();
    let b = alloc.allocate_raw(layout(8, 8)).unwrap();
    assert_eq!(b.addr() % 8, 0);
    // 1 byte, 7 bytes of padding, 8 bytes.
    assert_eq!(alloc.used(), 16);
    assert!(b.addr() + 8 <= a.addr());
    let c = alloc.allocate_raw(layout(1, 4096)).unwrap();
    assert_eq!(c.addr() % 4096, 0);
    assert_eq!(c.align(), 4096);
}

#[test]
fn the_most_recent_block_grows_in_place() {
    let alloc = Scoped::new(4096).unwrap();
    let first = alloc.allocate_raw(layout(16, 8)).unwrap();
    let mut block = alloc.allocate_raw(layout(8, 8)).unwrap();
    fill(block, 0xAB);
    for size in [16, 64, 256, 1024] {
        // SAFETY: `block` is the most recent live block.
        let grown = unsafe { alloc.reallocate_raw(block, layout(size, 8)) }.unwrap();
        // It grew downward into the free space, ending where it ended before: no space
        // is left behind, and the old contents came along.
        assert_eq!(grown.addr() + size, first.addr());
        assert_eq!(alloc.used(), 16 + size);
        assert!(bytes(grown)[..block.size()].iter().all(|&b| b == 0xAB));
        fill(grown, 0xAB);
        block = grown;
    }
}

#[test]
fn the_most_recent_block_shrinks_in_place_and_gives_the_rest_back() {
    let alloc = Scoped::new(4096).unwrap();
    let first = alloc.allocate_raw(layout(16, 8)).unwrap();
    let block = alloc.allocate_raw(layout(1000, 8)).unwrap();
    let pattern: Vec<u8> = (0..1000).map(|i| i as u8).collect();
    // SAFETY: `block` is valid for 1000 bytes.
    unsafe { block.as_ptr().copy_from(pattern.as_ptr(), 1000) };
    // SAFETY: `block` is the most recent live block.
    let shrunk = unsafe { alloc.reallocate_raw(block, layout(100, 8)) }.unwrap();
    assert_eq!(shrunk.addr() + 104, first.addr()); // 100 rounded to the alignment of 8
    assert_eq!(alloc.used(), 16 + 104);
    assert_eq!(bytes(shrunk), pattern[..100]);
    // Shrinking to zero frees it.
    // SAFETY: `shrunk` is the most recent live block.
    let gone = unsafe { alloc.reallocate_raw(shrunk, layout(0, 8)) }.unwrap();
    assert!(gone.is_empty());
    assert_eq!(alloc.used(), 16 + 4);
}

#[test]
fn other_blocks_shrink_without_moving_and_grow_by_copying() {
    let alloc = Scoped::new(4096).unwrap();
    let a = alloc.allocate_raw(layout(64, 8)).unwrap();
    fill(a, 1);
    let b = alloc.allocate_raw(layout(64, 8)).unwrap();
    fill(b, 2);
    // SAFETY: `a` is live, not the most recent.
    let a_small = unsafe { alloc.reallocate_raw(a, layout(10, 2)) }.unwrap();
    assert_eq!(
        (a_small.addr(), a_small.size(), a_small.align()),
        (a.addr(), 10, 2)
    );
    // A stricter alignment than the address has needs a move.
    let odd = alloc.allocate_raw(layout(8, 8)).unwrap();
    let _newest = alloc.allocate_raw(layout(8, 8)).unwrap();
    let misaligned = odd.addr() % 16 != 0;
    // SAFETY: `odd` is live, not the most recent.
    let moved = unsafe { alloc.reallocate_raw(odd, layout(8, 16)) }.unwrap();
    assert_eq!(moved.addr() == odd.addr(), !misaligned);
    assert_eq!(moved.addr() % 16, 0);
    // SAFETY: `a_small` is live, not the most recent.
    let a_big = unsafe { alloc.reallocate_raw(a_small, layout(200, 8)) }.unwrap();
    assert!(a_big.addr() + 200 <= b.addr());
    assert!(bytes(a_big)[..10].iter().all(|&x| x == 1));
    assert!(bytes(b).iter().all(|&x| x == 2));
}

#[test]
fn growth_that_does_not_fit_fails_and_keeps_the_block() {
    let alloc = Scoped::new(256).unwrap();
    let a = alloc.allocate_raw(layout(100, 4)).unwrap();
    fill(a, 7);
    let b = alloc.allocate_raw(layout(100, 4)).unwrap();
    fill(b, 9);
    // SAFETY: `b` is the most recent block; 257 bytes exceed the capacity.
    let r = unsafe { alloc.reallocate_raw(b, layout(257, 4)) };
    assert_eq!(r, Err(AllocatorError::TooLarge));
    // SAFETY: as above.
    let r = unsafe { alloc.reallocate_raw(b, layout(160, 4)) };
    assert_eq!(r, Err(AllocatorError::OutOfMemory));
    // SAFETY: `a` is live, not the most recent: its growth needs a new block.
    let r = unsafe { alloc.reallocate_raw(a, layout(101, 4)) };
    assert_eq!(r, Err(AllocatorError::OutOfMemory));
    assert!(bytes(a).iter().all(|&x| x == 7));
    assert!(bytes(b).iter().all(|&x| x == 9));
    assert_eq!(alloc.used(), 200);
    // Exactly what is left still works.
    // SAFETY: `b` is the most recent block.
    let grown = unsafe { alloc.reallocate_raw(b, layout(156, 4)) }.unwrap();
    assert_eq!(alloc.remaining(), 0);
    assert!(bytes(grown)[..100].iter().all(|&x| x == 9));
}

#[test]
#[should_panic(expected = "not currently allocated")]
fn a_double_free_of_the_most_recent_block_is_detected() {
    let alloc = Scoped::new(64).unwrap();
    let _a = alloc.allocate_raw(layout(8, 8)).unwrap();
    let b = alloc.allocate_raw(layout(8, 8)).unwrap();
    // SAFETY: `b` is the most recent block.
    unsafe { alloc.deallocate_raw(b) };
    // SAFETY: none: the double free being detected.
    unsafe { alloc.deallocate_raw(b) };
}

#[test]
#[should_panic(expected = "not currently allocated")]
fn a_foreign_block_is_detected() {
    let alloc = Scoped::new(64).unwrap();
    let other = Scoped::new(64).unwrap();
    let b = other.allocate_raw(layout(8, 8)).unwrap();
    // SAFETY: none: the misuse being detected (nothing is touched).
    unsafe { alloc.deallocate_raw(b) };
}

#[test]
#[should_panic(expected = "not currently allocated")]
fn a_foreign_block_right_after_the_buffer_is_detected() {
    // The bump pointer of an empty Scoped is the end of its buffer: a foreign block that
    // starts exactly there must not be taken for the most recent block.
    let parent = Scoped::new(64).unwrap();
    let first = parent.allocate_raw(layout(16, 16)).unwrap();
    let inner = Scoped::new_in(32, &parent).unwrap();
    // `inner`'s buffer is the 32 bytes right below `first`, and `inner` is empty: its bump
    // pointer is `first.addr()`.
    assert_eq!(parent.used(), 48);
    // SAFETY: none: the misuse being detected (`first` belongs to `parent`).
    unsafe { inner.deallocate_raw(first) };
}
