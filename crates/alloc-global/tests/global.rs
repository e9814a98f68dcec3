//! The adapter as this binary's `#[global_allocator]`: a single-threaded size-class pool
//! (`support/pool.rs`) built lazily from `System`, shared through `Locked`, serving every
//! allocation of the program, including the standard library's. Several threads build and
//! drop `String`s, `Vec`s and `BTreeMap`s; the pool's counters then show that the work went
//! through it and that everything allocated during the workload was freed.
//!
//! `harness = false` (see Cargo.toml): `main` runs alone, so no test-harness thread
//! allocates while the counts are taken.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

#[path = "support/pool.rs"]
#[allow(dead_code)] // not every helper of the shared pool is used here
mod pool;

use alloc_global::{GlobalAllocator, Locked};
use pool::{Counters, SizeClassPool};
use std::alloc::System;
use std::collections::BTreeMap;
use std::fmt::Write as _;

static COUNTERS: Counters = Counters::new();

#[global_allocator]
static GLOBAL: GlobalAllocator<Locked<SizeClassPool<'static, System>>> =
    GlobalAllocator::lazy(init);

/// The initialiser: a real parent allocation (one chunk per class, from `System`).
///
/// Under Miri the pool passes every request to `System` instead of recycling memory: any
/// custom global allocator that writes into a freed block (a free-list link) while a
/// function that received the `Box` by value is still running (std's thread start-up
/// does this) trips the `Box` argument's protector, under Stacked and Tree Borrows alike.
/// Miri knows the deallocation only when its own allocator frees the memory; the same
/// false positive is reported for rlsf (github.com/yvt/rlsf/issues/20). The adapter,
/// `Locked`, the lazy initialisation and the counts are still checked under Miri; the
/// pool's recycling is checked under Miri by `tests/it`, where no `Box` is involved.
fn init() -> Result<Locked<SizeClassPool<'static, System>>, alloc_core::InitError> {
    if cfg!(miri) {
        Ok(Locked::new(SizeClassPool::pass_through(System, &COUNTERS)))
    } else {
        Ok(Locked::new(SizeClassPool::with_chunks(System, &COUNTERS)?))
    }
}

const THREADS: usize = if cfg!(miri) { 2 } else { 8 };
const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };
const ITEMS: usize = if cfg!(miri) { 20 } else { 100 };

/// One thread's work: returns how many `String`s it built, and a checksum.
fn workload(t: usize) -> (usize, u64) {
    let mut strings = 0;
    let mut checksum = 0u64;
    for round in 0..ROUNDS {
        // Strings, grown by reallocation.
        let mut words: Vec<String> = Vec::new();
        for i in 0..ITEMS {
            let mut s = String::new();
            write!(s, "thread {t} round {round} item {i}").unwrap();
            if i % 10 == 0 {
                s.push_str(&"x".repeat(300)); // now larger than the pool's classes
            }
            words.push(s);
            strings += 1;
        }
        // A map from numbers to byte vectors of varied sizes; remove half of it.
        let mut map: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for (i, w) in words.iter().enumerate() {
            map.insert((i * 7 % ITEMS) as u64, w.as_bytes().to_vec());
        }
        for i in (0..ITEMS as u64).step_by(2) {
            map.remove(&i);
        }
        assert_eq!(map.len(), ITEMS / 2);
        checksum += map.values().map(|v| v.len() as u64).sum::<u64>();
        // A vector that grows past every class into the parent, then is dropped.
        let big: Vec<u64> = (0..ITEMS as u64 * 10).collect();
        checksum += big.iter().sum::<u64>();
        words.retain(|w| w.len() % 2 == 0);
        checksum += words.len() as u64;
    }
    (strings, checksum)
}

fn main() {
    // Warm up what std creates once (thread machinery, lazily initialised statics).
    std::thread::spawn(|| workload(usize::MAX)).join().unwrap();
    assert!(
        GLOBAL.get().is_some(),
        "the first allocation initialised the adapter"
    );
    if !cfg!(miri) {
        assert!(
            COUNTERS.chunks() >= 5,
            "the initialiser took its chunks from System"
        );
    }

    let live_before = COUNTERS.live();
    let allocs_before = COUNTERS.allocs();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| std::thread::spawn(move || workload(t)))
        .collect();
    let results: Vec<(usize, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // Every thread did the same work, so the checksums agree up to the thread number's
    // length in the strings; the string counts are exact.
    let strings: usize = results.iter().map(|r| r.0).sum();
    assert_eq!(strings, THREADS * ROUNDS * ITEMS);
    drop(results);
    let live_after = COUNTERS.live();
    let allocs = COUNTERS.allocs() - allocs_before;

    // Every `String` alone is at least one allocation through the adapter.
    assert!(
        allocs >= strings,
        "{allocs} allocations for {strings} strings"
    );
    if !cfg!(miri) {
        assert!(COUNTERS.pool_served() > strings / 2 && COUNTERS.parent_served() > 0);
    }
    assert_eq!(
        live_after, live_before,
        "everything allocated during the workload was freed ({} blocks live before, {} after)",
        live_before, live_after
    );
    // Printing allocates (stdout's buffer): only now, with every count taken.
    println!(
        "global allocator test: {THREADS} threads, {allocs} allocations through the adapter, \
         {} from the size classes, {} from System, {} chunks; {live_after} blocks live \
         (kept by std), as before the workload",
        COUNTERS.pool_served(),
        COUNTERS.parent_served(),
        COUNTERS.chunks()
    );
}
