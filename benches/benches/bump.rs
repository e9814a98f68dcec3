//! The bump suite: `Scoped` against bumpalo and bump-scope, with `System` and mimalloc
//! (which must free every block) for scale, side by side in one run.
//!
//! 1. `bump/size_curve`: allocations of one size (8 B to 64 KiB) filling 1 MiB, then a
//!    reset (`System` and mimalloc: all freed); one element is one allocation. Every bump
//!    allocator is pre-sized, so no run grows a chunk.
//! 2. `bump/scope_frames`: `FRAMES` frames of `PER_FRAME` 64-byte allocations, each
//!    frame undone at its end: a `Scoped::scope`, a `bump_scope::Bump::scoped`, a bumpalo
//!    `reset`, or freeing the frame's blocks (`System`, mimalloc).
//!
//! The per-issue bump benchmarks stay in `scoped.rs` (1,000,000 allocations of 16 bytes,
//! `Vec` growth).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::hint::black_box;

use alloc_scoped::Scoped;
use allocator_api2_02::alloc::Allocator as _;
use allocators::{Allocator, Block};
use allocators_benches::{Mimalloc, SIZE_CURVE};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Bytes allocated per iteration of the size curve.
const FILL: usize = 1 << 20;
/// Frames per iteration, and allocations per frame.
const FRAMES: usize = 1000;
const PER_FRAME: usize = 16;

/// Allocates `count` blocks of `layout` from a freeing allocator, then frees them all.
#[inline]
fn fill_free<A: Allocator>(alloc: &A, layout: Layout, count: usize, blocks: &mut Vec<Block>) {
    for _ in 0..count {
        blocks.push(black_box(alloc.allocate_raw(black_box(layout)).unwrap()));
    }
    for block in blocks.drain(..) {
        // SAFETY: allocated above, freed once.
        unsafe { alloc.deallocate_raw(black_box(block)) };
    }
}

fn size_curve(c: &mut Criterion) {
    let mut group = c.benchmark_group("bump/size_curve");
    for size in SIZE_CURVE {
        let layout = Layout::from_size_align(size, 8).unwrap();
        let count = FILL / size;
        group.throughput(Throughput::Elements(count as u64));

        let mut scoped = Scoped::new(FILL).unwrap();
        group.bench_function(BenchmarkId::new("Scoped", size), |b| {
            b.iter(|| {
                let layout = black_box(layout);
                for _ in 0..count {
                    black_box(scoped.allocate_raw(layout).unwrap().ptr());
                }
                scoped.reset();
            });
        });

        let mut bump = bumpalo::Bump::with_capacity(FILL);
        group.bench_function(BenchmarkId::new("bumpalo", size), |b| {
            b.iter(|| {
                let layout = black_box(layout);
                for _ in 0..count {
                    black_box(bump.alloc_layout(layout));
                }
                bump.reset();
            });
        });
        // Fair only if bumpalo never had to grow: one chunk, as pre-sized.
        assert_eq!(bump.iter_allocated_chunks().count(), 1);

        let mut bump: bump_scope::Bump = bump_scope::Bump::with_size(2 * FILL);
        group.bench_function(BenchmarkId::new("bump-scope", size), |b| {
            b.iter(|| {
                let layout = black_box(layout);
                for _ in 0..count {
                    black_box(bump.allocate(layout).unwrap());
                }
                bump.reset();
            });
        });

        let mut blocks = Vec::with_capacity(count);
        group.bench_function(BenchmarkId::new("System", size), |b| {
            b.iter(|| fill_free(&System, layout, count, &mut blocks));
        });
        group.bench_function(BenchmarkId::new("mimalloc", size), |b| {
            b.iter(|| fill_free(&Mimalloc, layout, count, &mut blocks));
        });
    }
    group.finish();
}

fn scope_frames(c: &mut Criterion) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let mut group = c.benchmark_group("bump/scope_frames_16x64B");
    group.throughput(Throughput::Elements((FRAMES * PER_FRAME) as u64));

    let scoped = Scoped::new(PER_FRAME * 64).unwrap();
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                scoped
                    .scope(|frame| {
                        for _ in 0..PER_FRAME {
                            black_box(frame.allocate_raw(black_box(layout)).unwrap().ptr());
                        }
                    })
                    .unwrap();
            }
        });
    });

    let mut bump: bump_scope::Bump = bump_scope::Bump::with_size(4 * PER_FRAME * 64);
    group.bench_function("bump-scope", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                bump.scoped(|frame| {
                    for _ in 0..PER_FRAME {
                        black_box(frame.allocate(black_box(layout)).unwrap());
                    }
                });
            }
        });
    });

    let mut bump = bumpalo::Bump::with_capacity(PER_FRAME * 64);
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                for _ in 0..PER_FRAME {
                    black_box(bump.alloc_layout(black_box(layout)));
                }
                bump.reset();
            }
        });
    });

    let mut blocks = Vec::with_capacity(PER_FRAME);
    group.bench_function("System", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                fill_free(&System, layout, PER_FRAME, &mut blocks);
            }
        });
    });
    group.bench_function("mimalloc", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                fill_free(&Mimalloc, layout, PER_FRAME, &mut blocks);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, size_curve, scope_frames);
criterion_main!(benches);
