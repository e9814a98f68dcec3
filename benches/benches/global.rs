//! Sharing across threads and the global-allocator adapter (alloc-global), side by side in
//! one run:
//!
//! - `locked_pairs`: `Locked<Pool>` (spin lock and std `Mutex`) against the bare `Pool`,
//!   and `Locked<System>` against `System`, one thread: the uncontended cost of the lock.
//! - `locked_pairs_{2,8}_threads`: threads sharing one `Locked<Pool>`, spin lock against
//!   std `Mutex` (contended throughput), with `System` (thread-safe by itself) for scale;
//!   8 threads on a 2-core machine shows the oversubscribed case.
//! - `adapter_batch` (1 and 2 threads): explicit `GlobalAlloc` calls (a `#[global_allocator]`
//!   is per binary, so the adapter is called directly): `GlobalAllocator<Locked<Pool>>` and
//!   `GlobalAllocator<System>` (the adapter's own cost) against `System`, with mimalloc for
//!   reference.
//!
//! Sizes are pre-generated (8 to 256 bytes, one request in eight up to 1 KiB, which the
//! pool passes to `System`); a "pair" is an allocation freed at once, a "batch" is
//! `BATCH` allocations freed in a pre-shuffled order.
//!
//! `Pool` is a small single-threaded size-class pool written here (16 to 256-byte classes
//! carved from 64 KiB chunks of `System`, larger requests to `System`): the kind of
//! non-`Sync` allocator `Locked` exists for. Leaf crates may not depend on each other; the
//! facade's benchmark can put `SyncFreeList`/Bucketizer compositions in its place.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use alloc_global::{GlobalAllocator, Locked, StdMutex};
use allocators::{Allocator, AllocatorError, Block};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use mimalloc::MiMalloc;
use test_rng::Rng;

/// Requests per iteration (pairs) and blocks per batch.
const BATCH: usize = 1000;

/// Pre-generated request layouts: 8..=256 bytes, one in eight 257..=1024; alignment 8.
fn layouts(seed: u64) -> Vec<Layout> {
    Rng::new(seed)
        .take(BATCH)
        .map(|r| {
            let size = if r % 8 == 0 {
                257 + (r >> 8) as usize % 768
            } else {
                8 + (r >> 8) as usize % 249
            };
            Layout::from_size_align(size, 8).unwrap()
        })
        .collect()
}

const CLASSES: [usize; 5] = [16, 32, 64, 128, 256];
const CHUNK: Layout = match Layout::from_size_align(64 * 1024, 256) {
    Ok(l) => l,
    Err(_) => panic!("valid layout"),
};

/// A single-threaded size-class pool over `System` (see the module docs).
struct Pool {
    free: [Cell<Option<NonNull<u8>>>; CLASSES.len()],
    /// The chunks, to give back on drop.
    chunks: std::cell::RefCell<Vec<NonNull<u8>>>,
}

// SAFETY: owns its chunks; nothing tied to a thread.
unsafe impl Send for Pool {}

impl Pool {
    fn new() -> Self {
        Self {
            free: [const { Cell::new(None) }; CLASSES.len()],
            chunks: std::cell::RefCell::new(Vec::new()),
        }
    }

    #[inline]
    fn class_of(layout: Layout) -> Option<usize> {
        let need = layout.size().max(layout.align());
        CLASSES.iter().position(|&c| need <= c)
    }

    #[cold]
    #[inline(never)]
    fn refill(&self, i: usize) -> Result<NonNull<u8>, AllocatorError> {
        let chunk = System.allocate_raw(CHUNK)?.ptr();
        self.chunks.borrow_mut().push(chunk);
        let class = CLASSES[i];
        for s in (1..CHUNK.size() / class).rev() {
            // SAFETY: `s * class < CHUNK.size()`: inside the chunk, aligned to `class`.
            let slot = unsafe { chunk.add(s * class) };
            // SAFETY: a free slot is at least 16 bytes, aligned for a pointer.
            unsafe { slot.cast::<Option<NonNull<u8>>>().write(self.free[i].get()) };
            self.free[i].set(Some(slot));
        }
        Ok(chunk)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for &chunk in self.chunks.get_mut().iter() {
            // SAFETY: allocated from `System` with `CHUNK` in `refill`.
            unsafe { System.deallocate_raw(Block::from_raw_parts(chunk, CHUNK)) };
        }
    }
}

// SAFETY: a slot is on one free list or handed out, never both; slots of class `c` are `c`
// bytes, `c`-aligned, in chunks that live until the pool drops; larger requests are
// `System`'s blocks; zero-size requests get empty blocks.
unsafe impl Allocator for Pool {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let Some(i) = Self::class_of(layout) else {
            return System.allocate_raw(layout);
        };
        let slot = match self.free[i].get() {
            Some(slot) => {
                // SAFETY: a free slot holds the address of the next one.
                self.free[i].set(unsafe { slot.cast::<Option<NonNull<u8>>>().read() });
                slot
            }
            None => self.refill(i)?,
        };
        let layout = Layout::from_size_align(CLASSES[i], layout.align()).unwrap();
        Ok(Block::from_raw_parts(slot, layout))
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        match Self::class_of(block.layout()) {
            Some(i) => {
                // SAFETY: a slot of class `i` (caller), valid for a pointer.
                unsafe {
                    block
                        .ptr()
                        .cast::<Option<NonNull<u8>>>()
                        .write(self.free[i].get());
                }
                self.free[i].set(Some(block.ptr()));
            }
            // SAFETY: larger blocks are `System`'s.
            None => unsafe { System.deallocate_raw(block) },
        }
    }
}

