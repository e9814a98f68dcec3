//! `SharedFreeList`: the conformance kit (normal and re-entrancy modes), real threads
//! (blocks crossing threads, checked patterns, exact counts at the end), and bad input
//! (foreign blocks, double frees), after which the list stays usable.

use alloc_core::testing::{Conformance, Reentry, panic_message};
use alloc_core::{Allocator, Block, BlockOwner, Heap};
use alloc_global::SharedFreeList;
use core::alloc::Layout;
use std::alloc::System;
use std::sync::mpsc;

const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
const ROUNDS: usize = if cfg!(miri) { 30 } else { 50_000 };

#[test]
fn conformance() {
    let report = Conformance::new().check_owner(|| SharedFreeList::new_in(64, 16, System).unwrap());
    assert!(report.allocations > 0 && report.failures > 0);
}

#[test]
fn conformance_with_an_odd_block_size_and_a_large_alignment() {
    let layout = Layout::from_size_align(40, 64).unwrap();
    Conformance::new()
        .tests(if cfg!(miri) { 10 } else { 2_000 })
        .check_owner(|| SharedFreeList::with_layout_in(layout, 8, Heap).unwrap());
}

/// The parent is the only user code a `SharedFreeList` calls (at construction and drop);
/// hostile code runs inside those calls.
#[test]
fn conformance_reentrant() {
    let report = Conformance::new().check_owner_reentrant(|r: &Reentry| {
        SharedFreeList::new_in(64, 16, r.wrap(System)).unwrap()
    });
    assert!(report.allocations > 0);
}

/// Fills a block with `tag`.
fn fill(block: &Block, tag: u64) {
    // SAFETY: the block is ours, 64 bytes, aligned to 16.
    unsafe { block.ptr().cast::<[u64; 8]>().write([tag; 8]) };
}

/// Panics unless the block still holds `tag` everywhere.
fn check(block: &Block, tag: u64) {
    // SAFETY: as in `fill`, initialised by it.
    let words = unsafe { block.ptr().cast::<[u64; 8]>().read() };
    assert_eq!(words, [tag; 8], "block {block:?} was overwritten");
}

/// Each thread allocates, fills, and hands half of its blocks to the next thread, which
/// checks and frees them; the other half it checks and frees itself. At the end every
/// block is free again, and the list serves its whole capacity.
#[test]
fn threads_share_blocks_across_threads() {
    const CAPACITY: usize = 256;
    let mut list = SharedFreeList::new_in(64, CAPACITY, System).unwrap();
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS)
        .map(|_| mpsc::channel::<(Block, u64)>())
        .unzip();
    let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
    senders.rotate_left(1);
    std::thread::scope(|s| {
        for (t, (sender, receiver)) in senders.iter_mut().zip(receivers).enumerate() {
            let sender = sender.take().unwrap();
            let list = &list;
            s.spawn(move || {
                let mut mine = Vec::new();
                for round in 0..ROUNDS {
                    let tag = ((t as u64) << 32) | round as u64;
                    if let Ok(block) = list.allocate_raw(Layout::new::<[u64; 8]>()) {
                        fill(&block, tag);
                        if round % 2 == 0 {
                            // The receiver may have ended; then free it here.
                            if let Err(mpsc::SendError((block, tag))) = sender.send((block, tag)) {
                                mine.push((block, tag));
                            }
                        } else {
                            mine.push((block, tag));
                        }
                    }
                    while let Ok((block, tag)) = receiver.try_recv() {
                        check(&block, tag);
                        // SAFETY: allocated by the list on another thread, freed once.
                        unsafe { list.deallocate_raw(block) };
                    }
                    if mine.len() > 8 || round + 1 == ROUNDS {
                        for (block, tag) in mine.drain(..) {
                            check(&block, tag);
                            // SAFETY: allocated above, freed once.
                            unsafe { list.deallocate_raw(block) };
                        }
                    }
                }
                drop(sender);
                // Blocks still in flight towards this thread.
                for (block, tag) in receiver {
                    check(&block, tag);
                    // SAFETY: as above.
                    unsafe { list.deallocate_raw(block) };
                }
            });
        }
    });
    assert_eq!(
        list.free_blocks(),
        CAPACITY,
        "a block was lost or duplicated"
    );
    let all: Vec<Block> = (0..CAPACITY)
        .map(|_| list.allocate_raw(Layout::new::<u64>()).unwrap())
        .collect();
    let mut addresses: Vec<usize> = all.iter().map(Block::addr).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), CAPACITY, "a block was handed out twice");
    for b in all {
        // SAFETY: allocated above, freed once.
        unsafe { list.deallocate_raw(b) };
    }
}

