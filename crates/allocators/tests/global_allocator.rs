//! A composed small-object allocator as this binary's `#[global_allocator]`:
//!
//! ```text
//! Proxy<                                  counts everything (Stats), and the workload
//!   Segregator<256,                       requests of up to 256 bytes ...
//!     Fallback<                           ... to the size classes, or System when a class
//!       Proxy<Bucketizer<SyncFreeList<System>, 5>, ..>,   is full or cannot align
//!       System>,
//!     System>,                            larger requests straight to System
//!   (&Stats, &Tally)>
//! ```
//!
//! Every part is thread-safe (`SyncFreeList`, `System`, atomics in the loggers), so the
//! chain is `Sync` without a lock; the parents are `std::alloc::System` (never `Heap`,
//! which is this very allocator). Several threads build and drop `String`s, `Vec`s and
//! `BTreeMap`s, check their contents, and the counts are checked at the end: the
//! workload's own operations are tallied exactly (a thread-local flag marks the workload
//! threads, so the test harness's allocations are not mixed in), every block the workload
//! allocated was freed, and the size classes served a large share of them.
//!
//! Not run under Miri: a global allocator that recycles freed memory trips a false
//! positive there (see `alloc-global/tests/global.rs`). The adapter is checked under Miri
//! by alloc-global, the composites (with the conformance kit) by alloc-compose.
#![cfg(all(feature = "std", not(miri)))]
// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::System;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use allocators::{
    AllocatorExt, Bucketizer, Event, Fallback, GlobalAllocator, InitError, Proxy, ProxyLogger,
    Segregator, Stats, SyncFreeList,
};

thread_local! {
    /// Set while a workload thread runs its workload. `const`-initialised and without a
    /// destructor: reading it never allocates (it is read inside the allocator).
    static IN_WORKLOAD: Cell<bool> = const { Cell::new(false) };
}

/// Counts the operations of workload threads only, exactly.
struct Tally {
    allocations: AtomicUsize,
    deallocations: AtomicUsize,
    reallocations: AtomicUsize,
    /// Bytes allocated minus bytes freed (wrapping: a block may be freed by a thread before
    /// another thread's allocation is counted).
    bytes: AtomicUsize,
}

