//! `FreeList` and `SyncFreeList` against `std::alloc::System`, mimalloc, and a minimal
//! intrusive free list written here (the floor), on fixed-size work:
//!
//! 1. `fill_drain`: allocate 1,024 blocks of 64 bytes, free them in a pre-shuffled order.
//! 2. `churn`: 2,000,000 pre-generated random allocate/free operations on 64-byte blocks,
//!    at most 1,024 live.
//! 3. `seed_example`: 64 blocks of 1,024 bytes, all allocated then freed, ten rounds.
//! 4. `sync_single_thread` and `sync_two_threads`: the thread-safe variant alone and
//!    shared by two threads, beside a `Mutex<FreeList>`, a lock-free Treiber stack
//!    prototype (the design alternative), and `System`.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use alloc_freelist::{FreeList, SyncFreeList};
use allocators::{Allocator, Block};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use test_rng::Rng;

const BLOCKS: usize = 1024;
const SIZE: usize = 64;

fn layout64() -> Layout {
    Layout::from_size_align(SIZE, 8).unwrap()
}

/// The operations every contender provides, on 64-byte blocks.
trait Pool {
    fn alloc(&self) -> NonNull<u8>;
    /// # Safety
    ///
    /// `p` came from `alloc` of the same pool and is not used afterwards.
    unsafe fn free(&self, p: NonNull<u8>);
}

impl<A: Allocator> Pool for FreeList<A> {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        self.allocate_raw(layout64()).unwrap().ptr()
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: forwarded; the requested layout fits the block.
        unsafe { self.deallocate_raw(Block::from_raw_parts(p, layout64())) }
    }
}

impl Pool for SyncFreeList {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        self.allocate_raw(layout64()).unwrap().ptr()
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: forwarded; the requested layout fits the block.
        unsafe { self.deallocate_raw(Block::from_raw_parts(p, layout64())) }
    }
}

/// A `GlobalAlloc` used for 64-byte blocks.
struct Global<G>(G);

impl<G: GlobalAlloc> Pool for Global<G> {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { self.0.alloc(layout64()) }).unwrap()
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: forwarded; allocated with this layout.
        unsafe { self.0.dealloc(p.as_ptr(), layout64()) }
    }
}

/// The floor: the least a free list can do. An eagerly linked list over a buffer, a `Cell`
/// head, no checks at all (it trusts every pointer and never runs out in these runs).
struct Floor {
    head: Cell<*mut u8>,
    _buf: Vec<[u64; SIZE / 8]>,
}

impl Floor {
    fn new(count: usize) -> Self {
        let mut buf = vec![[0u64; SIZE / 8]; count];
        let base = buf.as_mut_ptr().cast::<u8>();
        let mut head = ptr::null_mut();
        for i in (0..count).rev() {
            // SAFETY: `i < count`: a block of the buffer, valid and aligned for a pointer.
            unsafe {
                let block = base.add(i * SIZE);
                block.cast::<*mut u8>().write(head);
                head = block;
            }
        }
        Self {
            head: Cell::new(head),
            _buf: buf,
        }
    }
}

impl Pool for Floor {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        let head = NonNull::new(self.head.get()).expect("floor exhausted");
        // SAFETY: `head` is a free block holding the link to the next one.
        self.head
            .set(unsafe { head.as_ptr().cast::<*mut u8>().read() });
        head
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: `p` is a block of the buffer no longer used by the caller.
        unsafe { p.as_ptr().cast::<*mut u8>().write(self.head.get()) };
        self.head.set(p.as_ptr());
    }
}

/// The alternative design for the thread-safe variant: a lock-free Treiber stack with the
/// links in a side table of atomics (so no atomic read races with a user's writes into a
/// block) and a tagged head `(tag << 32) | (index + 1)` against ABA. A prototype: eagerly
/// linked, no checks, no free-block count.
struct Treiber {
    base: *mut u8,
    next: Box<[AtomicU32]>,
    head: AtomicU64,
    _buf: Vec<[u64; SIZE / 8]>,
}

// SAFETY: `base` points into `_buf`, owned by the struct; all shared state is atomic and a
// block is used by one thread at a time (the one that popped it).
unsafe impl Sync for Treiber {}
// SAFETY: as above.
unsafe impl Send for Treiber {}

impl Treiber {
    fn new(count: usize) -> Self {
        let mut buf = vec![[0u64; SIZE / 8]; count];
        let next = (0..count)
            .map(|i| AtomicU32::new(if i + 1 < count { i as u32 + 2 } else { 0 }))
            .collect();
        Self {
            base: buf.as_mut_ptr().cast(),
            next,
            head: AtomicU64::new(1),
            _buf: buf,
        }
    }
}

