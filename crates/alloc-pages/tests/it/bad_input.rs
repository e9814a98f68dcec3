//! The rows of docs/bad-input.md for `Pages` and `Protected`, one test per row: a clear
//! error or a panic naming the problem, and the allocator serves requests afterwards.

use alloc_core::testing::{assert_usable, panic_message};
use alloc_pages::AllocatorError::{OutOfMemory, SizeOverflow, TooLarge};
use alloc_pages::{Allocator, Block, Heap, Pages, Protected};

use crate::layout;

/// Both allocators, by name.
fn each(mut f: impl FnMut(&str, &dyn Allocator)) {
    f("Pages", &Pages);
    f("Protected", &Protected::new());
}

#[test]
fn zero_size_requests() {
    each(|name, a| {
        let b = a.allocate_raw(layout(0, 64)).unwrap();
        assert!(b.is_empty() && b.addr() % 64 == 0, "{name}");
        // SAFETY: empty blocks may be given to any allocator.
        unsafe { a.deallocate_raw(b) };
        assert_usable(name, a);
    });
}

#[test]
fn isize_max_and_overflowing_sizes() {
    each(|name, a| {
        // Rounded up to pages, it passes `isize::MAX`.
        assert_eq!(
            a.allocate_raw(layout(isize::MAX as usize - 8, 1)),
            Err(SizeOverflow),
            "{name}"
        );
        // A size no `Block` can describe (2^58 bytes on 64-bit targets).
        if Block::MAX_SIZE < isize::MAX as usize / 2 {
            assert_eq!(
                a.allocate_raw(layout(Block::MAX_SIZE + 1, 1)),
                Err(TooLarge),
                "{name}"
            );
        }
        assert_usable(name, a);
    });
}

#[test]
fn over_aligned_requests() {
    each(|name, a| {
        for shift in 13..=20 {
            let b = a.allocate_raw(layout(100, 1 << shift)).unwrap();
            assert_eq!(b.addr() % (1 << shift), 0, "{name}");
            // SAFETY: valid for 100 bytes, currently allocated by `a`.
            unsafe {
                b.as_ptr().write_bytes(3, 100);
                a.deallocate_raw(b);
            }
        }
        assert_usable(name, a);
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the Miri fallback asks Miri's heap for 2^50 bytes, which Miri reports as \
              resource exhaustion rather than answering null"
)]
fn exhaustion() {
    // More than any 64-bit address space (47 or 56 bits of user space) or 32-bit one.
    let huge = if cfg!(target_pointer_width = "64") {
        1 << 50
    } else {
        3 << 30
    };
    each(|name, a| {
        assert_eq!(a.allocate_raw(layout(huge, 8)), Err(OutOfMemory), "{name}");
        assert_usable(name, a);
    });
}

#[test]
fn freeing_a_foreign_block() {
    // `Pages` cannot tell (not a `BlockOwner`): undefined behaviour, not tested.
    let fence = Protected::new();
    let other = Protected::new();
    let theirs = other.allocate_raw(layout(16, 8)).unwrap();
    let heap = Heap.allocate_raw(layout(16, 8)).unwrap();
    for foreign in [theirs, heap] {
        // SAFETY: none: a foreign block on purpose; `Protected` finds no record of it and
        // panics before touching any memory.
        let msg = panic_message(|| unsafe { fence.deallocate_raw(foreign) });
        assert!(
            msg.contains("Protected: deallocate_raw of a foreign block"),
            "{msg}"
        );
    }
    // Inside one of its blocks, off its start: foreign too.
    let own = fence.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: 8 bytes into a 64-byte block.
    let inside = Block::from_raw_parts(unsafe { own.ptr().add(8) }, layout(8, 8));
    // SAFETY: none: not a block of `fence` (off a block's start); refused before any change.
    let msg = panic_message(|| unsafe { fence.deallocate_raw(inside) });
    assert!(msg.contains("foreign block"), "{msg}");
    // SAFETY: each block to its own allocator.
    unsafe {
        other.deallocate_raw(theirs);
        Heap.deallocate_raw(heap);
        fence.deallocate_raw(own);
    }
    assert_usable("Protected", &fence);
    assert_eq!(fence.live_blocks(), 0);
}

#[test]
fn double_free() {
    // `Pages`: undefined behaviour (the second `munmap` may unmap someone else's pages).
    let fence = Protected::new();
    let b = fence.allocate_raw(layout(32, 8)).unwrap();
    let live = fence.allocate_raw(layout(32, 8)).unwrap();
    // SAFETY: currently allocated by `fence`.
    unsafe { fence.deallocate_raw(b) };
    // SAFETY: none: a double free on purpose; the record says freed, and `Protected`
    // panics before touching any memory.
    let msg = panic_message(|| unsafe { fence.deallocate_raw(b) });
    assert!(msg.contains("Protected: double free"), "{msg}");
    assert_eq!(fence.live_blocks(), 1);
    // SAFETY: currently allocated by `fence`.
    unsafe { fence.deallocate_raw(live) };
    assert_usable("Protected", &fence);
}

#[test]
fn a_block_given_back_with_the_wrong_layout() {
    let fence = Protected::new();
    let b = fence.allocate_raw(layout(32, 8)).unwrap();
    for wrong in [layout(16, 8), layout(b.size() + 1, 8), layout(32, 16)] {
        let block = Block::from_raw_parts(b.ptr(), wrong);
        // SAFETY: none: a layout that does not fit on purpose; refused before any change.
        let msg = panic_message(|| unsafe { fence.deallocate_raw(block) });
        assert!(
            msg.contains("Protected: deallocate_raw with the wrong layout"),
            "{msg}"
        );
    }
    // SAFETY: currently allocated by `fence`, with its own layout.
    unsafe { fence.deallocate_raw(b) };
    assert_usable("Protected", &fence);
}

#[test]
fn reallocating_to_zero() {
    each(|name, a| {
        let b = a.allocate_raw(layout(100, 8)).unwrap();
        // SAFETY: currently allocated by `a`.
        let empty = unsafe { a.reallocate_raw(b, layout(0, 8)) }.unwrap();
        assert!(empty.is_empty(), "{name}");
        assert_usable(name, a);
    });
}

#[test]
fn reallocating_to_larger_than_capacity() {
    each(|name, a| {
        let b = a.allocate_raw(layout(100, 8)).unwrap();
        // SAFETY: valid for 100 bytes.
        unsafe { b.as_ptr().write_bytes(4, 100) };
        // SAFETY: currently allocated by `a`.
        let r = unsafe { a.reallocate_raw(b, layout(isize::MAX as usize - 8, 8)) };
        assert_eq!(r, Err(SizeOverflow), "{name}");
        if !cfg!(miri) {
            // SAFETY: currently allocated by `a`.
            let r = unsafe { a.reallocate_raw(b, layout(1 << 50, 8)) };
            assert_eq!(r, Err(OutOfMemory), "{name}");
        }
        // The block is intact and still allocated.
        // SAFETY: valid for 100 bytes.
        assert_eq!(unsafe { b.as_ptr().add(99).read() }, 4, "{name}");
        // SAFETY: currently allocated by `a`.
        unsafe { a.deallocate_raw(b) };
        assert_usable(name, a);
    });
}
