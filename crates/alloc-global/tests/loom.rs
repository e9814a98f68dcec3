//! The loom models of `SharedFreeList`: every interleaving (within loom's bounds) of a few
//! threads pushing and popping, checked for blocks handed out twice, lost blocks and
//! data races on the blocks' memory.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p alloc-global --release --test loom`
//! (without `--cfg loom` this binary is empty). The models are small (two or three threads,
//! two or three blocks) so that the whole file runs in about a minute on two cores.
#![cfg(loom)]
// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use alloc_core::Allocator;
use alloc_global::SharedFreeList;
use core::alloc::Layout;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use std::alloc::System;

const WORD: Layout = Layout::new::<u64>();

/// Per-block "user memory" that loom watches: writing it from two threads without
/// happens-before is reported as a race, so a block handed to two threads at once, or
/// handed out again before its previous user's writes are published, fails the model.
struct Shadow {
    cells: Vec<UnsafeCell<u64>>,
}

impl Shadow {
    fn new(blocks: usize) -> Self {
        Self {
            cells: (0..blocks).map(|_| UnsafeCell::new(0)).collect(),
        }
    }
}

/// A list of `blocks` 8-byte blocks, and the address of its first block.
fn list(blocks: usize) -> (SharedFreeList<System>, usize) {
    let list = SharedFreeList::new_in(8, blocks, System).unwrap();
    // Block 0 is on top of a fresh list: its address is the base.
    let first = list.allocate_raw(WORD).unwrap();
    let base = first.addr();
    // SAFETY: allocated just above.
    unsafe { list.deallocate_raw(first) };
    (list, base)
}

#[test]
fn two_threads_pop_and_push_the_same_blocks() {
    loom::model(|| {
        let (list, base) = list(2);
        let list = Arc::new(list);
        let shadow = Arc::new(Shadow::new(2));
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                let list = Arc::clone(&list);
                let shadow = Arc::clone(&shadow);
                thread::spawn(move || {
                    let block = list.allocate_raw(WORD).unwrap();
                    let index = (block.addr() - base) / 8;
                    shadow.cells[index].with_mut(|cell| {
                        // SAFETY: loom reports any concurrent access to the cell.
                        unsafe { *cell = t };
                    });
                    // SAFETY: allocated above, freed once.
                    unsafe { list.deallocate_raw(block) };
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let mut list = Arc::try_unwrap(list).ok().unwrap();
        assert_eq!(list.free_blocks(), 2, "a block was lost or duplicated");
    });
}

/// The ABA scenario: one thread pops while another pops two blocks and pushes the first
/// one back (the head returns to the same index with a different link).
#[test]
fn aba_pop_pop_push_against_a_pop() {
    loom::model(|| {
        let (list, base) = list(3);
        let list = Arc::new(list);
        let shadow = Arc::new(Shadow::new(3));
        let other = {
            let list = Arc::clone(&list);
            let shadow = Arc::clone(&shadow);
            thread::spawn(move || {
                let a = list.allocate_raw(WORD).unwrap();
                let b = list.allocate_raw(WORD).unwrap();
                for (block, v) in [(&a, 1), (&b, 2)] {
                    let i = (block.addr() - base) / 8;
                    // SAFETY: loom reports any concurrent access to the cell.
                    shadow.cells[i].with_mut(|c| unsafe { *c = v });
                }
                // SAFETY: allocated above, freed once.
                unsafe { list.deallocate_raw(a) };
                b
            })
        };
        let mine = list.allocate_raw(WORD);
        let mine = mine.ok();
        if let Some(block) = &mine {
            let i = (block.addr() - base) / 8;
            // SAFETY: loom reports any concurrent access to the cell.
            shadow.cells[i].with_mut(|c| unsafe { *c = 9 });
        }
        let b = other.join().unwrap();
        // SAFETY: allocated by the other thread, which has ended; freed once.
        unsafe { list.deallocate_raw(b) };
        if let Some(block) = mine {
            // SAFETY: allocated above, freed once.
            unsafe { list.deallocate_raw(block) };
        }
        let mut list = Arc::try_unwrap(list).ok().unwrap();
        assert_eq!(list.free_blocks(), 3, "a block was lost or duplicated");
    });
}

/// A block allocated on one thread and freed on another, while a third allocates: the
/// freeing thread's writes must happen-before the next user's.
#[test]
fn a_block_crosses_threads() {
    loom::model(|| {
        let (list, base) = list(1);
        let list = Arc::new(list);
        let shadow = Arc::new(Shadow::new(1));
        let block = list.allocate_raw(WORD).unwrap();
        // SAFETY: loom reports any concurrent access to the cell.
        shadow.cells[0].with_mut(|c| unsafe { *c = 1 });
        let freer = {
            let list = Arc::clone(&list);
            let shadow = Arc::clone(&shadow);
            thread::spawn(move || {
                // SAFETY: loom reports any concurrent access to the cell.
                shadow.cells[0].with_mut(|c| unsafe { *c = 2 });
                // SAFETY: allocated by the main thread and handed over; freed once.
                unsafe { list.deallocate_raw(block) };
            })
        };
        let taker = {
            let list = Arc::clone(&list);
            let shadow = Arc::clone(&shadow);
            thread::spawn(move || {
                if let Ok(block) = list.allocate_raw(WORD) {
                    assert_eq!((block.addr() - base) / 8, 0);
                    // SAFETY: loom reports any concurrent access to the cell.
                    shadow.cells[0].with_mut(|c| unsafe { *c = 3 });
                    // SAFETY: allocated above, freed once.
                    unsafe { list.deallocate_raw(block) };
                }
            })
        };
        freer.join().unwrap();
        taker.join().unwrap();
        let mut list = Arc::try_unwrap(list).ok().unwrap();
        assert_eq!(list.free_blocks(), 1);
    });
}