impl Pool for Treiber {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let index = head as u32;
            assert!(index != 0, "treiber exhausted");
            let next = self.next[index as usize - 1].load(Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(next);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => {
                    // SAFETY: `index - 1 < count`: a block of the buffer, not null.
                    let block = unsafe { self.base.add((index as usize - 1) * SIZE) };
                    return NonNull::new(block).unwrap();
                }
                Err(current) => head = current,
            }
        }
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        let index = (p.as_ptr().addr() - self.base.addr()) / SIZE;
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            self.next[index].store(head as u32, Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | (index as u64 + 1);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }
}

impl Pool for Mutex<FreeList> {
    #[inline]
    fn alloc(&self) -> NonNull<u8> {
        self.lock().unwrap().alloc()
    }
    #[inline]
    unsafe fn free(&self, p: NonNull<u8>) {
        // SAFETY: forwarded.
        unsafe { self.lock().unwrap().free(p) }
    }
}

/// Allocates `slots.len()` blocks, then frees them in the order `order`.
#[inline]
fn fill_drain<P: Pool>(pool: &P, slots: &mut [NonNull<u8>], order: &[u16]) {
    for slot in slots.iter_mut() {
        *slot = black_box(pool.alloc());
    }
    for &i in order {
        // SAFETY: every slot holds a block allocated just above, freed once.
        unsafe { pool.free(black_box(slots[usize::from(i)])) };
    }
}

fn shuffled_order(n: usize, seed: u64) -> Vec<u16> {
    let mut order: Vec<u16> = (0..n as u16).collect();
    Rng::new(seed).shuffle(&mut order);
    order
}

fn bench_fill_drain(c: &mut Criterion) {
    let order = shuffled_order(BLOCKS, 1);
    let mut slots = vec![NonNull::<u8>::dangling(); BLOCKS];
    let mut group = c.benchmark_group("freelist/fill_drain_1024x64B");
    group.throughput(Throughput::Elements(BLOCKS as u64));
    let list = FreeList::new(SIZE, BLOCKS).unwrap();
    group.bench_function("FreeList", |b| {
        b.iter(|| fill_drain(&list, &mut slots, black_box(&order)));
    });
    group.bench_function("System", |b| {
        b.iter(|| fill_drain(&Global(System), &mut slots, black_box(&order)));
    });
    group.bench_function("mimalloc", |b| {
        b.iter(|| fill_drain(&Global(mimalloc::MiMalloc), &mut slots, black_box(&order)));
    });
    let floor = Floor::new(BLOCKS);
    group.bench_function("floor", |b| {
        b.iter(|| fill_drain(&floor, &mut slots, black_box(&order)));
    });
    group.finish();
}

/// The allocate marker in a churn sequence; other values free the live block at that index.
const ALLOC: u32 = u32::MAX;
const CHURN_OPS: usize = 2_000_000;

/// A random sequence of allocations and frees with at most `BLOCKS` live; each free names
/// an index into the live blocks (valid by construction: no modulo in the timed loop).
fn churn_ops() -> Vec<u32> {
    let mut rng = Rng::new(42);
    let mut live = 0u64;
    let mut ops = Vec::with_capacity(CHURN_OPS);
    while ops.len() < CHURN_OPS {
        let r = rng.next_u64();
        let alloc = live == 0 || (live < BLOCKS as u64 && r & 1 == 0);
        if alloc {
            ops.push(ALLOC);
            live += 1;
        } else {
            ops.push(((r >> 1) % live) as u32);
            live -= 1;
        }
    }
    ops
}

#[inline]
fn churn<P: Pool>(pool: &P, live: &mut Vec<NonNull<u8>>, ops: &[u32]) {
    for &op in ops {
        if op == ALLOC {
            live.push(black_box(pool.alloc()));
        } else {
            let p = live.swap_remove(op as usize);
            // SAFETY: `p` is live, freed once.
            unsafe { pool.free(black_box(p)) };
        }
    }
    for p in live.drain(..) {
        // SAFETY: `p` is live, freed once.
        unsafe { pool.free(p) };
    }
}

fn bench_churn(c: &mut Criterion) {
    let ops = churn_ops();
    let mut live = Vec::with_capacity(BLOCKS);
    let mut group = c.benchmark_group("freelist/churn_2M_ops_64B");
    group.throughput(Throughput::Elements(CHURN_OPS as u64));
    group.sample_size(20);
    let floor = Floor::new(BLOCKS);
    group.bench_function("floor", |b| {
        b.iter(|| churn(&floor, &mut live, black_box(&ops)));
    });
    let list = FreeList::new(SIZE, BLOCKS).unwrap();
    group.bench_function("FreeList", |b| {
        b.iter(|| churn(&list, &mut live, black_box(&ops)));
    });
    group.bench_function("System", |b| {
        b.iter(|| churn(&Global(System), &mut live, black_box(&ops)));
    });
    group.bench_function("mimalloc", |b| {
        b.iter(|| churn(&Global(mimalloc::MiMalloc), &mut live, black_box(&ops)));
    });
    group.finish();
}

