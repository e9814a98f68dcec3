//! `Heap` (our adapter over the global allocator) against `std::alloc::System` and
//! mimalloc, for small allocate+free pairs: the cost of the adapter layer.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use allocators::{Allocator, Heap};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [16, 256, 4096];

fn alloc_free_pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("heap/alloc_free_pair");
    for size in SIZES {
        let layout = Layout::from_size_align(size, 8).unwrap();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("System/{size}"), |b| {
            b.iter(|| {
                // SAFETY: non-zero size; the block is freed with the same layout.
                unsafe {
                    let p = System.alloc(black_box(layout));
                    System.dealloc(black_box(p), layout);
                }
            });
        });
        group.bench_function(format!("mimalloc/{size}"), |b| {
            b.iter(|| {
                // SAFETY: non-zero size; the block is freed with the same layout.
                unsafe {
                    let p = mimalloc::MiMalloc.alloc(black_box(layout));
                    mimalloc::MiMalloc.dealloc(black_box(p), layout);
                }
            });
        });
        group.bench_function(format!("Heap/{size}"), |b| {
            b.iter(|| {
                let block = Heap.allocate_raw(black_box(layout)).unwrap();
                // SAFETY: `block` was allocated by `Heap` just above.
                unsafe { Heap.deallocate_raw(black_box(block)) };
            });
        });
    }
    group.finish();
}

fn boxed_values(c: &mut Criterion) {
    let mut group = c.benchmark_group("heap/box_u64");
    group.throughput(Throughput::Elements(1));
    group.bench_function("std Box", |b| {
        b.iter_batched(|| 7u64, |v| black_box(Box::new(v)), BatchSize::SmallInput);
    });
    group.bench_function("AllocBox<Heap>", |b| {
        b.iter_batched(
            || 7u64,
            |v| drop(black_box(Heap.allocate(v).unwrap())),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, alloc_free_pairs, boxed_values);
criterion_main!(benches);
