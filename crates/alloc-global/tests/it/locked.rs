//! `Locked` through the conformance kit (with each lock, and as a `BlockOwner`), its
//! re-entrancy detection, and exact counts through it.

use crate::pool::{CLASSES, Counters, SizeClassPool};
use alloc_core::testing::Conformance;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use alloc_global::{Locked, StdMutex};
use core::alloc::Layout;
use core::cell::Cell;
use std::alloc::System;

#[test]
fn conformance_of_a_locked_pool() {
    let counters = Counters::new();
    let report = Conformance::new().check(|| Locked::new(SizeClassPool::new_in(System, &counters)));
    assert!(report.allocations > 0 && report.reallocations > 0);
    assert_eq!(counters.live(), 0, "the kit frees every block it allocates");
    assert!(counters.pool_served() > 0 && counters.parent_served() > 0);
}

/// Sequences for the kit where the allocator under test is already checked elsewhere (the
/// same pool with the other lock, `System` itself): fewer under Miri, to keep it quick.
pub(crate) const SECONDARY_TESTS: u64 = if cfg!(miri) { 6 } else { 300 };

#[test]
fn conformance_with_the_std_mutex() {
    let counters = Counters::new();
    Conformance::new()
        .tests(SECONDARY_TESTS)
        .check(|| Locked::with_lock(SizeClassPool::new_in(Heap, &counters), StdMutex::new()));
    assert_eq!(counters.live(), 0);
}

#[test]
fn conformance_of_a_locked_system() {
    Conformance::new()
        .tests(SECONDARY_TESTS)
        .check(|| Locked::new(System));
}

/// A bump allocator over one 64 KiB buffer: a `BlockOwner` (by address range), not `Sync`.
struct Bump {
    buffer: Block,
    used: Cell<usize>,
}

// SAFETY: owns its buffer; nothing tied to a thread.
unsafe impl Send for Bump {}

impl Bump {
    const LAYOUT: Layout = match Layout::from_size_align(64 * 1024, 4096) {
        Ok(l) => l,
        Err(_) => panic!("valid layout"),
    };
    fn new() -> Self {
        Self {
            buffer: Heap.allocate_raw(Self::LAYOUT).unwrap(),
            used: Cell::new(0),
        }
    }
}