impl Tally {
    const fn new() -> Self {
        Self {
            allocations: AtomicUsize::new(0),
            deallocations: AtomicUsize::new(0),
            reallocations: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }

    fn get(&self) -> (usize, usize, usize, usize) {
        (
            self.allocations.load(Relaxed),
            self.deallocations.load(Relaxed),
            self.reallocations.load(Relaxed),
            self.bytes.load(Relaxed),
        )
    }
}

impl ProxyLogger for Tally {
    fn log(&self, event: &Event) {
        if !IN_WORKLOAD.try_with(Cell::get).unwrap_or(false) {
            return;
        }
        match *event {
            Event::Allocated { block, .. } => {
                self.allocations.fetch_add(1, Relaxed);
                self.bytes.fetch_add(block.size(), Relaxed);
            }
            Event::Deallocated { block } => {
                self.deallocations.fetch_add(1, Relaxed);
                self.bytes.fetch_sub(block.size(), Relaxed);
            }
            Event::Reallocated { old, new } => {
                self.reallocations.fetch_add(1, Relaxed);
                self.bytes.fetch_add(new.size(), Relaxed);
                self.bytes.fetch_sub(old.size(), Relaxed);
            }
            _ => {}
        }
    }
}

/// Everything that goes through the global allocator.
static STATS: Stats = Stats::new();
/// The workload's operations, at the top of the chain.
static WORKLOAD: Tally = Tally::new();
/// The workload's operations served by the size classes.
static CLASSES: Tally = Tally::new();

/// Blocks per size class; a full class spills to `System` through the `Fallback`.
const CLASS_BLOCKS: usize = 4096;

type Classes = Proxy<Bucketizer<SyncFreeList<System>, 5>, &'static Tally>;
type Chain =
    Proxy<Segregator<256, Fallback<Classes, System>, System>, (&'static Stats, &'static Tally)>;

#[global_allocator]
static GLOBAL: GlobalAllocator<Chain> = GlobalAllocator::lazy(init);

/// Builds the chain on the first allocation, from `System`.
fn init() -> Result<Chain, InitError> {
    let classes =
        Bucketizer::powers_of_two(16, |size| SyncFreeList::new_in(size, CLASS_BLOCKS, System))?;
    Ok(classes
        .proxy(&CLASSES)
        .with_fallback(System)
        .segregate::<256, _>(System)
        .proxy((&STATS, &WORKLOAD)))
}

const THREADS: usize = 8;
const ROUNDS: usize = 100;
const ITEMS: usize = 200;

/// One thread's work; returns how many `String`s it built.
fn workload(t: usize) -> usize {
    let mut strings = 0;
    for round in 0..ROUNDS {
        // Strings, grown by reallocation, some beyond the size classes.
        let mut words: Vec<String> = Vec::new();
        for i in 0..ITEMS {
            let mut s = String::new();
            write!(s, "thread {t} round {round} item {i}").unwrap();
            if i % 16 == 0 {
                s.push_str(&"x".repeat(300));
            }
            words.push(s);
            strings += 1;
        }
        // A map of byte vectors of varied sizes; remove half of it.
        let mut map: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        for (i, w) in words.iter().enumerate() {
            map.insert(i * 7 % ITEMS, w.as_bytes().to_vec());
        }
        for i in (0..ITEMS).step_by(2) {
            map.remove(&i);
        }
        assert_eq!(map.len(), ITEMS / 2);
        for (&k, v) in &map {
            // Key `k` was inserted for the word `i` with `i * 7 % ITEMS == k`.
            let i = (0..ITEMS).find(|i| i * 7 % ITEMS == k).unwrap();
            assert_eq!(
                v.as_slice(),
                words[i].as_bytes(),
                "thread {t} round {round}"
            );
        }
        // Vectors of every small size, and one that grows past every class.
        let small: Vec<Vec<u32>> = (0..64u32).map(|n| (0..n).collect()).collect();
        assert!(
            small.iter().enumerate().all(|(n, v)| v.len() == n
                && v.iter().sum::<u32>() as usize == n * n.saturating_sub(1) / 2)
        );
        let big: Vec<u64> = (0..ITEMS as u64 * 10).collect();
        assert_eq!(
            big.iter().sum::<u64>(),
            (ITEMS as u64 * 10) * (ITEMS as u64 * 10 - 1) / 2
        );
        // Strings checked after all that: no block was handed out twice.
        for (i, w) in words.iter().enumerate() {
            assert!(w.starts_with(&format!("thread {t} round {round} item {i}")));
        }
        words.retain(|w| w.len() % 2 == 0);
        words.shrink_to_fit();
    }
    strings
}

#[test]
fn a_composed_allocator_serves_a_threaded_program() {
    let built: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    IN_WORKLOAD.with(|w| w.set(true));
                    let strings = workload(t);
                    IN_WORKLOAD.with(|w| w.set(false));
                    strings
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(built, THREADS * ROUNDS * ITEMS);

    let (allocations, deallocations, reallocations, bytes) = WORKLOAD.get();
    // Every `String` was at least one allocation (more: the map's copies, the vectors).
    assert!(
        allocations > built,
        "{allocations} allocations for {built} strings"
    );
    assert!(reallocations > 0);
    // Everything the workload allocated, it freed.
    assert_eq!(allocations, deallocations);
    assert_eq!(bytes, 0, "bytes still allocated by the workload");

    let (small, small_freed, _, small_bytes) = CLASSES.get();
    assert_eq!(small, small_freed);
    assert_eq!(small_bytes, 0);
    // Most of the workload's blocks are small: the size classes served them.
    assert!(
        small * 2 > allocations,
        "size classes served {small} of {allocations} allocations"
    );

    // The whole program (harness included) went through the chain, and it is consistent.
    let summary = STATS.summary();
    assert!(summary.counts.allocations >= allocations);
    assert_eq!(
        summary.histogram.iter().sum::<usize>(),
        summary.counts.allocations + summary.counts.reallocations + summary.counts.failures
    );
    println!(
        "workload: {allocations} allocations, {reallocations} reallocations, {small} in size classes"
    );
    println!("{summary}");
}
