//! The check of a block given back, around the fast path that reads the most recent
//! region's bounds from the heap: blocks of older regions, misaligned pointers inside the
//! most recent region, and the last slot before a region's end.

use alloc_core::testing::panic_message;
use alloc_core::{Allocator, Block, Heap};
use alloc_tlsf::Tlsf;
use core::alloc::Layout;
use core::ptr::NonNull;

#[test]
fn blocks_of_older_regions_are_checked_and_freed() {
    let heap = Tlsf::new_in(Heap, 1024).unwrap();
    let old = heap.allocate_raw(Layout::new::<[u8; 256]>()).unwrap();
    // Larger than the first chunk: a second region, the most recent one.
    let new = heap.allocate_raw(Layout::new::<[u8; 4096]>()).unwrap();
    let after = heap.allocate_raw(Layout::new::<[u8; 64]>()).unwrap();
    // SAFETY: `old` is allocated by `heap`.
    unsafe { heap.deallocate_raw(old) };
    // SAFETY: none: a double free in the older region, refused before anything is touched.
    let m = panic_message(|| unsafe { heap.deallocate_raw(old) });
    assert!(m.contains("not allocated (a double free"), "{m}");
    // SAFETY: both allocated by `heap`.
    unsafe {
        heap.deallocate_raw(new);
        heap.deallocate_raw(after);
    }
    assert!(heap.allocate_raw(Layout::new::<[u8; 4000]>()).is_ok());
}

#[test]
fn a_misaligned_pointer_inside_the_most_recent_region_is_foreign() {
    let heap = Tlsf::new_in(Heap, 4096).unwrap();
    let b = heap.allocate_raw(Layout::new::<[u8; 256]>()).unwrap();
    for offset in [1, 8, 24] {
        // SAFETY: inside the live block.
        let inner = Block::from_raw_parts(unsafe { b.ptr().add(offset) }, Layout::new::<u8>());
        // SAFETY: none: the bad input under test, refused before anything is touched.
        let m = panic_message(|| unsafe { heap.deallocate_raw(inner) });
        assert!(m.contains("is not a block of this heap"), "{offset}: {m}");
    }
    // SAFETY: still allocated.
    unsafe { heap.deallocate_raw(b) };
}

#[test]
fn the_last_slot_of_a_region_is_checked_within_the_region() {
    let memory = Heap
        .allocate_raw(Layout::from_size_align(4096, 16).unwrap())
        .unwrap();
    let heap = Tlsf::new();
    // SAFETY: the block is valid for its size and only the heap uses it until the heap is
    // dropped; it is given back after.
    assert!(unsafe { heap.add_region(memory.ptr(), memory.size()) });
    // Blocks are carved in address order from the one free block: the last one that fits
    // ends at the region's sentinel.
    let mut blocks = Vec::new();
    while let Ok(b) = heap.allocate_raw(Layout::new::<[u8; 16]>()) {
        blocks.push(b);
    }
    assert_eq!(heap.free_bytes(), 0);
    let b = *blocks.last().unwrap();
    assert_eq!(b.size(), 16);
    // A fake header in the last 16 bytes of the region claiming 32 bytes: they would reach
    // past the sentinel, so the check must refuse it without reading there.
    // SAFETY: the user part of a live block, 16 bytes, 16-aligned.
    let user = unsafe {
        let fake = b.as_ptr().cast::<usize>();
        fake.write(0);
        fake.add(1).write(32);
        NonNull::new_unchecked(b.as_ptr().add(16))
    };
    let bad = Block::from_raw_parts(user, Layout::new::<u8>());
    // SAFETY: none: the bad input under test.
    let m = panic_message(|| unsafe { heap.deallocate_raw(bad) });
    assert!(m.contains("Tlsf::deallocate_raw"), "{m}");
    // SAFETY: the blocks are allocated by `heap`; then the heap is gone and `memory` is
    // Heap's.
    unsafe {
        for b in blocks {
            heap.deallocate_raw(b);
        }
        drop(heap);
        Heap.deallocate_raw(memory);
    }
}
