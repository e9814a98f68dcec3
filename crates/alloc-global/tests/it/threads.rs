//! Real threads hammering one `Locked` single-threaded pool: blocks of mixed sizes (from
//! the size classes and from the parent), filled with a pattern unique to each block and
//! checked before they are freed, some freed by another thread than the one that allocated
//! them; at the end every block is back.

use crate::pool::{Counters, SizeClassPool};
use alloc_core::{Allocator, Block};
use alloc_global::{Locked, RawLock, SpinLock, StdMutex};
use core::alloc::Layout;
use std::alloc::System;
use std::sync::mpsc;
use test_rng::Rng;

const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
const ROUNDS: usize = if cfg!(miri) { 20 } else { 20_000 };

/// A block and the tag it is filled with.
struct Tagged {
    block: Block,
    requested: usize,
    tag: u64,
}

/// Fills the first `requested` bytes: the tag in the first 8, its low byte after.
fn fill(t: &Tagged) {
    let p = t.block.ptr();
    // SAFETY: the block is ours, valid for `requested >= 8` bytes, aligned to 8.
    unsafe {
        p.cast::<u64>().write(t.tag);
        p.add(8).write_bytes(t.tag as u8, t.requested - 8);
    }
}

/// Panics unless the block still holds its pattern: another block overlapping it, or the
/// allocator writing into a live block, would change it.
fn check(t: &Tagged) {
    let p = t.block.ptr();
    // SAFETY: as in `fill`; the bytes were initialised by `fill`.
    let (head, rest) = unsafe {
        (
            p.cast::<u64>().read(),
            core::slice::from_raw_parts(p.add(8).as_ptr(), t.requested - 8),
        )
    };
    assert_eq!(head, t.tag, "block {:?} was overwritten", t.block);
    assert!(
        rest.iter().all(|&b| b == t.tag as u8),
        "block {:?} was overwritten",
        t.block
    );
}

fn hammer<L: RawLock + Sync>(lock: impl Fn() -> L) {
    let counters = Counters::new();
    let shared = Locked::with_lock(SizeClassPool::new_in(System, &counters), lock());
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Tagged>()).unzip();
    let mut senders: Vec<Option<mpsc::Sender<Tagged>>> = senders.into_iter().map(Some).collect();
    // Thread `t` hands blocks to thread `t + 1`, which frees them.
    senders.rotate_left(1);

    std::thread::scope(|s| {
        for (t, (to_next, from_prev)) in senders.iter_mut().zip(receivers).enumerate() {
            let to_next = to_next.take().unwrap();
            let shared = &shared;
            s.spawn(move || {
                let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                let mut live: Vec<Tagged> = Vec::new();
                for round in 0..ROUNDS {
                    // Allocate: mostly small (pool), sometimes large (parent).
                    let r = rng.next_u64();
                    let requested = if r % 8 == 0 {
                        257 + (r >> 8) as usize % 1500
                    } else {
                        8 + (r >> 8) as usize % 249
                    };
                    let align = [8, 8, 16, 64][(r >> 40) as usize % 4];
                    let layout = Layout::from_size_align(requested, align).unwrap();
                    let block = shared
                        .allocate_raw(layout)
                        .expect("the pool grows on demand");
                    assert_eq!(block.addr() % align, 0);
                    let tagged = Tagged {
                        block,
                        requested,
                        tag: ((t as u64) << 48) | round as u64,
                    };
                    fill(&tagged);
                    live.push(tagged);
                    // Free (or hand over) a random live block about as often.
                    if live.len() > 32 || rng.below(2) == 0 {
                        let victim = live.swap_remove(rng.below(live.len()));
                        check(&victim);
                        if round % 4 == 0 {
                            to_next.send(victim).unwrap();
                        } else {
                            // SAFETY: allocated above by `shared`, freed once.
                            unsafe { shared.deallocate_raw(victim.block) };
                        }
                    }
                    // Free what the previous thread handed over.
                    while let Ok(theirs) = from_prev.try_recv() {
                        check(&theirs);
                        // SAFETY: allocated by `shared` on another thread, freed once.
                        unsafe { shared.deallocate_raw(theirs.block) };
                    }
                }
                for mine in live.drain(..) {
                    check(&mine);
                    // SAFETY: allocated above by `shared`, freed once.
                    unsafe { shared.deallocate_raw(mine.block) };
                }
                drop(to_next);
                for theirs in from_prev {
                    check(&theirs);
                    // SAFETY: as above.
                    unsafe { shared.deallocate_raw(theirs.block) };
                }
            });
        }
    });

    assert!(counters.allocs() >= THREADS * ROUNDS);
    assert!(counters.pool_served() > 0 && counters.parent_served() > 0);
    assert_eq!(counters.live(), 0, "every block came back");
    let mut shared = shared;
    let (carved, free) = shared.get_mut().slots();
    assert_eq!(carved, free, "every slot is back on a free list");
}

#[test]
fn threads_hammer_a_spin_locked_pool() {
    hammer(SpinLock::new);
}

#[test]
fn threads_hammer_a_mutex_locked_pool() {
    hammer(StdMutex::new);
}