fn bench_seed_example(c: &mut Criterion) {
    const ROUNDS: usize = 10;
    const COUNT: usize = 64;
    let layout = Layout::new::<[u8; 1024]>();
    let mut slots = [ptr::null_mut::<u8>(); COUNT];
    let mut group = c.benchmark_group("freelist/seed_example_64x1024B_10_rounds");
    // Elements are allocate+free pairs.
    group.throughput(Throughput::Elements((ROUNDS * COUNT) as u64));
    let list = FreeList::new(1024, COUNT).unwrap();
    group.bench_function("FreeList", |b| {
        b.iter(|| {
            for _ in 0..ROUNDS {
                for slot in &mut slots {
                    *slot = black_box(list.allocate_raw(black_box(layout)).unwrap().as_ptr());
                }
                for &p in &slots {
                    let block = Block::from_raw_parts(NonNull::new(p).unwrap(), layout);
                    // SAFETY: allocated above, freed once.
                    unsafe { list.deallocate_raw(black_box(block)) };
                }
            }
        });
    });
    group.bench_function("System", |b| {
        b.iter(|| {
            for _ in 0..ROUNDS {
                for slot in &mut slots {
                    // SAFETY: non-zero size.
                    *slot = black_box(unsafe { System.alloc(black_box(layout)) });
                }
                for &p in &slots {
                    // SAFETY: allocated above with this layout, freed once.
                    unsafe { System.dealloc(black_box(p), layout) };
                }
            }
        });
    });
    group.finish();
}

fn bench_sync_single_thread(c: &mut Criterion) {
    let order = shuffled_order(BLOCKS, 2);
    let mut slots = vec![NonNull::<u8>::dangling(); BLOCKS];
    let mut group = c.benchmark_group("freelist/sync_single_thread_fill_drain_1024x64B");
    group.throughput(Throughput::Elements(BLOCKS as u64));
    let list = FreeList::new(SIZE, BLOCKS).unwrap();
    group.bench_function("FreeList", |b| {
        b.iter(|| fill_drain(&list, &mut slots, black_box(&order)));
    });
    let sync = SyncFreeList::new(SIZE, BLOCKS).unwrap();
    group.bench_function("SyncFreeList", |b| {
        b.iter(|| fill_drain(&sync, &mut slots, black_box(&order)));
    });
    let mutex = Mutex::new(FreeList::new(SIZE, BLOCKS).unwrap());
    group.bench_function("Mutex<FreeList>", |b| {
        b.iter(|| fill_drain(&mutex, &mut slots, black_box(&order)));
    });
    let treiber = Treiber::new(BLOCKS);
    group.bench_function("Treiber (lock-free prototype)", |b| {
        b.iter(|| fill_drain(&treiber, &mut slots, black_box(&order)));
    });
    group.finish();
}

/// `threads` threads each run `iters` fill-and-drain rounds of `BLOCKS / threads` blocks
/// on `pool`; returns the wall time from the common start to the last finish.
fn run_threads<P: Pool + Sync>(pool: &P, threads: usize, iters: u64) -> Duration {
    let per_thread = BLOCKS / threads;
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let order = shuffled_order(per_thread, 10 + t as u64);
                    let mut slots = vec![NonNull::<u8>::dangling(); per_thread];
                    barrier.wait();
                    for _ in 0..iters {
                        fill_drain(pool, &mut slots, &order);
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().unwrap();
        }
        start.elapsed()
    })
}

fn bench_sync_two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("freelist/sync_two_threads_fill_drain_2x512x64B");
    // Elements: allocate+free pairs of both threads together.
    group.throughput(Throughput::Elements(BLOCKS as u64));
    let sync = SyncFreeList::new(SIZE, BLOCKS).unwrap();
    group.bench_function("SyncFreeList/1 thread", |b| {
        b.iter_custom(|iters| run_threads(&sync, 1, iters));
    });
    group.bench_function("SyncFreeList/2 threads", |b| {
        b.iter_custom(|iters| run_threads(&sync, 2, iters));
    });
    let mutex = Mutex::new(FreeList::new(SIZE, BLOCKS).unwrap());
    group.bench_function("Mutex<FreeList>/2 threads", |b| {
        b.iter_custom(|iters| run_threads(&mutex, 2, iters));
    });
    let treiber = Treiber::new(BLOCKS);
    group.bench_function("Treiber (lock-free prototype)/2 threads", |b| {
        b.iter_custom(|iters| run_threads(&treiber, 2, iters));
    });
    group.bench_function("System/2 threads", |b| {
        b.iter_custom(|iters| run_threads(&Global(System), 2, iters));
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_fill_drain,
    bench_churn,
    bench_seed_example,
    bench_sync_single_thread,
    bench_sync_two_threads
);
criterion_main!(benches);
