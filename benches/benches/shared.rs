//! Sharing across threads without a global lock (issue 14, points 3 and 4), side by side
//! with `System` and mimalloc in one run, at 1, 2 and 4 threads:
//!
//! - `shared/free_list_64B`: one pool of 64-byte blocks shared by all threads; each thread
//!   allocates 256 blocks and frees them in its own shuffled order, over and over.
//!   `SharedFreeList` (lock-free) against `SyncFreeList` (spin lock), `System`, mimalloc.
//! - `shared/classes_8-64B` and `shared/classes_8-4096B`: `SizeClasses` against `System`
//!   and mimalloc with random sizes; each thread allocates 64 blocks per round, frees
//!   three in four itself (in shuffled order) and hands one in four to the next thread,
//!   which frees them (cross-thread frees).
//! - At the end, the memory `SizeClasses` took from its parent (peak bytes) for the
//!   random-size workloads, against the peak of bytes requested, printed as a table.
//!
//! The time is the wall time of the slowest thread after a common start; one element is
//! one allocate+free pair.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use alloc_freelist::SyncFreeList;
use alloc_global::{SharedFreeList, SizeClasses};
use allocators::{Allocator, AllocatorError, Block};
use allocators_benches::Mimalloc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use test_rng::Rng;

const THREADS: [usize; 3] = [1, 2, 4];
/// Blocks each thread holds at most (free-list group).
const PER_THREAD: usize = 256;
/// Blocks each thread allocates per round (classes groups).
const ROUND: usize = 64;
const LAYOUT_64: Layout = match Layout::from_size_align(64, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("valid layout"),
};

/// `threads` threads each run `body(thread index)` after a common start; returns the wall
/// time of the slowest.
fn run_threads<F: Fn(usize) + Sync>(threads: usize, body: F) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, body) = (&barrier, &body);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    body(t);
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

fn fill_drain<A: Allocator + Sync>(
    alloc: &A,
    orders: &[Vec<u16>],
    threads: usize,
    iters: u64,
) -> Duration {
    run_threads(threads, |t| {
        let mut slots = vec![NonNull::<u8>::dangling(); PER_THREAD];
        for _ in 0..iters {
            for slot in &mut slots {
                *slot = black_box(alloc.allocate_raw(LAYOUT_64).unwrap().ptr());
            }
            for &i in &orders[t] {
                let block = Block::from_raw_parts(black_box(slots[usize::from(i)]), LAYOUT_64);
                // SAFETY: allocated above with this layout, freed once (a permutation).
                unsafe { alloc.deallocate_raw(block) };
            }
        }
    })
}

fn free_list(c: &mut Criterion) {
    let orders: Vec<Vec<u16>> = (0..4)
        .map(|t| {
            let mut order: Vec<u16> = (0..PER_THREAD as u16).collect();
            Rng::new(100 + t).shuffle(&mut order);
            order
        })
        .collect();
    let mut group = c.benchmark_group("shared/free_list_64B");
    for threads in THREADS {
        let capacity = threads * PER_THREAD;
        group.throughput(Throughput::Elements(capacity as u64));
        let shared = SharedFreeList::new_in(64, capacity, System).unwrap();
        let sync = SyncFreeList::new_in(64, capacity, System).unwrap();
        let subjects: [(&str, &dyn Fn(u64) -> Duration); 4] = [
            ("SharedFreeList", &|i| {
                fill_drain(&shared, &orders, threads, i)
            }),
            ("SyncFreeList", &|i| fill_drain(&sync, &orders, threads, i)),
            ("System", &|i| fill_drain(&System, &orders, threads, i)),
            ("mimalloc", &|i| fill_drain(&Mimalloc, &orders, threads, i)),
        ];
        for (name, f) in subjects {
            group.bench_function(BenchmarkId::new(name, threads), |b| b.iter_custom(f));
        }
    }
    group.finish();
}

/// The pre-generated inputs of one thread: the sizes of a round and the order in which it
/// frees its blocks.
struct Plan {
    layouts: Vec<Layout>,
    order: Vec<u16>,
}

fn plans(max: usize) -> Vec<Plan> {
    (0..4u64)
        .map(|t| {
            let mut rng = Rng::new(200 + t);
            let layouts = (0..ROUND)
                .map(|_| Layout::from_size_align(rng.range(8..max + 1), 8).unwrap())
                .collect();
            let mut order: Vec<u16> = (0..ROUND as u16).collect();
            rng.shuffle(&mut order);
            Plan { layouts, order }
        })
        .collect()
}

