//! The pool suite: allocators that free block by block, side by side in one run, as
//! curves (see `benches/README.md`).
//!
//! 1. `pool/size_curve`: a batch of `BATCH` allocations of one size (8 B to 64 KiB), freed
//!    in a pre-shuffled order; one element is an allocate+free pair. Subjects: `System`,
//!    mimalloc, `Heap`, `FreeList` and `SyncFreeList` sized for the batch, the common chains
//!    around a `FreeList` (`Proxy<_, NoLog>`, `Fallback<_, Heap>`, `Locked<_>`), and the
//!    small-object allocator `Segregator<256, Bucketizer<FreeList>, System>` (above 256 bytes
//!    it hands the request to `System`: the curve shows what the segregation costs there).
//! 2. `pool/live_curve`: the same with 64-byte blocks and a growing number of live blocks
//!    (16 to 65,536): `FreeList`, `SyncFreeList`, the small-object allocator (fixed and
//!    growing classes) against `System` and mimalloc.
//!
//! The per-issue pool benchmarks stay in `freelist.rs` (fill/drain, churn, seed example),
//! `small_objects.rs` (mixed 8–256 B) and `heap.rs` (the `Heap` adapter).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::hint::black_box;

use alloc_compose::{AllocatorExt, AllocatorList, Bucketizer, NoLog};
use alloc_freelist::{FreeList, SyncFreeList};
use alloc_global::Locked;
use allocators::{Allocator, Block, Heap};
use allocators_benches::{Mimalloc, SIZE_CURVE};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use test_rng::Rng;

/// Blocks per batch of the size curve.
const BATCH: usize = 64;
/// Live blocks of the live curve.
const LIVE_CURVE: [usize; 4] = [16, 256, 4096, 65536];

/// Allocates one block per entry of `order`, then frees them in the order `order`.
#[inline]
fn batch<A: Allocator>(alloc: &A, layout: Layout, order: &[u32], blocks: &mut Vec<Block>) {
    for _ in 0..order.len() {
        blocks.push(black_box(alloc.allocate_raw(black_box(layout)).unwrap()));
    }
    for &i in order {
        // SAFETY: each block was allocated above and is freed once (`order` is a
        // permutation of the indices).
        unsafe { alloc.deallocate_raw(black_box(blocks[i as usize])) };
    }
    blocks.clear();
}

fn order(n: usize, seed: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    Rng::new(seed).shuffle(&mut order);
    order
}

fn subject<A: Allocator>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    param: usize,
    alloc: &A,
    layout: Layout,
    order: &[u32],
) {
    let mut blocks = Vec::with_capacity(order.len());
    group.bench_with_input(BenchmarkId::new(name, param), order, |b, order| {
        b.iter(|| batch(alloc, layout, order, &mut blocks));
    });
}

/// The small-object allocator: five power-of-two classes of 16 to 256 bytes, `count`
/// blocks each, then `System`.
fn small_objects(count: usize) -> impl Allocator {
    Bucketizer::<_, 5>::powers_of_two(16, |size| FreeList::new_in(size, count, System))
        .unwrap()
        .segregate::<256, _>(System)
}

/// The same with classes that grow: an `AllocatorList` of `FreeList`s of 256 blocks each.
fn growing_small_objects() -> impl Allocator {
    Bucketizer::<_, 5>::powers_of_two(16, |size| {
        Ok(AllocatorList::new_in(
            move || FreeList::new_in(size, 256, System),
            System,
        ))
    })
    .unwrap()
    .segregate::<256, _>(System)
}

fn size_curve(c: &mut Criterion) {
    let order = order(BATCH, 3);
    let mut group = c.benchmark_group("pool/size_curve");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZE_CURVE {
        let layout = Layout::from_size_align(size, 8).unwrap();
        let g = &mut group;
        subject(g, "System", size, &System, layout, &order);
        subject(g, "mimalloc", size, &Mimalloc, layout, &order);
        subject(g, "Heap", size, &Heap, layout, &order);
        let list = FreeList::new(size, BATCH).unwrap();
        subject(g, "FreeList", size, &list, layout, &order);
        let sync = SyncFreeList::new(size, BATCH).unwrap();
        subject(g, "SyncFreeList", size, &sync, layout, &order);
        let proxy = FreeList::new(size, BATCH).unwrap().proxy(NoLog);
        subject(g, "Proxy<FreeList,NoLog>", size, &proxy, layout, &order);
        let fallback = FreeList::new(size, BATCH).unwrap().with_fallback(Heap);
        subject(
            g,
            "Fallback<FreeList,Heap>",
            size,
            &fallback,
            layout,
            &order,
        );
        let locked = Locked::new(FreeList::new(size, BATCH).unwrap());
        subject(g, "Locked<FreeList>", size, &locked, layout, &order);
        let small = small_objects(BATCH);
        subject(g, "Segregator<Bucketizer>", size, &small, layout, &order);
    }
    group.finish();
}

fn live_curve(c: &mut Criterion) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let mut group = c.benchmark_group("pool/live_curve_64B");
    for live in LIVE_CURVE {
        let order = order(live, 5);
        group.throughput(Throughput::Elements(live as u64));
        let g = &mut group;
        subject(g, "System", live, &System, layout, &order);
        subject(g, "mimalloc", live, &Mimalloc, layout, &order);
        let list = FreeList::new(64, live).unwrap();
        subject(g, "FreeList", live, &list, layout, &order);
        let sync = SyncFreeList::new(64, live).unwrap();
        subject(g, "SyncFreeList", live, &sync, layout, &order);
        let small = small_objects(live);
        subject(g, "Segregator<Bucketizer>", live, &small, layout, &order);
        let growing = growing_small_objects();
        subject(
            g,
            "Segregator<Bucketizer<AllocatorList>>",
            live,
            &growing,
            layout,
            &order,
        );
    }
    group.finish();
}

criterion_group!(benches, size_curve, live_curve);
criterion_main!(benches);
