//! Per-thread caches (issue 14): `GeneralPurpose`, `ThreadCache` over a locked `FreeList`,
//! `System` and mimalloc, side by side in one run.
//!
//! - `cache/1t_64B`: one thread, 64-byte blocks, 256 live, freed in a shuffled order.
//! - `cache/1t_8-64B` and `cache/1t_8-4096B`: one thread, random sizes, a window of 256
//!   live blocks (each allocation frees the block allocated 256 requests earlier... in a
//!   shuffled order).
//! - `cache/xthreads_8-64B` and `cache/xthreads_8-4096B` at 2 and 4 threads: each thread
//!   allocates rounds of 64 blocks, frees half itself and hands the other half to the next
//!   thread (a mutex-protected mailbox, once per round), which frees them: half of all
//!   frees cross threads.
//!
//! One element is one allocation (and its free, wherever it happens).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use alloc_freelist::FreeList;
use alloc_global::{GeneralPurpose, Locked, ThreadCache};
use allocators::{Allocator, Block};
use allocators_benches::Mimalloc;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use test_rng::Rng;

/// Allocation through our `Allocator` (System goes through its `GlobalAlloc`).
trait Subject: Sync {
    fn alloc(&self, layout: Layout) -> *mut u8;
    /// # Safety
    ///
    /// `p` came from `alloc(layout)` of the same subject and is not used afterwards.
    unsafe fn free(&self, p: *mut u8, layout: Layout);
}

struct Ours<A>(A);

// `inline(always)` on every subject's methods: the compiler had left `Ours::free` a call
// (pushing four registers) while `Sys` is a call to `malloc` anyway.
impl<A: Allocator + Sync> Subject for Ours<A> {
    #[inline(always)]
    fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.allocate_raw(layout).unwrap().as_ptr()
    }
    #[inline(always)]
    unsafe fn free(&self, p: *mut u8, layout: Layout) {
        // SAFETY: a block of this allocator with this layout (caller).
        unsafe {
            self.0.deallocate_raw(Block::from_raw_parts(
                std::ptr::NonNull::new_unchecked(p),
                layout,
            ))
        }
    }
}

struct Sys;

impl Subject for Sys {
    #[inline]
    fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the layouts have non-zero sizes.
        unsafe { System.alloc(layout) }
    }
    #[inline]
    unsafe fn free(&self, p: *mut u8, layout: Layout) {
        // SAFETY: allocated by `System` with this layout (caller).
        unsafe { System.dealloc(p, layout) }
    }
}

/// The layouts of a run: `n` random sizes in `lo..=hi`, 8-aligned.
fn layouts(n: usize, lo: usize, hi: usize, seed: u64) -> Vec<Layout> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| Layout::from_size_align(lo + rng.below(hi - lo + 1), 8).unwrap())
        .collect()
}

const WINDOW: usize = 256;

/// One thread: a window of `WINDOW` live blocks; each step frees one (shuffled slot) and
/// allocates the next layout in its place.
fn one_thread<S: Subject>(
    subject: &S,
    layouts: &[Layout],
    order: &[usize],
    iters: u64,
) -> Duration {
    let mut live: Vec<(*mut u8, Layout)> = layouts[..WINDOW]
        .iter()
        .map(|&l| (subject.alloc(l), l))
        .collect();
    // The slot of each step, computed before the clock starts (a division per step was
    // harness time that diluted every ratio towards 1).
    let slots: Vec<usize> = (0..layouts.len()).map(|k| order[k % order.len()]).collect();
    let start = Instant::now();
    for _ in 0..iters {
        for (&layout, &s) in layouts.iter().zip(&slots) {
            let slot = &mut live[s];
            // SAFETY: allocated with `slot.1`, freed once, then replaced.
            unsafe { subject.free(black_box(slot.0), slot.1) };
            *slot = (black_box(subject.alloc(layout)), layout);
        }
    }
    let elapsed = start.elapsed();
    for (p, l) in live {
        // SAFETY: as above.
        unsafe { subject.free(p, l) };
    }
    elapsed
}

/// A raw pointer that may cross threads (the benchmark hands blocks over).
#[derive(Clone, Copy)]
struct Handed(*mut u8, Layout);
// SAFETY: ownership of the block moves with it.
unsafe impl Send for Handed {}

const ROUND: usize = 64;

