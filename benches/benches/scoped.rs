//! `Scoped` against bumpalo (and the system allocator, for scale), in the same run:
//!
//! 1. `alloc16_reset`: 1,000,000 allocations of 16 bytes into an allocator sized for
//!    them, then a reset: `Scoped::allocate_raw` + `Scoped::reset` against
//!    `Bump::alloc_layout` + `Bump::reset`, and `System` malloc of all then free of all.
//! 2. `vec_growth`: an `allocator_api2::vec::Vec<u64, _>` pushed to 1,000 elements and
//!    dropped, 1,000 times, then a reset: in a `&Scoped` against a `&Bump`.
//!
//! The layout is opaque to the optimiser (`black_box`), as it is for a collection that
//! computes it at run time; every returned pointer goes through `black_box`.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use alloc_scoped::Scoped;
use allocator_api2_02::vec::Vec as ApiVec;
use allocators::Allocator;
use bumpalo::Bump;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Allocations per iteration of the first benchmark.
const ALLOCS: usize = 1_000_000;
/// Size of each allocation of the first benchmark.
const SIZE: usize = 16;
/// Elements pushed into each vector of the second benchmark.
const ELEMENTS: u64 = 1_000;
/// Vectors grown per iteration of the second benchmark.
const VECS: usize = 1_000;

fn alloc16_reset(c: &mut Criterion) {
    let layout = Layout::from_size_align(SIZE, 8).unwrap();
    let mut group = c.benchmark_group("scoped/alloc16_reset");
    group.throughput(Throughput::Elements(ALLOCS as u64));

    let mut scoped = Scoped::new(ALLOCS * SIZE).unwrap();
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            let layout = black_box(layout);
            for _ in 0..ALLOCS {
                black_box(scoped.allocate_raw(layout).unwrap().ptr());
            }
            scoped.reset();
        });
    });

    let mut bump = Bump::with_capacity(ALLOCS * SIZE);
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            let layout = black_box(layout);
            for _ in 0..ALLOCS {
                black_box(bump.alloc_layout(layout));
            }
            bump.reset();
        });
    });
    // The benchmark is only fair if bumpalo never had to grow: one chunk, as pre-sized.
    assert_eq!(bump.iter_allocated_chunks().count(), 1);

    let mut pointers: Vec<*mut u8> = Vec::with_capacity(ALLOCS);
    group.bench_function("System malloc+free", |b| {
        b.iter(|| {
            let layout = black_box(layout);
            for _ in 0..ALLOCS {
                // SAFETY: `layout` has a non-zero size.
                pointers.push(black_box(unsafe { System.alloc(layout) }));
            }
            for p in pointers.drain(..) {
                // SAFETY: `p` was allocated by `System` with `layout` just above.
                unsafe { System.dealloc(p, layout) };
            }
        });
    });
    group.finish();
}

fn vec_growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("scoped/vec_growth");
    group.throughput(Throughput::Elements(ELEMENTS * VECS as u64));
    // Room for the largest vector (capacity 1,024) with margin; dropping a vector frees
    // its block, the most recent one, so each vector starts from the same place.
    let room = 2 * 1024 * size_of::<u64>();

    let mut scoped = Scoped::new(room).unwrap();
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            for _ in 0..VECS {
                let mut v: ApiVec<u64, &Scoped> = ApiVec::new_in(&scoped);
                for i in 0..black_box(ELEMENTS) {
                    v.push(i);
                }
                black_box(&v);
            }
            scoped.reset();
        });
    });

    let mut bump = Bump::with_capacity(room);
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            for _ in 0..VECS {
                let mut v: ApiVec<u64, &Bump> = ApiVec::new_in(&bump);
                for i in 0..black_box(ELEMENTS) {
                    v.push(i);
                }
                black_box(&v);
            }
            bump.reset();
        });
    });
    assert_eq!(bump.iter_allocated_chunks().count(), 1);
    group.finish();
}

criterion_group!(benches, alloc16_reset, vec_growth);
criterion_main!(benches);
