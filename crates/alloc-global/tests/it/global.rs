//! The `GlobalAllocator` adapter through explicit `GlobalAlloc` calls: lazy initialisation
//! (once, under concurrent first use), failure and re-entrancy of the initialiser, null on
//! failure, zero-size robustness, `realloc`, and the conformance kit on the `GlobalAlloc`
//! methods themselves.

use crate::pool::{Counters, SizeClassPool};
use alloc_core::testing::{Conformance, run_ops};
use alloc_core::{Allocator, AllocatorError, Block, FromGlobalAlloc, InitError};
use alloc_global::{GlobalAllocator, Locked};
use core::alloc::{GlobalAlloc, Layout};
use std::alloc::System;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

type Pool = SizeClassPool<'static, System>;

#[test]
fn conformance_through_global_alloc_calls() {
    let counters = Counters::new();
    Conformance::new().check_with(|ops| {
        let global = GlobalAllocator::new(Locked::new(SizeClassPool::new_in(System, &counters)));
        run_ops(&FromGlobalAlloc(&global), ops)
    });
    assert_eq!(counters.live(), 0);
    assert!(counters.pool_served() > 0);
}

#[test]
fn conformance_of_the_allocator_impl_of_a_lazy_adapter() {
    Conformance::new()
        .tests(crate::locked::SECONDARY_TESTS)
        .check(|| GlobalAllocator::lazy(|| Ok(Locked::new(System))));
}

static INIT_CALLS: AtomicUsize = AtomicUsize::new(0);
static INIT_COUNTERS: Counters = Counters::new();
static RACED: GlobalAllocator<Locked<Pool>> = GlobalAllocator::lazy(|| {
    INIT_CALLS.fetch_add(1, Relaxed);
    // Give the other threads time to arrive while initialisation is under way.
    std::thread::yield_now();
    Ok(Locked::new(SizeClassPool::with_chunks(
        System,
        &INIT_COUNTERS,
    )?))
});

#[test]
fn concurrent_first_use_initialises_once() {
    const THREADS: usize = 4;
    assert!(RACED.get().is_none());
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                let layout = Layout::from_size_align(24 + t, 8).unwrap();
                // SAFETY: non-zero size.
                let p = unsafe { RACED.alloc(layout) };
                assert!(
                    !p.is_null(),
                    "no request fails because it came during initialisation"
                );
                // SAFETY: allocated just above with `layout`.
                unsafe { RACED.dealloc(p, layout) };
            });
        }
    });
    assert_eq!(INIT_CALLS.load(Relaxed), 1);
    assert!(RACED.get().is_some());
    assert_eq!(
        INIT_COUNTERS.chunks(),
        5,
        "one chunk per class, taken by the initialiser"
    );
    assert_eq!(INIT_COUNTERS.live(), 0);
}

#[test]
fn failed_initialisation_is_final_and_returns_null() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    static FAILING: GlobalAllocator<Locked<System>> = GlobalAllocator::lazy(|| {
        CALLS.fetch_add(1, Relaxed);
        Err(InitError::other("no memory at start-up"))
    });
    let layout = Layout::new::<u64>();
    for _ in 0..3 {
        // SAFETY: non-zero size.
        assert!(unsafe { FAILING.alloc(layout) }.is_null());
        // SAFETY: non-zero size.
        assert!(unsafe { FAILING.alloc_zeroed(layout) }.is_null());
    }
    assert_eq!(
        FAILING.get_or_init().err(),
        Some(InitError::other("no memory at start-up"))
    );
    assert_eq!(
        FAILING.allocate_raw(layout).err(),
        Some(AllocatorError::Other)
    );
    assert_eq!(CALLS.load(Relaxed), 1);
    assert!(format!("{FAILING:?}").contains("failed"));
}

#[test]
fn an_initialiser_that_allocates_from_itself_fails_instead_of_hanging() {
    static SEEN: AtomicUsize = AtomicUsize::new(usize::MAX);
    static SELFISH: GlobalAllocator<Locked<System>> = GlobalAllocator::lazy(|| {
        // The bug: allocating from the global allocator being built.
        // SAFETY: non-zero size.
        let p = unsafe { SELFISH.alloc(Layout::new::<u64>()) };
        SEEN.store(p.addr(), Relaxed);
        let e = SELFISH
            .get_or_init()
            .err()
            .unwrap_or(AllocatorError::OutOfMemory.into());
        Err(e)
    });
    let e = SELFISH.get_or_init().unwrap_err();
    assert_eq!(SEEN.load(Relaxed), 0, "the inner request got null");
    assert!(
        e.to_string().contains("allocate from System instead"),
        "{e}"
    );
}

#[test]
fn a_panicking_initialiser_marks_the_allocator_failed() {
    static PANICKY: GlobalAllocator<Locked<System>> =
        GlobalAllocator::lazy(|| panic!("initialiser bug"));
    let result = std::panic::catch_unwind(|| PANICKY.get_or_init().map(|_| ()));
    assert!(result.is_err(), "outside GlobalAlloc, the panic propagates");
    let e = PANICKY.get_or_init().unwrap_err();
    assert!(e.to_string().contains("initialiser panicked"), "{e}");
    // SAFETY: non-zero size.
    assert!(unsafe { PANICKY.alloc(Layout::new::<u8>()) }.is_null());
}

