//! The threads suite: thread-safe allocators shared by a growing number of threads (1, 2,
//! then doubling up to `std::thread::available_parallelism`, and that number), side by side
//! in one run.
//!
//! `threads/fill_drain_256x64B`: each thread allocates `PER_THREAD` blocks of 64 bytes and
//! frees them in its own pre-shuffled order, over and over; the time is the wall time of
//! the slowest thread after a common start (thread start-up excluded). One element is one
//! allocate+free pair of any thread, so the time per element falls as threads scale.
//!
//! Subjects, each one instance shared by all threads: `System`, mimalloc, `SyncFreeList`,
//! `Locked<FreeList>` (spin lock and std `Mutex`), `Locked` around the small-object
//! allocator `Segregator<256, Bucketizer<FreeList>, System>`, and the global-allocator
//! adapter `GlobalAllocator<SyncFreeList>` called directly. Beside them, the design the
//! crate docs advise for many threads: one `FreeList` per thread (a thread-local pool,
//! nothing shared), as `FreeList per thread`.
//!
//! The per-issue thread benchmarks stay in `global.rs` (`Locked` and the adapter) and
//! `freelist.rs` (`SyncFreeList` against a lock-free prototype).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use alloc_compose::{AllocatorExt, Bucketizer};
use alloc_freelist::{FreeList, SyncFreeList};
use alloc_global::{GlobalAllocator, Locked, StdMutex};
use allocators::{Allocator, Block};
use allocators_benches::{Mimalloc, thread_curve};
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

/// Allocation through either interface: our `Allocator` or a `GlobalAlloc`.
trait Subject: Sync {
    fn alloc(&self) -> NonNull<u8>;
    /// # Safety
    ///
    /// `p` came from `alloc` of the same subject, on the same thread, and is not used
    /// afterwards.
    unsafe fn free(&self, p: NonNull<u8>);
    /// Called on each thread before the timed part (to set up thread-local state).
    fn warm(&self) {}
}

/// An [`Allocator`] as a subject.
struct Ours<A>(A);

impl<A: Allocator + Sync> Subject for Ours<A> {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        self.0.allocate_raw(LAYOUT).unwrap().ptr()
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: a block of this allocator with this layout (caller).
        unsafe { self.0.deallocate_raw(Block::from_raw_parts(p, LAYOUT)) }
    }
}

thread_local! {
    /// Each thread's own pool, for [`PerThread`].
    static POOL: FreeList = FreeList::new(64, PER_THREAD).unwrap();
}

/// One `FreeList` per thread: nothing is shared, so nothing contends.
struct PerThread;

impl Subject for PerThread {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        POOL.with(|pool| pool.allocate_raw(LAYOUT).unwrap().ptr())
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: allocated by this thread's pool with this layout (`Subject::free`'s
        // contract: same subject, same thread). A block of another thread's pool would be
        // refused with a "foreign block" panic, not freed.
        POOL.with(|pool| unsafe { pool.deallocate_raw(Block::from_raw_parts(p, LAYOUT)) });
    }
    fn warm(&self) {
        POOL.with(|_| {});
    }
}

/// A [`GlobalAlloc`] as a subject.
struct Global<G>(G);

impl<G: GlobalAlloc + Sync> Subject for Global<G> {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { self.0.alloc(LAYOUT) }).unwrap()
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: allocated by this allocator with this layout (caller).
        unsafe { self.0.dealloc(p.as_ptr(), LAYOUT) }
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
                    subject.warm();
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        for slot in &mut slots {
                            *slot = black_box(subject.alloc());
                        }
                        for &i in order {
                            // SAFETY: allocated above, freed once (`order` is a permutation).
                            unsafe { subject.free(black_box(slots[usize::from(i)])) };
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

fn subject<S: Subject>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    threads: usize,
    subject: &S,
    orders: &[Vec<u16>],
) {
    group.bench_function(BenchmarkId::new(name, threads), |b| {
        b.iter_custom(|iters| run(subject, orders, threads, iters));
    });
}

fn small_objects(count: usize) -> impl Allocator {
    Bucketizer::<_, 5>::powers_of_two(16, |size| FreeList::new_in(size, count, System))
        .unwrap()
        .segregate::<256, _>(System)
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
        let g = &mut group;
        subject(g, "System", threads, &Global(System), &orders);
        subject(g, "mimalloc", threads, &Ours(Mimalloc), &orders);
        let sync = Ours(SyncFreeList::new(64, capacity).unwrap());
        subject(g, "SyncFreeList", threads, &sync, &orders);
        let spin = Ours(Locked::new(FreeList::new(64, capacity).unwrap()));
        subject(g, "Locked<FreeList>", threads, &spin, &orders);
        let mutex = Ours(Locked::with_lock(
            FreeList::new(64, capacity).unwrap(),
            StdMutex::new(),
        ));
        subject(g, "Locked<FreeList,StdMutex>", threads, &mutex, &orders);
        let small = Ours(Locked::new(small_objects(capacity)));
        subject(
            g,
            "Locked<Segregator<Bucketizer>>",
            threads,
            &small,
            &orders,
        );
        subject(g, "FreeList per thread", threads, &PerThread, &orders);
        let adapter = Global(GlobalAllocator::new(
            SyncFreeList::new(64, capacity).unwrap(),
        ));
        subject(
            g,
            "GlobalAllocator<SyncFreeList>",
            threads,
            &adapter,
            &orders,
        );
    }
    group.finish();
}

criterion_group!(benches, thread_scaling);
criterion_main!(benches);