/// `threads` threads; each round a thread allocates `ROUND` blocks, frees half, hands half
/// to the next thread's mailbox and frees what its own mailbox holds.
fn cross_threads<S: Subject>(
    subject: &S,
    layouts: &[Vec<Layout>],
    threads: usize,
    iters: u64,
) -> Duration {
    let barrier = Barrier::new(threads);
    let mailboxes: Vec<Mutex<Vec<Handed>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
    let rounds = (iters as usize * layouts[0].len()).div_ceil(ROUND);
    let times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, mailboxes, layouts) = (&barrier, &mailboxes, &layouts[t]);
                s.spawn(move || {
                    let mut mine: Vec<Handed> = Vec::with_capacity(ROUND);
                    let mut out: Vec<Handed> = Vec::with_capacity(ROUND);
                    let mut inbox: Vec<Handed> = Vec::with_capacity(4 * ROUND);
                    let mut k = 0;
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..rounds {
                        for i in 0..ROUND {
                            let layout = layouts[k % layouts.len()];
                            k += 1;
                            let p = black_box(subject.alloc(layout));
                            if i % 2 == 0 {
                                mine.push(Handed(p, layout))
                            } else {
                                out.push(Handed(p, layout))
                            }
                        }
                        for h in mine.drain(..) {
                            // SAFETY: allocated above, freed once.
                            unsafe { subject.free(h.0, h.1) };
                        }
                        mailboxes[(t + 1) % threads]
                            .lock()
                            .unwrap()
                            .append(&mut out);
                        std::mem::swap(&mut inbox, &mut mailboxes[t].lock().unwrap());
                        for h in inbox.drain(..) {
                            // SAFETY: allocated by the previous thread, handed over, freed once.
                            unsafe { subject.free(h.0, h.1) };
                        }
                    }
                    let elapsed = start.elapsed();
                    barrier.wait();
                    // Whatever is left in the mailbox after everyone stopped.
                    for h in mailboxes[t].lock().unwrap().drain(..) {
                        // SAFETY: as above.
                        unsafe { subject.free(h.0, h.1) };
                    }
                    elapsed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    times.into_iter().max().unwrap_or_default()
}

fn single<S: Subject>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    s: &S,
    layouts: &[Layout],
    order: &[usize],
) {
    // The subject as the function id (not a parameter), so the bench report finds it and
    // computes its ratios.
    g.bench_function(name, |b| {
        b.iter_custom(|iters| one_thread(s, layouts, order, iters));
    });
}

fn multi<S: Subject>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    threads: usize,
    s: &S,
    layouts: &[Vec<Layout>],
) {
    g.bench_function(BenchmarkId::new(name, threads), |b| {
        b.iter_custom(|iters| cross_threads(s, layouts, threads, iters));
    });
}

fn one_thread_groups(c: &mut Criterion) {
    let mut order: Vec<usize> = (0..WINDOW).collect();
    Rng::new(7).shuffle(&mut order);
    let gp = Ours(GeneralPurpose::new());
    let sixty_four = layouts(1000, 64, 64, 1);
    let mut g = c.benchmark_group("cache/1t_64B");
    g.throughput(Throughput::Elements(sixty_four.len() as u64));
    single(&mut g, "System", &Sys, &sixty_four, &order);
    single(&mut g, "mimalloc", &Ours(Mimalloc), &sixty_four, &order);
    let over_freelist = Ours(ThreadCache::new(Locked::new(
        FreeList::new(64, 1 << 16).unwrap(),
    )));
    single(
        &mut g,
        "ThreadCache<Locked<FreeList>>",
        &over_freelist,
        &sixty_four,
        &order,
    );
    single(
        &mut g,
        "Locked<FreeList>",
        &Ours(Locked::new(FreeList::new(64, 1 << 16).unwrap())),
        &sixty_four,
        &order,
    );
    single(&mut g, "GeneralPurpose", &gp, &sixty_four, &order);
    g.finish();
    for (name, hi) in [("cache/1t_8-64B", 64), ("cache/1t_8-4096B", 4096)] {
        let sizes = layouts(1000, 8, hi, 2);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(sizes.len() as u64));
        single(&mut g, "System", &Sys, &sizes, &order);
        single(&mut g, "mimalloc", &Ours(Mimalloc), &sizes, &order);
        single(&mut g, "GeneralPurpose", &gp, &sizes, &order);
        single(
            &mut g,
            "ThreadCache<System>",
            &Ours(ThreadCache::new(System)),
            &sizes,
            &order,
        );
        g.finish();
    }
}

fn cross_thread_groups(c: &mut Criterion) {
    let gp = Ours(GeneralPurpose::new());
    for (name, hi) in [
        ("cache/xthreads_8-64B", 64),
        ("cache/xthreads_8-4096B", 4096),
    ] {
        let mut g = c.benchmark_group(name);
        for threads in [2, 4] {
            let per_thread: Vec<Vec<Layout>> = (0..threads)
                .map(|t| layouts(1024, 8, hi, 10 + t as u64))
                .collect();
            g.throughput(Throughput::Elements((threads * 1024) as u64));
            multi(&mut g, "System", threads, &Sys, &per_thread);
            multi(&mut g, "mimalloc", threads, &Ours(Mimalloc), &per_thread);
            multi(&mut g, "GeneralPurpose", threads, &gp, &per_thread);
        }
        g.finish();
    }
}

criterion_group!(benches, one_thread_groups, cross_thread_groups);
criterion_main!(benches);
