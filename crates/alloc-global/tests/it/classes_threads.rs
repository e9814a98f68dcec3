//! `SizeClasses` under real threads: random sizes from 8 bytes to 4 KiB, each block filled
//! with a pattern unique to it and checked before it is freed, half of the blocks freed by
//! another thread than the one that allocated them, threads that end while their blocks
//! live on elsewhere, and the instance dropped after its threads end. At the end every
//! chunk and map node is back in the parent.

use crate::classes::Metered;
use alloc_core::{Allocator, Block};
use alloc_global::SizeClasses;
use core::alloc::Layout;
use core::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use test_rng::Rng;

const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
const ROUNDS: usize = if cfg!(miri) { 40 } else { 30_000 };

/// A block and the tag it is filled with.
struct Tagged {
    block: Block,
    tag: u64,
}

/// Fills the block: the tag in the first 8 bytes, its low byte after.
fn fill(t: &Tagged) {
    let p = t.block.ptr();
    // SAFETY: the block is ours, valid for `size() >= 8` bytes, aligned to 8.
    unsafe {
        p.cast::<u64>().write(t.tag);
        p.add(8).write_bytes(t.tag as u8, t.block.size() - 8);
    }
}

/// Panics unless the block still holds its pattern.
fn check(t: &Tagged) {
    let p = t.block.ptr();
    // SAFETY: as in `fill`; the bytes were initialised by `fill`.
    let (head, rest) = unsafe {
        (
            p.cast::<u64>().read(),
            core::slice::from_raw_parts(p.add(8).as_ptr(), t.block.size() - 8),
        )
    };
    assert_eq!(head, t.tag, "block {:?} was overwritten", t.block);
    assert!(
        rest.iter().all(|&b| b == t.tag as u8),
        "block {:?} was overwritten",
        t.block
    );
}

fn random_layout(rng: &mut Rng, max: usize) -> Layout {
    let size = rng.range(8..max + 1);
    Layout::from_size_align(size, 8).unwrap()
}

fn hammer(max_size: usize, max_empty: usize) {
    let metered = Metered::new();
    let classes = SizeClasses::new_in(&metered).with_max_empty_chunks(max_empty);
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Tagged>()).unzip();
    let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
    senders.rotate_left(1);
    // Blocks that outlive the threads that allocated them.
    let survivors: Vec<Tagged> = std::thread::scope(|s| {
        let handles: Vec<_> = senders
            .iter_mut()
            .zip(receivers)
            .enumerate()
            .map(|(t, (sender, receiver))| {
                let sender = sender.take().unwrap();
                let classes = &classes;
                s.spawn(move || {
                    let mut rng = Rng::new(7 + t as u64);
                    let mut mine: Vec<Tagged> = Vec::new();
                    for round in 0..ROUNDS {
                        let layout = random_layout(&mut rng, max_size);
                        let tag = ((t as u64) << 40) | round as u64;
                        let block = classes.allocate_raw(layout).unwrap();
                        let tagged = Tagged { block, tag };
                        fill(&tagged);
                        if rng.below(2) == 0 {
                            if let Err(mpsc::SendError(back)) = sender.send(tagged) {
                                mine.push(back);
                            }
                        } else {
                            mine.push(tagged);
                        }
                        while let Ok(theirs) = receiver.try_recv() {
                            check(&theirs);
                            // SAFETY: allocated by another thread, freed once.
                            unsafe { classes.deallocate_raw(theirs.block) };
                        }
                        if mine.len() > 64 {
                            let k = rng.below(mine.len());
                            let t = mine.swap_remove(k);
                            check(&t);
                            // SAFETY: allocated above, freed once.
                            unsafe { classes.deallocate_raw(t.block) };
                        }
                    }
                    drop(sender);
                    for theirs in receiver {
                        check(&theirs);
                        // SAFETY: as above.
                        unsafe { classes.deallocate_raw(theirs.block) };
                    }
                    // The rest outlives this thread.
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(metered.peak.load(Relaxed) > 0);
    for t in &survivors {
        check(t);
    }
    // Freed through one batch (as a cache flush would), after their threads ended.
    let blocks: Vec<Block> = survivors.iter().map(|t| t.block).collect();
    // SAFETY: every survivor was allocated by `classes` and is freed once.
    unsafe { classes.deallocate_batch(&blocks) };
    let classes_used = SizeClasses::<std::alloc::System>::CLASS_SIZES
        .iter()
        .filter(|&&s| s <= max_size.next_multiple_of(1024))
        .count();
    assert!(
        classes.chunks() <= classes_used * max_empty,
        "{} chunks kept, at most {} empty ones per class allowed",
        classes.chunks(),
        max_empty
    );
    // Dropped after its threads ended: every chunk and map node goes back.
    drop(classes);
    assert_eq!(metered.live.load(Relaxed), 0, "chunks or map nodes leaked");
}

#[test]
fn threads_small_blocks_crossing_threads() {
    hammer(64, 1);
}

#[test]
fn threads_blocks_up_to_4_kib_crossing_threads() {
    hammer(4096, 1);
}

#[test]
fn threads_giving_every_empty_chunk_back() {
    hammer(512, 0);
}
