//! The threads suite: thread-safe allocators shared by a growing number of threads (1, 2,
//! then doubling up to `std::thread::available_parallelism`, and that number), side by side
//! in one run.
//!
//! `threads/fill_drain_256x64B`: each thread allocates `PER_THREAD` blocks of 64 bytes and
//! frees them in its own pre-shuffled order, over and over; the time is the wall time of
//! the slowest thread after a common start (thread start-up excluded). One element is one
//! allocate+free pair of any thread, so the time per element falls as threads scale.
//!
//! Subjects, each one instance shared by all threads: every entry of the list of the
//! thread suites, `allocators_benches::threaded::for_each_subject` (the peers System,
//! mimalloc and jemalloc; `SyncFreeList`; `Locked` around the small-object allocator
//! `Segregator<256, Bucketizer<FreeList>, System>`; the lock-free composition behind
//! `GlobalAllocator`; and whatever joins that list), then this suite's own:
//! `Locked<FreeList>` (spin lock and std `Mutex`), the global-allocator adapter
//! `GlobalAllocator<SyncFreeList>` called directly, and the design the crate docs advise
//! for many threads: one `FreeList` per thread (a thread-local pool, nothing shared), as
//! `FreeList per thread`.
//!
//! The per-issue thread benchmarks stay in `global.rs` (`Locked` and the adapter) and
//! `freelist.rs` (`SyncFreeList` against a lock-free prototype).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use alloc_freelist::{FreeList, SyncFreeList};
use alloc_global::{GlobalAllocator, Locked, StdMutex};
use allocators::{Allocator, Block};
use allocators_benches::thread_curve;
use allocators_benches::threaded::{Global, Ours, Shape, Subject, Visit, for_each_subject};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use test_rng::Rng;

/// Blocks each thread holds at most.
const PER_THREAD: usize = 256;
const LAYOUT: Layout = match Layout::from_size_align(64, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("valid layout"),
};

thread_local! {
    /// Each thread's own pool, for [`PerThread`].
    static POOL: FreeList = FreeList::new(64, PER_THREAD).unwrap();
}

/// One `FreeList` per thread: nothing is shared, so nothing contends.
struct PerThread;

/// Only for this suite, which frees every block on the thread that allocated it: a block of
/// another thread's pool would be refused with a "foreign block" panic, not freed.
impl Subject for PerThread {
    #[inline]
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        POOL.with(|pool| pool.allocate_raw(layout).unwrap().ptr())
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>, layout: Layout) {
        // SAFETY: allocated by this thread's pool with this layout (caller, and this suite
        // frees on the allocating thread).
        POOL.with(|pool| unsafe { pool.deallocate_raw(Block::from_raw_parts(p, layout)) });
    }
}

/// `threads` threads each run `iters` rounds on `subject`; returns the wall time of the
/// slowest, from a common start.
fn run<S: Subject>(subject: &S, orders: &[Vec<u16>], threads: usize, iters: u64) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = orders[..threads]
            .iter()
            .map(|order| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut slots = vec![NonNull::<u8>::dangling(); PER_THREAD];
                    // Thread-local state (the per-thread pool) is set up untimed.
                    // SAFETY: allocated just above with `LAYOUT`, freed once.
                    unsafe { subject.free(subject.alloc(LAYOUT), LAYOUT) };
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        for slot in &mut slots {
                            *slot = black_box(subject.alloc(LAYOUT));
                        }
                        for &i in order {
                            // SAFETY: allocated above, freed once (`order` is a permutation).
                            unsafe { subject.free(black_box(slots[usize::from(i)]), LAYOUT) };
                        }
                    }
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

/// Runs one point of the group on each subject it visits.
struct Point<'a, 'g> {
    group: &'a mut BenchmarkGroup<'g, WallTime>,
    orders: &'a [Vec<u16>],
    threads: usize,
}

impl Visit for Point<'_, '_> {
    fn visit<S: Subject>(&mut self, name: &str, subject: &S) {
        let (orders, threads) = (self.orders, self.threads);
        self.group
            .bench_function(BenchmarkId::new(name, threads), |b| {
                b.iter_custom(|iters| run(subject, orders, threads, iters));
            });
    }
}

fn thread_scaling(c: &mut Criterion) {
    let counts = thread_curve();
    let most = counts.iter().copied().max().unwrap_or(1);
    let orders: Vec<Vec<u16>> = (0..most)
        .map(|t| {
            let mut order: Vec<u16> = (0..PER_THREAD as u16).collect();
            Rng::new(100 + t as u64).shuffle(&mut order);
            order
        })
        .collect();
    let mut group = c.benchmark_group("threads/fill_drain_256x64B");
    for threads in counts {
        let capacity = threads * PER_THREAD;
        group.throughput(Throughput::Elements(capacity as u64));
        let mut point = Point {
            group: &mut group,
            orders: &orders,
            threads,
        };
        // The thread-safe subjects of every thread suite (peers, SyncFreeList, ...).
        let shape = Shape {
            max_size: LAYOUT.size(),
            live: capacity,
        };
        for_each_subject(System, shape, &mut point);
        // This suite's own: fixed-size pools behind a lock, the adapter over a
        // `SyncFreeList`, and the thread-local design.
        let spin = Ours(Locked::new(FreeList::new(64, capacity).unwrap()));
        point.visit("Locked<FreeList>", &spin);
        let mutex = Ours(Locked::with_lock(
            FreeList::new(64, capacity).unwrap(),
            StdMutex::new(),
        ));
        point.visit("Locked<FreeList,StdMutex>", &mutex);
        let adapter = Global(GlobalAllocator::new(
            SyncFreeList::new(64, capacity).unwrap(),
        ));
        point.visit("GlobalAllocator<SyncFreeList>", &adapter);
        point.visit("FreeList per thread", &PerThread);
    }
    group.finish();
}

criterion_group!(benches, thread_scaling);
criterion_main!(benches);
