//! Bad input: construction errors, requests that cannot be served, and misuse on
//! deallocation (foreign blocks, misaligned blocks, double frees) caught with a panic.

use alloc_core::{Allocator, AllocatorError, Block};
use alloc_freelist::{FreeList, SyncFreeList};
use core::alloc::Layout;
use core::ptr::NonNull;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Memory no free list handed out (on the stack, so a panicking test leaks nothing).
#[repr(align(16))]
struct Memory([u8; 64]);

impl Memory {
    fn block(&mut self) -> Block {
        Block::from_raw_parts(NonNull::from(&mut self.0).cast(), layout(64, 16))
    }
}

#[test]
fn block_smaller_than_a_pointer_is_refused() {
    for size in 0..size_of::<*mut u8>() {
        let e = FreeList::new(size, 8).unwrap_err();
        assert!(
            e.kind() == AllocatorError::InvalidArgument
                && e.message()
                    .is_some_and(|m| m.contains("smaller than a pointer")),
            "{size}: {e}"
        );
        assert!(SyncFreeList::new(size, 8).is_err());
    }
    assert!(FreeList::new(size_of::<*mut u8>(), 8).is_ok());
}

#[test]
fn zero_count_is_refused() {
    let e = FreeList::new(64, 0).unwrap_err();
    assert!(
        e.kind() == AllocatorError::InvalidArgument
            && e.message().is_some_and(|m| m.contains("zero")),
        "{e}"
    );
    assert!(SyncFreeList::with_layout(layout(64, 64), 0).is_err());
}

