//! `Bitmapped`: the conformance kit (plain, owner, re-entrant over a hostile parent),
//! runs of blocks, growth in place, `deallocate_all`, and the panics on bad blocks.

use alloc_compose::{AllocatorExt, Bitmapped, Counters};
use alloc_core::testing::Conformance;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::kit;

#[test]
fn it_passes_the_kit_as_an_owner() {
    let r = kit(2_000).check_owner(|| Bitmapped::new(16, 2048).unwrap());
    assert!(
        r.allocations > 0 && r.reallocations > 0 && r.failures > 0,
        "{r:?}"
    );
    // Small regions: exhaustion and fragmentation on every sequence.
    let r = kit(2_000).check_owner(|| Bitmapped::new(64, 70).unwrap());
    assert!(r.failures > 0, "{r:?}");
    let r = kit(500).check_owner(|| Bitmapped::new(1, 5000).unwrap());
    assert!(r.allocations > 0, "{r:?}");
}

#[test]
fn a_parent_that_reenters() {
    let n = if cfg!(miri) { 8 } else { 10_000 };
    let r = Conformance::new()
        .tests(n)
        .check_owner_reentrant(|reentry| Bitmapped::new_in(32, 512, reentry.wrap(Heap)).unwrap());
    assert!(r.allocations > 0, "{r:?}");
    // The allocator itself, re-entered from the inside of a composite over it.
    let r = Conformance::new().tests(n).check_reentrant(|reentry| {
        reentry
            .wrap(Bitmapped::new(32, 512).unwrap())
            .with_fallback(Heap)
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn runs_grow_in_place_into_free_neighbours_and_shrink_in_place() {
    let alloc = Bitmapped::new(64, 64).unwrap();
    let a = alloc.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    assert_eq!(a.size(), 128);
    // SAFETY: `a` is currently allocated by `alloc` (and each result after it).
    unsafe {
        a.as_ptr().write_bytes(9, 128);
        let grown = alloc.reallocate_raw(a, Layout::new::<[u8; 600]>()).unwrap();
        assert_eq!((grown.ptr(), grown.size()), (a.ptr(), 640));
        let b = alloc.allocate_raw(Layout::new::<u8>()).unwrap();
        assert_eq!(b.addr(), a.addr() + 640, "first fit right after the run");
        // Blocked by `b`: moves, contents and all.
        let moved = alloc
            .reallocate_raw(grown, Layout::new::<[u8; 700]>())
            .unwrap();
        assert!(moved.addr() > b.addr());
        assert_eq!(moved.as_ptr().add(127).read(), 9);
        let shrunk = alloc
            .reallocate_raw(moved, Layout::new::<[u8; 65]>())
            .unwrap();
        assert_eq!((shrunk.ptr(), shrunk.size()), (moved.ptr(), 128));
        assert_eq!(alloc.free_blocks(), 64 - 3);
        alloc.deallocate_raw(shrunk);
        alloc.deallocate_raw(b);
    }
    assert_eq!(alloc.free_blocks(), 64);
}

#[test]
fn deallocate_all_frees_everything() {
    let mut alloc = Bitmapped::new(16, 1000).unwrap();
    for _ in 0..3 {
        let mut n = 0;
        while alloc.allocate_raw(Layout::new::<[u8; 24]>()).is_ok() {
            n += 1;
        }
        assert_eq!(n, 500);
        assert_eq!(alloc.free_blocks(), 0);
        alloc.deallocate_all();
        assert_eq!(alloc.free_blocks(), 1000);
    }
}

#[test]
fn bad_requests_are_errors() {
    let alloc = Bitmapped::new(64, 8).unwrap();
    let over = Layout::from_size_align(64, 128).unwrap();
    assert_eq!(
        alloc.allocate_raw(over),
        Err(AllocatorError::UnsupportedAlignment)
    );
    let big = Layout::from_size_align(isize::MAX as usize, 1).unwrap();
    assert_eq!(alloc.allocate_raw(big), Err(AllocatorError::TooLarge));
    let b = alloc.allocate_raw(Layout::new::<[u8; 64 * 5]>()).unwrap();
    let rest = Layout::new::<[u8; 64 * 4]>();
    assert_eq!(alloc.allocate_raw(rest), Err(AllocatorError::OutOfMemory));
    // SAFETY: `b` is currently allocated by `alloc`; it stays so on errors.
    unsafe {
        assert_eq!(alloc.reallocate_raw(b, big), Err(AllocatorError::TooLarge));
        assert_eq!(
            alloc.reallocate_raw(b, over),
            Err(AllocatorError::UnsupportedAlignment)
        );
        alloc.deallocate_raw(b);
    }
    assert!(matches!(
        Bitmapped::new(64, 0),
        Err(e) if e.kind() == AllocatorError::InvalidArgument
    ));
}

#[test]
#[should_panic(expected = "Bitmapped::deallocate_raw")]
fn a_double_free_panics() {
    let alloc = Bitmapped::new(64, 8).unwrap();
    let b = alloc.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: the first free is correct; the second is the bad input under test, which
    // the bitmaps refute before anything is touched.
    unsafe {
        alloc.deallocate_raw(b);
        alloc.deallocate_raw(b);
    }
}

#[test]
#[should_panic(expected = "a block that is not allocated with this size")]
fn a_double_free_of_a_run_reused_by_smaller_blocks_panics() {
    let alloc = Bitmapped::new(64, 8).unwrap();
    let run = alloc.allocate_raw(Layout::new::<[u8; 192]>()).unwrap();
    // SAFETY: `run` is currently allocated; freed once correctly.
    unsafe { alloc.deallocate_raw(run) };
    let _a = alloc.allocate_raw(Layout::new::<[u8; 64]>()).unwrap();
    let _b = alloc.allocate_raw(Layout::new::<[u8; 128]>()).unwrap();
    // SAFETY: none: the bad input under test (every bit of the run is set again, by two
    // other allocations); the start bitmap refutes it.
    unsafe { alloc.deallocate_raw(run) };
}

#[test]
#[should_panic(expected = "does not own")]
fn a_foreign_block_panics() {
    let alloc = Bitmapped::new(64, 8).unwrap();
    // A block of the stack (nothing to leak when the test panics).
    let mut word = 0u64;
    let foreign = Block::from_raw_parts(
        core::ptr::NonNull::from(&mut word).cast(),
        Layout::new::<u64>(),
    );
    assert!(!alloc.owns_block(&foreign));
    // SAFETY: none: the bad input under test, refuted before anything is touched.
    unsafe { alloc.deallocate_raw(foreign) };
}

#[test]
fn ownership_is_by_range_and_boundary() {
    let alloc = Bitmapped::new(32, 16).unwrap();
    let b = alloc.allocate_raw(Layout::new::<[u8; 40]>()).unwrap();
    assert!(alloc.owns_block(&b));
    let inside = Block::from_raw_parts(
        // SAFETY: 8 bytes into a live 64-byte block.
        unsafe { b.ptr().add(8) },
        Layout::new::<u64>(),
    );
    assert!(!alloc.owns_block(&inside));
    // SAFETY: `b` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(b) };
}

#[cfg(feature = "allocator-api2-02")]
#[test]
fn under_a_vec_through_a_counted_parent() {
    let parent = Heap.proxy(Counters::new());
    {
        let alloc = Bitmapped::new_in(64, 256, &parent).unwrap();
        let mut v = allocator_api2_02::vec::Vec::new_in(&alloc);
        v.extend(0..1000u64);
        assert_eq!(v.iter().sum::<u64>(), 499_500);
        assert_eq!(parent.logger().counts().allocations, 1);
    }
    assert_eq!(parent.logger().counts().bytes_live, 0);
}