/// Each round: allocate `ROUND` blocks, free three in four in shuffled order, hand one in
/// four to the next thread's inbox, free what the previous thread handed over.
fn crossing<A: Allocator + Sync>(
    alloc: &A,
    plans: &[Plan],
    threads: usize,
    iters: u64,
) -> Duration {
    let inboxes: Vec<Mutex<Vec<Block>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
    let time = run_threads(threads, |t| {
        let plan = &plans[t];
        let mut blocks = vec![Block::empty(LAYOUT_64); ROUND];
        let mut outgoing = Vec::with_capacity(ROUND / 4);
        let mut incoming = Vec::new();
        for _ in 0..iters {
            for (slot, &layout) in blocks.iter_mut().zip(&plan.layouts) {
                *slot = black_box(alloc.allocate_raw(layout).unwrap());
            }
            for &i in &plan.order {
                let block = blocks[usize::from(i)];
                if i % 4 == 0 && threads > 1 {
                    outgoing.push(block);
                } else {
                    // SAFETY: allocated above, freed once.
                    unsafe { alloc.deallocate_raw(black_box(block)) };
                }
            }
            inboxes[(t + 1) % threads]
                .lock()
                .unwrap()
                .append(&mut outgoing);
            std::mem::swap(&mut incoming, &mut *inboxes[t].lock().unwrap());
            for block in incoming.drain(..) {
                // SAFETY: allocated by another thread, handed over once, freed once.
                unsafe { alloc.deallocate_raw(black_box(block)) };
            }
        }
    });
    for inbox in inboxes {
        for block in inbox.into_inner().unwrap() {
            // SAFETY: handed over and never freed.
            unsafe { alloc.deallocate_raw(block) };
        }
    }
    time
}

fn classes(c: &mut Criterion) {
    for (name, max) in [
        ("shared/classes_8-64B", 64),
        ("shared/classes_8-4096B", 4096),
    ] {
        let plans = plans(max);
        let mut group = c.benchmark_group(name);
        for threads in THREADS {
            group.throughput(Throughput::Elements((threads * ROUND) as u64));
            let classes = SizeClasses::new();
            let subjects: [(&str, &dyn Fn(u64) -> Duration); 3] = [
                ("SizeClasses", &|i| crossing(&classes, &plans, threads, i)),
                ("System", &|i| crossing(&System, &plans, threads, i)),
                ("mimalloc", &|i| crossing(&Mimalloc, &plans, threads, i)),
            ];
            for (subject, f) in subjects {
                group.bench_function(BenchmarkId::new(subject, threads), |b| b.iter_custom(f));
            }
        }
        group.finish();
    }
    memory();
}

/// `System`, counting the bytes handed out and their peak (as `SizeClasses`'s parent, or
/// alone).
#[derive(Default)]
struct Metered {
    live: AtomicUsize,
    peak: AtomicUsize,
}

// SAFETY: forwards to `System` and only counts.
unsafe impl Allocator for Metered {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = System.allocate_raw(layout)?;
        let live = self.live.fetch_add(block.size(), Relaxed) + block.size();
        self.peak.fetch_max(live, Relaxed);
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.fetch_sub(block.size(), Relaxed);
        // SAFETY: a block of `System` (caller).
        unsafe { System.deallocate_raw(block) }
    }
}

/// Prints the memory table: peak bytes taken from the parent by `SizeClasses` against the
/// peak of bytes requested, for the random-size workloads at 4 threads.
fn memory() {
    println!("\nSizeClasses memory (4 threads, 200 rounds):");
    println!("| workload | peak requested | peak from parent | ratio |");
    println!("|---|---|---|---|");
    for (name, max) in [("8-64B", 64), ("8-4096B", 4096)] {
        let plans = plans(max);
        // `System` returns blocks of the requested size: its peak is the peak requested.
        let requested = Metered::default();
        crossing(&requested, &plans, 4, 200);
        let metered = Metered::default();
        {
            let classes = SizeClasses::new_in(&metered);
            crossing(&classes, &plans, 4, 200);
        }
        let (req, got) = (requested.peak.load(Relaxed), metered.peak.load(Relaxed));
        println!(
            "| {name} | {req} | {got} | {:.2} |",
            got as f64 / req as f64
        );
    }
}

criterion_group!(benches, free_list, classes);
criterion_main!(benches);