#[test]
fn size_times_count_overflow_is_refused() {
    assert_eq!(
        FreeList::new(64, usize::MAX).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
    assert_eq!(
        FreeList::new(usize::MAX / 2, 3).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
    // No `usize` overflow, but more than `isize::MAX` bytes.
    assert_eq!(
        FreeList::new(1 << 20, usize::MAX >> 21).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
    // A block size beyond `isize::MAX` is not even a valid layout.
    assert_eq!(
        FreeList::new(usize::MAX - 8, 1).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
    assert_eq!(
        SyncFreeList::new(64, usize::MAX).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
}

#[test]
fn parent_errors_are_passed_on() {
    // A parent with too little memory: a free list of 2 blocks of 64 bytes.
    let parent = FreeList::new(64, 2).unwrap();
    assert_eq!(
        FreeList::new_in(16, 100, &parent).unwrap_err().kind(),
        AllocatorError::TooLarge
    );
    // 3 blocks of 16 bytes and the 8-byte bitmap fit in 64 bytes, 4 blocks do not.
    assert_eq!(
        FreeList::new_in(16, 4, &parent).unwrap_err().kind(),
        AllocatorError::TooLarge
    );
    let e = FreeList::new_in(16, 4, &parent).unwrap_err();
    assert!(e.to_string().contains("parent allocator"), "{e}");
    let _a = FreeList::new_in(16, 3, &parent).unwrap();
    let _b = FreeList::new_in(16, 3, &parent).unwrap();
    assert_eq!(
        FreeList::new_in(16, 3, &parent).unwrap_err().kind(),
        AllocatorError::OutOfMemory
    );
}

#[test]
fn requests_the_blocks_cannot_serve() {
    let list = FreeList::new(64, 4).unwrap();
    assert_eq!(
        list.allocate_raw(layout(65, 1)).unwrap_err(),
        AllocatorError::TooLarge
    );
    assert_eq!(
        list.allocate_raw(layout(8, 32)).unwrap_err(),
        AllocatorError::UnsupportedAlignment
    );
    // Nothing was consumed by the refusals.
    assert_eq!(list.free_blocks(), 4);
    let sync = SyncFreeList::new(64, 4).unwrap();
    assert_eq!(
        sync.allocate_raw(layout(4096, 1)).unwrap_err(),
        AllocatorError::TooLarge
    );
    assert_eq!(
        sync.allocate_raw(layout(1, 4096)).unwrap_err(),
        AllocatorError::UnsupportedAlignment
    );
}

#[test]
fn zero_size_requests_consume_nothing() {
    let list = FreeList::new(64, 1).unwrap();
    for align in [1, 16, 4096] {
        let b = list.allocate_raw(layout(0, align)).unwrap();
        assert_eq!(b, Block::empty(layout(0, align)));
        // SAFETY: empty blocks may always be given back.
        unsafe { list.deallocate_raw(b) };
    }
    assert_eq!(list.free_blocks(), 1);
    let unit = list.allocate(()).unwrap();
    let one = list.allocate(1u8).unwrap();
    assert_eq!((*unit, *one), ((), 1));
}

#[test]
fn exhaustion_then_free_succeeds_again() {
    for list in [
        FreeList::new(32, 3).unwrap(),
        FreeList::with_layout(layout(32, 32), 3).unwrap(),
    ] {
        let blocks: Vec<Block> = (0..3)
            .map(|_| list.allocate_raw(layout(32, 8)).unwrap())
            .collect();
        assert_eq!(
            list.allocate_raw(layout(1, 1)).unwrap_err(),
            AllocatorError::OutOfMemory
        );
        assert_eq!(
            list.allocate_raw(layout(1, 1)).unwrap_err(),
            AllocatorError::OutOfMemory
        );
        // SAFETY: allocated above, not used afterwards.
        unsafe { list.deallocate_raw(blocks[1]) };
        let again = list.allocate_raw(layout(8, 8)).unwrap();
        assert_eq!(again.addr(), blocks[1].addr());
        assert_eq!(
            list.allocate_raw(layout(1, 1)).unwrap_err(),
            AllocatorError::OutOfMemory
        );
        for b in [blocks[0], blocks[2], again] {
            // SAFETY: allocated above, not used afterwards.
            unsafe { list.deallocate_raw(b) };
        }
        assert_eq!(list.free_blocks(), 3);
    }
}

#[test]
#[should_panic(expected = "FreeList: deallocated a block this free list does not own")]
fn foreign_block_panics() {
    let list = FreeList::new(64, 4).unwrap();
    let _keep = list.allocate(0u64).unwrap();
    let mut memory = Memory([0; 64]);
    let foreign = memory.block();
    // SAFETY: deliberately wrong: the panic happens before the block is touched.
    unsafe { list.deallocate_raw(foreign) };
}

#[test]
#[should_panic(expected = "does not own")]
fn block_of_another_free_list_panics() {
    let list = FreeList::new(64, 4).unwrap();
    let other = FreeList::new(64, 4).unwrap();
    let b = other.allocate_raw(layout(64, 8)).unwrap();
    let _keep = list.allocate(0u64).unwrap();
    // SAFETY: deliberately wrong: the panic happens before the block is touched.
    unsafe { list.deallocate_raw(b) };
}

#[test]
#[should_panic(expected = "does not own")]
fn block_off_the_boundary_panics() {
    let list = FreeList::new(24, 4).unwrap();
    let b = list.allocate_raw(layout(24, 8)).unwrap();
    let _second = list.allocate_raw(layout(24, 8)).unwrap();
    // Inside the memory, 8 bytes into the first block.
    // SAFETY: 8 bytes into a 24-byte block.
    let inside = Block::from_raw_parts(unsafe { b.ptr().add(8) }, layout(8, 8));
    // SAFETY: deliberately wrong: the panic happens before the block is touched.
    unsafe { list.deallocate_raw(inside) };
}

#[test]
#[should_panic(expected = "does not own")]
fn block_larger_than_a_block_panics() {
    let list = FreeList::new(64, 4).unwrap();
    let b = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: deliberately wrong: the panic happens before the block is touched.
    unsafe { list.deallocate_raw(Block::from_raw_parts(b.ptr(), layout(128, 8))) };
}

#[test]
#[should_panic(expected = "never handed out")]
fn block_never_handed_out_panics() {
    let list = FreeList::new(64, 4).unwrap();
    let b = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: the next block of the region (4 blocks of 64 bytes).
    let next = Block::from_raw_parts(unsafe { b.ptr().add(64) }, layout(64, 8));
    // SAFETY: deliberately wrong: the panic happens before the block is touched.
    unsafe { list.deallocate_raw(next) };
}

#[test]
#[should_panic(expected = "FreeList: double free")]
fn immediate_double_free_panics_in_every_build() {
    let list = FreeList::new(64, 4).unwrap();
    let a = list.allocate_raw(layout(64, 8)).unwrap();
    let _b = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: `a` is allocated; the second call is the misuse under test, caught before
    // the block is touched.
    unsafe {
        list.deallocate_raw(a);
        list.deallocate_raw(a);
    }
}

#[test]
#[should_panic(expected = "double free")]
fn double_free_of_the_last_block_panics_in_every_build() {
    let list = FreeList::new(64, 4).unwrap();
    let a = list.allocate_raw(layout(64, 8)).unwrap();
    let b = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: `a` and `b` are allocated; the third call is the misuse under test, caught
    // (no block is allocated any more: the list restarted) before the block is touched.
    unsafe {
        list.deallocate_raw(a);
        list.deallocate_raw(b);
        list.deallocate_raw(a);
    }
}

#[cfg(any(debug_assertions, feature = "double-free-check"))]
#[test]
#[should_panic(expected = "double free")]
fn any_double_free_panics_in_checked_builds() {
    let list = FreeList::new(64, 4).unwrap();
    let a = list.allocate_raw(layout(64, 8)).unwrap();
    let b = list.allocate_raw(layout(64, 8)).unwrap();
    let _c = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: `a` and `b` are allocated; the third call is the misuse under test, caught
    // by the bitmap before the block is touched.
    unsafe {
        list.deallocate_raw(a);
        list.deallocate_raw(b);
        list.deallocate_raw(a);
    }
}

#[cfg(any(debug_assertions, feature = "double-free-check"))]
#[test]
#[should_panic(expected = "SyncFreeList: double free")]
fn sync_double_free_panics_and_releases_the_lock() {
    let list = SyncFreeList::new(64, 4).unwrap();
    let a = list.allocate_raw(layout(64, 8)).unwrap();
    let b = list.allocate_raw(layout(64, 8)).unwrap();
    let _c = list.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: as above.
    unsafe {
        list.deallocate_raw(a);
        list.deallocate_raw(b);
        list.deallocate_raw(a);
    }
}

#[test]
fn sync_panics_leave_the_list_usable() {
    let list = SyncFreeList::new(64, 4).unwrap();
    let a = list.allocate_raw(layout(64, 8)).unwrap();
    let mut memory = Memory([0; 64]);
    let foreign = memory.block();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: deliberately wrong: the panic happens before the block is touched.
        unsafe { list.deallocate_raw(foreign) };
    }));
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("SyncFreeList: deallocated a block this free list does not own"));
    // The lock was released and the list unchanged.
    assert_eq!(list.free_blocks(), 3);
    // SAFETY: `a` is allocated by `list`.
    unsafe { list.deallocate_raw(a) };
    assert_eq!(list.free_blocks(), 4);
}

#[test]
#[should_panic(expected = "does not own")]
fn reallocating_a_foreign_block_panics() {
    let list = FreeList::new(64, 4).unwrap();
    let _keep = list.allocate(0u64).unwrap();
    let mut memory = Memory([0; 64]);
    let foreign = memory.block();
    // SAFETY: deliberately wrong: the panic happens before the block is touched.
    let _ = unsafe { list.reallocate_raw(foreign, layout(32, 8)) };
}
