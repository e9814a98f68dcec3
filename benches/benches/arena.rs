//! The growing `Scoped` and the `SharedArena` against bumpalo, bump-scope and blink-alloc,
//! side by side in one run (issue 15):
//!
//! 1. `arena/fill16_growing`: 1,000,000 allocations of 16 bytes into a fresh arena whose
//!    first chunk is 4 KiB, dropped at the end (growth and the parent's calls included).
//! 2. `arena/fill16_presized`: the same into an arena sized for them, then a reset.
//! 3. `arena/mixed`: 100,000 allocations of sizes 8 to 512 bytes (one fixed random
//!    sequence), into a fresh arena from 4 KiB.
//! 4. `arena/vec_push`: 1,000 vectors of `u64` each pushed to 1,000 elements (in-place
//!    growth of the last block), in an arena from 4 KiB, then a reset.
//! 5. `arena/scope_frames`: 1,000 scopes, each allocating 128 blocks of 64 bytes (8 KiB:
//!    across a chunk boundary of an arena from 4 KiB); bumpalo and blink-alloc have no
//!    scopes and reset instead.
//! 6. `arena/shared/N`: N = 1, 2, 4 threads allocating 250,000 blocks of 16 bytes each at
//!    once in one arena, then a reset: `SharedArena` (directly, and through a
//!    per-thread `local()` handle), blink-alloc's `SyncBlinkAlloc` (likewise), and a
//!    `Mutex<bumpalo::Bump>`.
//!
//! Before the timings it prints the memory table: bytes taken from the parent per byte
//! handed out, with growth, on workloads 1, 3 and 4 (ours: `Stats::held`; bumpalo:
//! `allocated_bytes_including_metadata`; bump-scope: `stats().size()`).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::Layout;
use std::hint::black_box;
use std::sync::Mutex;

use alloc_scoped::{Scoped, SharedArena};
use allocator_api2_02::alloc::Allocator as _;
use allocator_api2_02::vec::Vec as ApiVec;
use allocators::Allocator;
use blink_alloc::{BlinkAlloc, SyncBlinkAlloc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use test_rng::Rng;

const ALLOCS: usize = 1_000_000;
const FIRST: usize = 4096;
const MIXED: usize = 100_000;
const VECS: usize = 1_000;
const PUSHES: u64 = 1_000;
const FRAMES: usize = 1_000;
const PER_FRAME: usize = 128;
const PER_THREAD: usize = 250_000;

fn layout16() -> Layout {
    Layout::from_size_align(16, 8).unwrap()
}

/// The sizes of the mixed workload: 8 to 512 bytes, alignment 8.
fn mixed_layouts() -> Vec<Layout> {
    let mut rng = Rng::new(15);
    (0..MIXED)
        .map(|_| Layout::from_size_align(rng.range(8..513), 8).unwrap())
        .collect()
}

fn fill16_growing(c: &mut Criterion) {
    let mut group = c.benchmark_group("arena/fill16_growing");
    group.throughput(Throughput::Elements(ALLOCS as u64));
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            let arena = Scoped::growable(FIRST).unwrap();
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(arena.allocate_raw(layout).unwrap().ptr());
            }
        });
    });
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            let bump = bumpalo::Bump::with_capacity(FIRST);
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(bump.alloc_layout(layout));
            }
        });
    });
    group.bench_function("bump-scope", |b| {
        b.iter(|| {
            let bump: bump_scope::Bump = bump_scope::Bump::with_size(FIRST);
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(bump.allocate(layout).unwrap());
            }
        });
    });
    group.bench_function("blink-alloc", |b| {
        b.iter(|| {
            let blink = BlinkAlloc::with_chunk_size(FIRST);
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(blink.allocate(layout).unwrap());
            }
        });
    });
    group.finish();
}

fn fill16_presized(c: &mut Criterion) {
    let mut group = c.benchmark_group("arena/fill16_presized");
    group.throughput(Throughput::Elements(ALLOCS as u64));
    let bytes = ALLOCS * 16;
    let mut scoped = Scoped::new(bytes).unwrap();
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(scoped.allocate_raw(layout).unwrap().ptr());
            }
            scoped.reset();
        });
    });
    let mut growing = Scoped::growable(bytes).unwrap();
    group.bench_function("Scoped growable", |b| {
        b.iter(|| {
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(growing.allocate_raw(layout).unwrap().ptr());
            }
            growing.reset();
        });
    });
    let mut bump = bumpalo::Bump::with_capacity(bytes);
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(bump.alloc_layout(layout));
            }
            bump.reset();
        });
    });
    assert_eq!(bump.iter_allocated_chunks().count(), 1);
    let mut bump: bump_scope::Bump = bump_scope::Bump::with_size(2 * bytes);
    group.bench_function("bump-scope", |b| {
        b.iter(|| {
            let layout = black_box(layout16());
            for _ in 0..ALLOCS {
                black_box(bump.allocate(layout).unwrap());
            }
            bump.reset();
        });
    });
    group.finish();
}

