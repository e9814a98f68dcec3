//! `SyncFreeList` under real threads: every block handed out to at most one thread at a
//! time, contents never disturbed by another thread, every block back at the end.

use alloc_core::{Allocator, Block};
use alloc_freelist::SyncFreeList;
use core::alloc::Layout;
use std::sync::atomic::{AtomicBool, Ordering};

const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
const ROUNDS: usize = if cfg!(miri) { 10 } else { 20_000 };
const BLOCKS: usize = if cfg!(miri) { 8 } else { 64 };
const BLOCK_SIZE: usize = 64;

#[test]
fn threads_hammer_one_list() {
    let list = SyncFreeList::new(BLOCK_SIZE, BLOCKS).unwrap();
    let layout = Layout::from_size_align(BLOCK_SIZE, 8).unwrap();

    // Learn every block's address once, to index a table of "in use" flags.
    let all: Vec<Block> = (0..BLOCKS)
        .map(|_| list.allocate_raw(layout).unwrap())
        .collect();
    let mut addrs: Vec<usize> = all.iter().map(Block::addr).collect();
    addrs.sort_unstable();
    for b in all {
        // SAFETY: allocated above.
        unsafe { list.deallocate_raw(b) };
    }
    let in_use: Vec<AtomicBool> = (0..BLOCKS).map(|_| AtomicBool::new(false)).collect();
    let index = |b: &Block| addrs.binary_search(&b.addr()).expect("a block of the list");

    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (list, in_use, index) = (&list, &in_use, &index);
            s.spawn(move || {
                let mut held: Vec<(Block, u64)> = Vec::new();
                for round in 0..ROUNDS {
                    // Take a few blocks (the list may be exhausted by the others).
                    let want = 1 + round % 5;
                    while held.len() < want {
                        let Ok(b) = list.allocate_raw(layout) else {
                            break;
                        };
                        assert!(
                            !in_use[index(&b)].swap(true, Ordering::Relaxed),
                            "block {b:?} handed out twice"
                        );
                        let tag = ((t as u64) << 32) | round as u64;
                        let words = b.ptr().cast::<u64>();
                        for w in 0..BLOCK_SIZE / 8 {
                            // SAFETY: the block is ours, valid for 64 bytes, 8-aligned.
                            unsafe { words.add(w).write(tag ^ w as u64) };
                        }
                        held.push((b, tag));
                    }
                    // Check and give back some of them.
                    let keep = round % 3;
                    while held.len() > keep {
                        let (b, tag) = held.swap_remove(round % held.len());
                        let words = b.ptr().cast::<u64>();
                        for w in 0..BLOCK_SIZE / 8 {
                            // SAFETY: the block is ours and was fully written above.
                            let got = unsafe { words.add(w).read() };
                            assert_eq!(got, tag ^ w as u64, "another thread wrote into {b:?}");
                        }
                        in_use[index(&b)].store(false, Ordering::Relaxed);
                        // SAFETY: allocated by `list`, not used afterwards.
                        unsafe { list.deallocate_raw(b) };
                    }
                }
                for (b, _) in held {
                    in_use[index(&b)].store(false, Ordering::Relaxed);
                    // SAFETY: allocated by `list`, not used afterwards.
                    unsafe { list.deallocate_raw(b) };
                }
            });
        }
    });

    assert_eq!(list.free_blocks(), BLOCKS);
    // Every block can be allocated again, each exactly once.
    let mut again: Vec<usize> = (0..BLOCKS)
        .map(|_| list.allocate_raw(layout).unwrap().addr())
        .collect();
    assert!(list.allocate_raw(layout).is_err());
    again.sort_unstable();
    assert_eq!(again, addrs);
}

#[test]
fn blocks_freed_by_another_thread() {
    let list = SyncFreeList::new(32, 16).unwrap();
    let blocks: Vec<Block> = (0..16)
        .map(|_| list.allocate_raw(Layout::new::<[u64; 4]>()).unwrap())
        .collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            for b in blocks {
                // SAFETY: allocated by `list` on the main thread, not used afterwards.
                unsafe { list.deallocate_raw(b) };
            }
        });
    });
    assert_eq!(list.free_blocks(), 16);
}

#[test]
fn a_list_sent_to_another_thread() {
    let list = alloc_freelist::FreeList::new(64, 4).unwrap();
    let b = list.allocate_raw(Layout::new::<u64>()).unwrap();
    let list = std::thread::spawn(move || {
        // SAFETY: allocated by `list`, which moved here with its memory.
        unsafe { list.deallocate_raw(b) };
        list
    })
    .join()
    .unwrap();
    assert_eq!(list.free_blocks(), 4);
}