/// One allocate+free pair per request, through the `Allocator` trait.
fn pairs<A: Allocator>(alloc: &A, layouts: &[Layout]) {
    for &layout in layouts {
        let block = alloc.allocate_raw(black_box(layout)).unwrap();
        // SAFETY: allocated just above.
        unsafe { alloc.deallocate_raw(black_box(block)) };
    }
}

/// `BATCH` allocations through `GlobalAlloc`, then frees in the pre-shuffled `order`.
fn batch<G: GlobalAlloc>(alloc: &G, layouts: &[Layout], order: &[usize], ptrs: &mut [*mut u8]) {
    for (p, &layout) in ptrs.iter_mut().zip(layouts) {
        // SAFETY: non-zero sizes.
        *p = unsafe { alloc.alloc(black_box(layout)) };
        assert!(!p.is_null());
    }
    for &i in order {
        // SAFETY: allocated above with `layouts[i]`, freed once (`order` is a permutation).
        unsafe { alloc.dealloc(black_box(ptrs[i]), layouts[i]) };
    }
}

/// Runs `work(thread, iters)` on `threads` threads at once and returns the longest time
/// one took (thread start-up excluded: the clocks start after a barrier).
fn threaded<F: Fn(usize, u64) + Sync>(threads: usize, iters: u64, work: F) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(t, iters);
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

fn locked_pairs(c: &mut Criterion) {
    let layouts = layouts(1);
    let mut group = c.benchmark_group("global/locked_pairs");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut run = |name: &str, f: &dyn Fn()| {
        group.bench_function(name, |b| b.iter(f));
    };
    let pool = Pool::new();
    run("Pool", &|| pairs(&pool, &layouts));
    let locked = Locked::new(Pool::new());
    run("Locked<Pool,SpinLock>", &|| pairs(&locked, &layouts));
    let mutexed = Locked::with_lock(Pool::new(), StdMutex::new());
    run("Locked<Pool,StdMutex>", &|| pairs(&mutexed, &layouts));
    run("System", &|| pairs(&System, &layouts));
    let locked_system = Locked::new(System);
    run("Locked<System,SpinLock>", &|| {
        pairs(&locked_system, &layouts)
    });
    group.finish();
}

/// Threads sharing one `Locked<Pool>`: 2 threads (one per core here: contended) and 8
/// (more threads than cores: a preempted holder makes spinning waiters waste time slices).
fn locked_pairs_threads(c: &mut Criterion) {
    let per_thread: Vec<Vec<Layout>> = (0..8).map(|t| layouts(t + 1)).collect();
    for threads in [2, 8] {
        let mut group = c.benchmark_group(format!("global/locked_pairs_{threads}_threads"));
        group.throughput(Throughput::Elements((threads * BATCH) as u64));
        let mut run = |name: &str, alloc: &(dyn Fn(&[Layout]) + Sync)| {
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    threaded(threads, iters, |t, iters| {
                        for _ in 0..iters {
                            alloc(&per_thread[t]);
                        }
                    })
                });
            });
        };
        let locked = Locked::new(Pool::new());
        run("Locked<Pool,SpinLock>", &|l| pairs(&locked, l));
        let mutexed = Locked::with_lock(Pool::new(), StdMutex::new());
        run("Locked<Pool,StdMutex>", &|l| pairs(&mutexed, l));
        run("System", &|l| pairs(&System, l));
        group.finish();
    }
}

/// Runs the batch workload on `threads` threads sharing `alloc`.
fn adapter_subject<G: GlobalAlloc + Sync>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    alloc: &G,
    threads: usize,
    inputs: &[(Vec<Layout>, Vec<usize>)],
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            threaded(threads, iters, |t, iters| {
                let (layouts, order) = &inputs[t];
                let mut ptrs = vec![std::ptr::null_mut(); BATCH];
                for _ in 0..iters {
                    batch(alloc, layouts, order, &mut ptrs);
                }
            })
        });
    });
}

fn adapter(c: &mut Criterion) {
    let inputs: Vec<(Vec<Layout>, Vec<usize>)> = (0..2)
        .map(|t| {
            let mut order: Vec<usize> = (0..BATCH).collect();
            Rng::new(42 + t).shuffle(&mut order);
            (layouts(10 + t), order)
        })
        .collect();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("global/adapter_batch_{threads}_threads"));
        group.throughput(Throughput::Elements((threads * BATCH) as u64));
        let g = &mut group;
        adapter_subject(g, "System", &System, threads, &inputs);
        let adapted_system = GlobalAllocator::new(System);
        adapter_subject(
            g,
            "GlobalAllocator<System>",
            &adapted_system,
            threads,
            &inputs,
        );
        let lazy_pool = GlobalAllocator::lazy(|| Ok(Locked::new(Pool::new())));
        adapter_subject(
            g,
            "GlobalAllocator<Locked<Pool>>",
            &lazy_pool,
            threads,
            &inputs,
        );
        let mutex_pool = GlobalAllocator::new(Locked::with_lock(Pool::new(), StdMutex::new()));
        adapter_subject(
            g,
            "GlobalAllocator<Locked<Pool,StdMutex>>",
            &mutex_pool,
            threads,
            &inputs,
        );
        adapter_subject(g, "mimalloc", &MiMalloc, threads, &inputs);
        group.finish();
    }
}

criterion_group!(benches, locked_pairs, locked_pairs_threads, adapter);
criterion_main!(benches);