fn mixed(c: &mut Criterion) {
    let layouts = mixed_layouts();
    let mut group = c.benchmark_group("arena/mixed");
    group.throughput(Throughput::Elements(MIXED as u64));
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            let arena = Scoped::growable(FIRST).unwrap();
            for &l in &layouts {
                black_box(arena.allocate_raw(black_box(l)).unwrap().ptr());
            }
        });
    });
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            let bump = bumpalo::Bump::with_capacity(FIRST);
            for &l in &layouts {
                black_box(bump.alloc_layout(black_box(l)));
            }
        });
    });
    group.bench_function("bump-scope", |b| {
        b.iter(|| {
            let bump: bump_scope::Bump = bump_scope::Bump::with_size(FIRST);
            for &l in &layouts {
                black_box(bump.allocate(black_box(l)).unwrap());
            }
        });
    });
    group.bench_function("blink-alloc", |b| {
        b.iter(|| {
            let blink = BlinkAlloc::with_chunk_size(FIRST);
            for &l in &layouts {
                black_box(blink.allocate(black_box(l)).unwrap());
            }
        });
    });
    group.finish();
}

fn vec_push(c: &mut Criterion) {
    let mut group = c.benchmark_group("arena/vec_push");
    group.throughput(Throughput::Elements(PUSHES * VECS as u64));
    let mut scoped = Scoped::growable(FIRST).unwrap();
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            for _ in 0..VECS {
                let mut v: ApiVec<u64, &Scoped> = ApiVec::new_in(&scoped);
                for i in 0..black_box(PUSHES) {
                    v.push(i);
                }
                black_box(&v);
            }
            scoped.reset();
        });
    });
    let mut bump = bumpalo::Bump::with_capacity(FIRST);
    group.bench_function("bumpalo", |b| {
        b.iter(|| {
            for _ in 0..VECS {
                let mut v: ApiVec<u64, &bumpalo::Bump> = ApiVec::new_in(&bump);
                for i in 0..black_box(PUSHES) {
                    v.push(i);
                }
                black_box(&v);
            }
            bump.reset();
        });
    });
    let mut bump: bump_scope::Bump = bump_scope::Bump::with_size(FIRST);
    group.bench_function("bump-scope", |b| {
        b.iter(|| {
            for _ in 0..VECS {
                let mut v: ApiVec<u64, &bump_scope::Bump> = ApiVec::new_in(&bump);
                for i in 0..black_box(PUSHES) {
                    v.push(i);
                }
                black_box(&v);
            }
            bump.reset();
        });
    });
    let mut blink = BlinkAlloc::with_chunk_size(FIRST);
    group.bench_function("blink-alloc", |b| {
        b.iter(|| {
            for _ in 0..VECS {
                let mut v: allocator_api2_04::vec::Vec<u64, &BlinkAlloc> =
                    allocator_api2_04::vec::Vec::new_in(&blink);
                for i in 0..black_box(PUSHES) {
                    v.push(i);
                }
                black_box(&v);
            }
            blink.reset();
        });
    });
    group.finish();
}

fn scope_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("arena/scope_frames");
    group.throughput(Throughput::Elements((FRAMES * PER_FRAME) as u64));
    let layout = Layout::from_size_align(64, 8).unwrap();
    let scoped = Scoped::growable(FIRST).unwrap();
    group.bench_function("Scoped", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                scoped
                    .scope(|s| {
                        let layout = black_box(layout);
                        for _ in 0..PER_FRAME {
                            black_box(s.allocate_raw(layout).unwrap().ptr());
                        }
                    })
                    .unwrap();
            }
        });
    });
    group.bench_function("Scoped guard", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                let s = scoped.scope_guard().unwrap();
                let layout = black_box(layout);
                for _ in 0..PER_FRAME {
                    black_box(s.allocate_raw(layout).unwrap().ptr());
                }
            }
        });
    });
    let mut bump: bump_scope::Bump = bump_scope::Bump::with_size(FIRST);
    group.bench_function("bump-scope", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                bump.scoped(|s| {
                    let layout = black_box(layout);
                    for _ in 0..PER_FRAME {
                        black_box(s.allocate(layout).unwrap());
                    }
                });
            }
        });
    });
    let mut bump = bumpalo::Bump::with_capacity(FIRST);
    group.bench_function("bumpalo (reset)", |b| {
        b.iter(|| {
            for _ in 0..FRAMES {
                let layout = black_box(layout);
                for _ in 0..PER_FRAME {
                    black_box(bump.alloc_layout(layout));
                }
                bump.reset();
            }
        });
    });
    group.finish();
}