impl Drop for Bump {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`.
        unsafe { Heap.deallocate_raw(self.buffer) };
    }
}

// SAFETY: blocks are disjoint (the offset only grows), aligned (the buffer is 4096-aligned
// and larger alignments are refused), inside the buffer, which lives until drop.
unsafe impl Allocator for Bump {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        if layout.align() > Self::LAYOUT.align() {
            return Err(AllocatorError::UnsupportedAlignment);
        }
        let offset = self
            .used
            .get()
            .checked_next_multiple_of(layout.align())
            .ok_or(AllocatorError::SizeOverflow)?;
        if layout.size() > self.buffer.size().saturating_sub(offset) {
            return Err(AllocatorError::OutOfMemory);
        }
        self.used.set(offset + layout.size());
        // SAFETY: `offset + size <= buffer size`, checked above.
        let ptr = unsafe { self.buffer.ptr().add(offset) };
        Ok(Block::from_raw_parts(ptr, layout))
    }
    unsafe fn deallocate_raw(&self, _: Block) {}
}

// SAFETY: claims exactly blocks inside its buffer.
unsafe impl BlockOwner for Bump {
    fn owns_block(&self, block: &Block) -> bool {
        block.is_inside(self.buffer.addr(), self.buffer.size())
    }
}

#[test]
fn conformance_of_a_locked_block_owner() {
    let report = Conformance::new().check_owner(|| Locked::new(Bump::new()));
    assert!(report.allocations > 0);
}

#[test]
fn zero_size_requests_skip_the_inner_allocator() {
    let counters = Counters::new();
    let locked = Locked::new(SizeClassPool::new_in(System, &counters));
    let layout = Layout::from_size_align(0, 64).unwrap();
    let empty = locked.allocate_raw(layout).unwrap();
    assert_eq!(empty, Block::empty(layout));
    assert!(locked.allocate_zeroed_raw(layout).unwrap().is_empty());
    // SAFETY: empty blocks may always be deallocated.
    unsafe { locked.deallocate_raw(empty) };
    assert_eq!(counters.allocs() + counters.frees(), 0);
}

#[test]
fn reallocation_and_zeroing_go_to_the_inner_allocator() {
    let counters = Counters::new();
    let locked = Locked::new(SizeClassPool::new_in(System, &counters));
    let small = locked.allocate_raw(Layout::new::<[u8; 20]>()).unwrap();
    assert_eq!(
        small.size(),
        CLASSES[1],
        "the pool's class size comes through unchanged"
    );
    // SAFETY: allocated above; 20 bytes are valid.
    unsafe { small.as_ptr().write_bytes(0xAB, 20) };
    // Within the class: in place (the pool's own `reallocate_raw`), no new allocation.
    // SAFETY: `small` is currently allocated by `locked`.
    let same = unsafe { locked.reallocate_raw(small, Layout::new::<[u8; 30]>()) }.unwrap();
    assert_eq!((same.addr(), counters.allocs()), (small.addr(), 1));
    // SAFETY: `same` is currently allocated by `locked`.
    let big = unsafe { locked.reallocate_raw(same, Layout::new::<[u8; 1000]>()) }.unwrap();
    // SAFETY: the first 20 bytes were copied.
    let kept = unsafe { core::slice::from_raw_parts(big.as_ptr(), 20) };
    assert!(kept.iter().all(|&b| b == 0xAB));
    // SAFETY: `big` is currently allocated by `locked`.
    unsafe { locked.deallocate_raw(big) };
    // A zeroed request reuses the dirty slot and must still be zero.
    let zeroed = locked
        .allocate_zeroed_raw(Layout::new::<[u8; 32]>())
        .unwrap();
    assert_eq!(zeroed.addr(), small.addr(), "LIFO reuse of the dirty slot");
    // SAFETY: valid for 32 bytes.
    let bytes = unsafe { core::slice::from_raw_parts(zeroed.as_ptr(), 32) };
    assert!(bytes.iter().all(|&b| b == 0));
    // SAFETY: currently allocated.
    unsafe { locked.deallocate_raw(zeroed) };
    assert_eq!(counters.live(), 0);
    let mut locked = locked;
    let (carved, free) = locked.get_mut().slots();
    assert_eq!(carved, free);
}

/// Re-entrant calls: detected in every build with `std` (a clear panic instead of a
/// deadlock).
mod reentrancy {
    use super::*;

    /// An allocator that calls back into the `Locked` that holds it: the re-entrancy bug.
    struct Reentrant;

    static REENTRANT: Locked<Reentrant> = Locked::new(Reentrant);

    // SAFETY: never hands out a block of its own: it forwards to `REENTRANT`, whose inner
    // allocator is itself (the test is about the detection, which panics first).
    unsafe impl Allocator for Reentrant {
        fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
            REENTRANT.allocate_raw(layout)
        }
        unsafe fn deallocate_raw(&self, _: Block) {}
    }

    #[test]
    #[should_panic(expected = "Locked: re-entrant call on the thread that holds the lock")]
    fn reentrant_calls_are_detected_in_every_build() {
        let _ = REENTRANT.allocate_raw(Layout::new::<u64>());
    }

    #[test]
    fn the_lock_is_free_again_after_the_reentrancy_panic() {
        static AGAIN: Locked<Again> = Locked::new(Again);
        struct Again;
        // SAFETY: hands out no block (the re-entrant call panics).
        unsafe impl Allocator for Again {
            fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                AGAIN.allocate_raw(layout)
            }
            unsafe fn deallocate_raw(&self, _: Block) {}
        }
        for _ in 0..2 {
            let result = std::panic::catch_unwind(|| AGAIN.allocate_raw(Layout::new::<u64>()));
            assert!(result.is_err(), "detected each time, never a deadlock");
        }
    }
}
