//! Bad input: zero sizes, huge sizes, huge alignments, full buffers, empty buffers.

use alloc_core::{Allocator, AllocatorError};
use alloc_scoped::{MAX_ALIGN, Scoped};
use core::alloc::Layout;
use core::mem::MaybeUninit;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn zero_size_requests_are_aligned_and_consume_nothing() {
    let alloc = Scoped::new(64).unwrap();
    let _one = alloc.allocate_raw(layout(1, 1)).unwrap();
    for align in [1, 2, 8, 64, 4096, 1 << 20] {
        let b = alloc.allocate_raw(layout(0, align)).unwrap();
        assert!(b.is_empty());
        assert_eq!(b.addr() % align, 0);
        assert_eq!(b.align(), align);
        assert_eq!(alloc.used(), 1);
        let z = alloc.allocate_zeroed_raw(layout(0, align)).unwrap();
        assert!(z.is_empty());
        // SAFETY: empty blocks may always be given back.
        unsafe {
            alloc.deallocate_raw(b);
            alloc.deallocate_raw(z);
        }
        assert_eq!(alloc.used(), 1);
    }
    // Also when the buffer is full.
    let _rest = alloc.allocate_raw(layout(63, 1)).unwrap();
    assert!(alloc.allocate_raw(layout(0, 8)).unwrap().is_empty());
    assert_eq!(alloc.allocate(()).map(|b| *b), Ok(()));
}

#[test]
fn huge_sizes_are_refused() {
    let alloc = Scoped::new(1024).unwrap();
    let _a = alloc.allocate_raw(layout(8, 8)).unwrap();
    for size in [
        1025,
        usize::MAX / 2,
        isize::MAX as usize,
        isize::MAX as usize - 4095,
    ] {
        for align in [1, 8, 4096] {
            let Ok(l) = Layout::from_size_align(size, align) else {
                continue;
            };
            assert_eq!(
                alloc.allocate_raw(l),
                Err(AllocatorError::TooLarge),
                "{l:?}"
            );
            assert_eq!(alloc.allocate_zeroed_raw(l), Err(AllocatorError::TooLarge));
        }
    }
    assert_eq!(alloc.used(), 8);
    // The array helpers catch overflow before asking the allocator.
    assert!(alloc.allocate_slice_with(usize::MAX, |_| 0u64).is_err());
}

#[test]
fn requests_larger_than_what_is_left_are_out_of_memory() {
    let alloc = Scoped::new(1024).unwrap();
    let _a = alloc.allocate_raw(layout(1000, 8)).unwrap();
    assert_eq!(alloc.remaining(), 24);
    assert_eq!(
        alloc.allocate_raw(layout(25, 1)),
        Err(AllocatorError::OutOfMemory)
    );
    assert_eq!(
        alloc.allocate_raw(layout(32, 8)),
        Err(AllocatorError::OutOfMemory)
    );
    assert_eq!(alloc.used(), 1000);
    let _b = alloc.allocate_raw(layout(24, 1)).unwrap();
    assert_eq!(
        alloc.allocate_raw(layout(1, 1)),
        Err(AllocatorError::OutOfMemory)
    );
    assert_eq!(alloc.remaining(), 0);
}

#[test]
fn alignments_above_a_page_are_refused() {
    let alloc = Scoped::new(64 * 1024).unwrap();
    for align in [MAX_ALIGN * 2, 1 << 20, 1 << (usize::BITS - 2)] {
        let l = layout(8, align);
        assert_eq!(
            alloc.allocate_raw(l),
            Err(AllocatorError::UnsupportedAlignment)
        );
        let b = alloc.allocate_raw(layout(8, 8)).unwrap();
        // SAFETY: `b` is the most recent block.
        let r = unsafe { alloc.reallocate_raw(b, layout(16, align)) };
        assert_eq!(r, Err(AllocatorError::UnsupportedAlignment));
        // SAFETY: `b` is still live and the most recent one.
        unsafe { alloc.deallocate_raw(b) };
    }
    assert_eq!(alloc.used(), 0);
    let page = alloc.allocate_raw(layout(8, MAX_ALIGN)).unwrap();
    assert_eq!(page.addr() % MAX_ALIGN, 0);
}

#[test]
fn buffer_sizes_that_overflow_are_refused() {
    assert_eq!(
        Scoped::new(usize::MAX).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
    assert_eq!(
        Scoped::new(isize::MAX as usize).unwrap_err().kind(),
        AllocatorError::SizeOverflow
    );
    // A size that is a valid layout but more than the heap can give. (Miri reports
    // such an allocation as resource exhaustion instead of failing it.)
    if !cfg!(miri) {
        assert_eq!(
            Scoped::new(isize::MAX as usize - 15).unwrap_err().kind(),
            AllocatorError::OutOfMemory
        );
    }
    let parent = Scoped::new(64).unwrap();
    assert_eq!(
        Scoped::new_in(65, &parent).unwrap_err().kind(),
        AllocatorError::TooLarge
    );
}

#[test]
fn an_empty_scoped_serves_only_zero_sizes() {
    let alloc = Scoped::new(0).unwrap();
    assert_eq!(
        (alloc.capacity(), alloc.used(), alloc.remaining()),
        (0, 0, 0)
    );
    assert_eq!(
        alloc.allocate_raw(layout(1, 1)),
        Err(AllocatorError::TooLarge)
    );
    assert!(alloc.allocate_raw(layout(0, 16)).unwrap().is_empty());
    assert_eq!(alloc.scope(|s| s.capacity()), Ok(0));
    let mut memory: [MaybeUninit<u8>; 0] = [];
    let alloc = Scoped::from_buffer(&mut memory);
    assert_eq!(alloc.capacity(), 0);
    assert_eq!(
        alloc.allocate_raw(layout(1, 1)),
        Err(AllocatorError::TooLarge)
    );
    assert!(alloc.allocate_raw(layout(0, 1)).unwrap().is_empty());
}

#[test]
fn shrinking_never_underflows() {
    let alloc = Scoped::new(256).unwrap();
    let a = alloc.allocate_raw(layout(100, 1)).unwrap();
    let b = alloc.allocate_raw(layout(3, 1)).unwrap();
    for (block, sizes) in [(b, [2usize, 1]), (a, [99, 1])] {
        let mut cur = block;
        for size in sizes {
            // SAFETY: `cur` is live in `alloc`.
            cur = unsafe { alloc.reallocate_raw(cur, layout(size, 1)) }.unwrap();
            assert_eq!(cur.size(), size);
            assert!(alloc.used() <= 103);
        }
    }
}