/// Threads that end while their blocks live on: the blocks are freed by the main thread
/// after the threads are gone, then the list is dropped.
#[test]
fn blocks_outlive_their_threads() {
    let list = SharedFreeList::new_in(64, 64, System).unwrap();
    let blocks: Vec<(Block, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                let list = &list;
                s.spawn(move || {
                    (0..8)
                        .map(|i| {
                            let b = list.allocate_raw(Layout::new::<[u64; 8]>()).unwrap();
                            fill(&b, t * 100 + i);
                            (b, t * 100 + i)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (block, tag) in blocks {
        check(&block, tag);
        assert!(list.owns_block(&block));
        // SAFETY: allocated by the (ended) threads, freed once.
        unsafe { list.deallocate_raw(block) };
    }
    let mut list = list;
    assert_eq!(list.free_blocks(), 64);
}

#[test]
fn a_foreign_block_panics_and_the_list_stays_usable() {
    let mut list = SharedFreeList::new_in(64, 4, System).unwrap();
    let other = SharedFreeList::new_in(64, 4, System).unwrap();
    let theirs = other.allocate_raw(Layout::new::<u64>()).unwrap();
    let mine = list.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: deliberately wrong; the list detects it before touching anything.
    let msg = panic_message(|| unsafe { list.deallocate_raw(theirs) });
    assert!(msg.contains("does not own"), "{msg}");
    // Inside the region, off a block boundary.
    let inside = Block::from_raw_parts(
        // SAFETY: one byte into a 64-byte block.
        unsafe { mine.ptr().add(1) },
        Layout::new::<u8>(),
    );
    // SAFETY: deliberately wrong, detected.
    let msg = panic_message(|| unsafe { list.deallocate_raw(inside) });
    assert!(msg.contains("does not own"), "{msg}");
    assert!(!list.owns_block(&theirs) && !list.owns_block(&inside));
    assert_eq!(list.free_blocks(), 3);
    // SAFETY: allocated above, freed once.
    unsafe { list.deallocate_raw(mine) };
    // SAFETY: allocated by `other`, freed once.
    unsafe { other.deallocate_raw(theirs) };
    assert_eq!(list.free_blocks(), 4);
}

#[test]
fn a_double_free_panics_and_the_list_stays_usable() {
    let mut list = SharedFreeList::new_in(16, 4, System).unwrap();
    let a = list.allocate_raw(Layout::new::<u64>()).unwrap();
    let b = list.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: allocated above, freed once here.
    unsafe { list.deallocate_raw(a) };
    // SAFETY: deliberately a double free; detected before anything changes.
    let msg = panic_message(|| unsafe { list.deallocate_raw(a) });
    assert!(msg.contains("double free"), "{msg}");
    // SAFETY: deliberately reallocating a freed block; detected.
    let msg = panic_message(|| unsafe {
        let _ = list.reallocate_raw(a, Layout::new::<u32>());
    });
    assert!(msg.contains("double free"), "{msg}");
    assert_eq!(list.free_blocks(), 3);
    // SAFETY: allocated above, freed once.
    unsafe { list.deallocate_raw(b) };
    let all: Vec<Block> = (0..4)
        .map(|_| list.allocate_raw(Layout::new::<u64>()).unwrap())
        .collect();
    for x in all {
        // SAFETY: allocated above, freed once.
        unsafe { list.deallocate_raw(x) };
    }
    assert_eq!(list.free_blocks(), 4);
}

#[test]
fn constructor_arguments_are_checked() {
    assert!(SharedFreeList::new_in(0, 4, System).is_err());
    assert!(SharedFreeList::new_in(8, 0, System).is_err());
    assert!(SharedFreeList::new_in(usize::MAX / 2, 4, System).is_err());
    assert!(SharedFreeList::new_in(8, 1 << 33, System).is_err());
}

static_assertions::assert_impl_all!(SharedFreeList<System>: Send, Sync);