#[test]
fn inner_failures_are_null() {
    /// Refuses everything.
    struct Refusing;
    // SAFETY: hands out no block but empty ones.
    unsafe impl Allocator for Refusing {
        fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
            if layout.size() == 0 {
                Ok(Block::empty(layout))
            } else {
                Err(AllocatorError::OutOfMemory)
            }
        }
        unsafe fn deallocate_raw(&self, _: Block) {}
    }
    let global = GlobalAllocator::new(Refusing);
    let layout = Layout::new::<[u8; 100]>();
    // SAFETY: non-zero sizes.
    unsafe {
        assert!(global.alloc(layout).is_null());
        assert!(global.alloc_zeroed(layout).is_null());
    }
    // A `realloc` that fails leaves the block alone: checked with a real pool whose parent
    // serves nothing larger than a chunk.
    struct Capped;
    // SAFETY: forwards to `System` what it does not refuse.
    unsafe impl Allocator for Capped {
        fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
            if layout.size() > crate::pool::CHUNK {
                Err(AllocatorError::TooLarge)
            } else {
                System.allocate_raw(layout)
            }
        }
        unsafe fn deallocate_raw(&self, block: Block) {
            // SAFETY: the blocks are `System`'s.
            unsafe { System.deallocate_raw(block) }
        }
    }
    let counters = Counters::new();
    let global = GlobalAllocator::new(Locked::new(SizeClassPool::new_in(Capped, &counters)));
    // SAFETY: non-zero size.
    let p = unsafe { global.alloc(layout) };
    assert!(!p.is_null());
    // SAFETY: `p` is ours with `layout`.
    unsafe { p.write_bytes(7, 100) };
    // SAFETY: `p` is ours with `layout`; the new size is valid.
    let q = unsafe { global.realloc(p, layout, 1 << 20) };
    assert!(q.is_null());
    // SAFETY: the failed `realloc` left `p` allocated, with its contents.
    unsafe {
        assert!(core::slice::from_raw_parts(p, 100).iter().all(|&b| b == 7));
        global.dealloc(p, layout);
    }
    assert_eq!(counters.live(), 0);
}

#[test]
fn zero_sizes_and_bad_pointers_are_handled_without_panicking() {
    let counters = Counters::new();
    let global = GlobalAllocator::new(Locked::new(SizeClassPool::new_in(System, &counters)));
    let zero = Layout::from_size_align(0, 64).unwrap();
    // Outside `GlobalAlloc`'s contract, but sound: an aligned dangling pointer, no memory.
    // SAFETY: checking robustness; the result is never dereferenced.
    unsafe {
        let p = global.alloc(zero);
        assert!(!p.is_null() && p.addr() % 64 == 0);
        global.dealloc(p, zero);
        global.dealloc(core::ptr::null_mut(), Layout::new::<u64>());
        assert!(
            global
                .realloc(core::ptr::null_mut(), Layout::new::<u64>(), 16)
                .is_null()
        );
        // A block shrunk to zero is freed and comes back as a dangling pointer.
        let b = global.alloc(Layout::new::<[u8; 40]>());
        let z = global.realloc(b, Layout::new::<[u8; 40]>(), 0);
        assert!(!z.is_null());
    }
    assert_eq!(counters.allocs() - counters.frees(), 0);
    // Before initialisation, `dealloc` has nothing to free and ignores the pointer.
    let lazy: GlobalAllocator<Locked<System>> = GlobalAllocator::lazy(|| Ok(Locked::new(System)));
    let mut x = 0u64;
    // SAFETY: checking robustness: nothing is freed before initialisation.
    unsafe { lazy.dealloc((&raw mut x).cast(), Layout::new::<u64>()) };
    assert!(lazy.get().is_none());
}

#[test]
fn realloc_keeps_contents_and_alloc_zeroed_zeroes() {
    let counters = Counters::new();
    let global = GlobalAllocator::new(Locked::new(SizeClassPool::new_in(System, &counters)));
    let small = Layout::from_size_align(48, 16).unwrap();
    // SAFETY: non-zero sizes; every pointer is used within its layout and freed once.
    unsafe {
        let p = global.alloc(small);
        p.write_bytes(0x5A, 48);
        let q = global.realloc(p, small, 600);
        assert!(
            core::slice::from_raw_parts(q, 48)
                .iter()
                .all(|&b| b == 0x5A)
        );
        assert_eq!(q.addr() % 16, 0);
        let r = global.realloc(q, Layout::from_size_align(600, 16).unwrap(), 20);
        assert!(
            core::slice::from_raw_parts(r, 20)
                .iter()
                .all(|&b| b == 0x5A)
        );
        global.dealloc(r, Layout::from_size_align(20, 16).unwrap());
        // The dirty 64-byte slot `p` was is reused and must come back zeroed.
        let z = global.alloc_zeroed(small);
        assert!(core::slice::from_raw_parts(z, 48).iter().all(|&b| b == 0));
        global.dealloc(z, small);
    }
    assert_eq!(counters.live(), 0);
}