fn shared(c: &mut Criterion) {
    let mut group = c.benchmark_group("arena/shared");
    for threads in [1usize, 2, 4] {
        group.throughput(Throughput::Elements((threads * PER_THREAD) as u64));
        let mut arena = SharedArena::new(FIRST);
        group.bench_function(BenchmarkId::new("SharedArena", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let arena = &arena;
                        s.spawn(move || {
                            let layout = black_box(layout16());
                            for _ in 0..PER_THREAD {
                                black_box(arena.allocate_raw(layout).unwrap().ptr());
                            }
                        });
                    }
                });
                arena.reset();
            });
        });
        group.bench_function(BenchmarkId::new("SharedArena local", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let arena = &arena;
                        s.spawn(move || {
                            let local = arena.local();
                            let layout = black_box(layout16());
                            for _ in 0..PER_THREAD {
                                black_box(local.allocate_raw(layout).unwrap().ptr());
                            }
                        });
                    }
                });
                arena.reset();
            });
        });
        let mut blink = SyncBlinkAlloc::new();
        group.bench_function(BenchmarkId::new("SyncBlinkAlloc local", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let blink = &blink;
                        s.spawn(move || {
                            let local = blink.local();
                            let layout = black_box(layout16());
                            for _ in 0..PER_THREAD {
                                black_box(local.allocate(layout).unwrap());
                            }
                        });
                    }
                });
                blink.reset();
            });
        });
        group.bench_function(BenchmarkId::new("SyncBlinkAlloc", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let blink = &blink;
                        s.spawn(move || {
                            let layout = black_box(layout16());
                            for _ in 0..PER_THREAD {
                                black_box(blink.allocate(layout).unwrap());
                            }
                        });
                    }
                });
                blink.reset();
            });
        });
        let bump = Mutex::new(bumpalo::Bump::with_capacity(FIRST));
        group.bench_function(BenchmarkId::new("Mutex<bumpalo>", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let bump = &bump;
                        s.spawn(move || {
                            let layout = black_box(layout16());
                            for _ in 0..PER_THREAD {
                                black_box(bump.lock().unwrap().alloc_layout(layout));
                            }
                        });
                    }
                });
                bump.lock().unwrap().reset();
            });
        });
    }
    group.finish();
}

/// A workload of the memory table: calls its argument with each layout to allocate.
type Workload<'a> = &'a dyn Fn(&mut dyn FnMut(Layout));

/// Bytes taken from the parent per byte handed out, after each workload, with growth.
fn memory_table() {
    let layouts = mixed_layouts();
    let mut rows = String::new();
    let workloads: [(&str, Workload<'_>); 2] = [
        ("fill16 x1M", &|f| (0..ALLOCS).for_each(|_| f(layout16()))),
        ("mixed 8-512 x100k", &|f| layouts.iter().for_each(|&l| f(l))),
    ];
    for (name, work) in workloads {
        let mut handed = 0;
        work(&mut |l| handed += l.size());
        let scoped = Scoped::growable(FIRST).unwrap();
        work(&mut |l| {
            scoped.allocate_raw(l).unwrap();
        });
        let bumpalo = bumpalo::Bump::with_capacity(FIRST);
        work(&mut |l| {
            bumpalo.alloc_layout(l);
        });
        let bump: bump_scope::Bump = bump_scope::Bump::with_size(FIRST);
        work(&mut |l| {
            bump.allocate(l).unwrap();
        });
        rows.push_str(&row(
            name,
            handed,
            scoped.stats().held,
            bumpalo.allocated_bytes_including_metadata(),
            bump.stats().size(),
        ));
    }
    // A vector grown by pushes to 1M elements: handed out is its final block.
    let handed = 1_000_000 * 8;
    let scoped = Scoped::growable(FIRST).unwrap();
    let mut v: ApiVec<u64, &Scoped> = ApiVec::new_in(&scoped);
    v.extend(0..1_000_000);
    let bumpalo = bumpalo::Bump::with_capacity(FIRST);
    let mut w: ApiVec<u64, &bumpalo::Bump> = ApiVec::new_in(&bumpalo);
    (0..1_000_000).for_each(|i| w.push(i));
    let bump: bump_scope::Bump = bump_scope::Bump::with_size(FIRST);
    let mut x: ApiVec<u64, &bump_scope::Bump> = ApiVec::new_in(&bump);
    (0..1_000_000).for_each(|i| x.push(i));
    v.clear();
    v.extend(0..1_000_000);
    rows.push_str(&row(
        "vec u64 to 1M (pushes)",
        handed,
        scoped.stats().held,
        bumpalo.allocated_bytes_including_metadata(),
        bump.stats().size(),
    ));
    eprintln!(
        "\nmemory: bytes taken from the parent per byte handed out (first chunk 4 KiB)\n\
         | workload | handed out | Scoped | bumpalo | bump-scope |\n|---|---|---|---|---|\n{rows}"
    );
}

fn row(name: &str, handed: usize, scoped: usize, bumpalo: usize, bump_scope: usize) -> String {
    let r = |x: usize| x as f64 / handed as f64;
    format!(
        "| {name} | {handed} | {:.3} | {:.3} | {:.3} |\n",
        r(scoped),
        r(bumpalo),
        r(bump_scope)
    )
}

fn memory(_: &mut Criterion) {
    memory_table();
}

criterion_group!(
    benches,
    memory,
    fill16_growing,
    fill16_presized,
    mixed,
    vec_push,
    scope_frames,
    shared
);
criterion_main!(benches);
