//! The collections suite: allocator-api2 0.2 collections (what hashbrown and bumpalo use)
//! over each allocator, side by side in one run. One element is one insertion.
//!
//! 1. `collections/vec_push_1000_u64`: a `Vec<u64, _>` pushed to 1,000 elements from empty
//!    (every growth step reallocates), then dropped.
//! 2. `collections/hashmap_insert_1000`: a hashbrown `HashMap<u64, u64, _>` filled with
//!    1,000 pre-generated keys from empty, then dropped.
//! 3. `collections/box_list_1000x16B`: 1,000 `Box<[u64; 2], _>` kept in a list, then
//!    dropped in a pre-shuffled order: where a fixed-size `FreeList` applies.
//!
//! Subjects: the global allocator (`System` in this binary), mimalloc, bumpalo and
//! bump-scope (reset after each round), `Scoped` (reset after each round), the small-object
//! allocator `Segregator<256, Bucketizer<FreeList>, System>`, `Heap`, and in the third
//! workload `FreeList`, `SyncFreeList` and `Locked<FreeList>`.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::System;
use std::hint::black_box;

use alloc_compose::{AllocatorExt, Bucketizer};
use alloc_freelist::{FreeList, SyncFreeList};
use alloc_global::Locked;
use alloc_scoped::Scoped;
use allocator_api2_02::alloc::{Allocator as Api2Allocator, Global};
use allocator_api2_02::boxed::Box as ApiBox;
use allocator_api2_02::vec::Vec as ApiVec;
use allocators::{Allocator, Api2, Heap};
use allocators_benches::Mimalloc;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use hashbrown::HashMap;
use test_rng::Rng;

/// Insertions per round.
const N: usize = 1000;
/// Bytes a bump allocator is given for one round (the largest round, the map's, takes
/// well under this: the growth steps of a 1,000-entry table add up to about 70 KiB).
const ROOM: usize = 1 << 20;

fn vec_push<A: Api2Allocator>(alloc: A) {
    let mut v = ApiVec::new_in(alloc);
    for i in 0..black_box(N as u64) {
        v.push(i);
    }
    black_box(&v);
}

fn map_insert<A: Api2Allocator + Clone>(alloc: A, keys: &[u64]) {
    let mut map = HashMap::new_in(alloc);
    for &k in keys {
        map.insert(k, k);
    }
    black_box(&map);
}

/// The list itself is a `Vec` of the global allocator, the same for every subject.
fn box_list<A: Api2Allocator + Clone>(alloc: A, order: &[u32]) {
    let mut list = Vec::with_capacity(N);
    for i in 0..N as u64 {
        list.push(Some(ApiBox::new_in([i, i], alloc.clone())));
    }
    for &i in order {
        drop(black_box(list[i as usize].take()));
    }
}

/// The pre-generated inputs of the workloads.
struct Inputs {
    keys: Vec<u64>,
    order: Vec<u32>,
}

/// Runs the `workload` on an allocator that frees (no reset needed).
fn freeing<A: Api2Allocator + Clone>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    workload: Workload,
    alloc: A,
    inputs: &Inputs,
) {
    group.bench_function(name, |b| match workload {
        Workload::Vec => b.iter(|| vec_push(alloc.clone())),
        Workload::Map => b.iter(|| map_insert(alloc.clone(), black_box(&inputs.keys))),
        Workload::Boxes => b.iter(|| box_list(alloc.clone(), black_box(&inputs.order))),
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Vec,
    Map,
    Boxes,
}

fn small_objects() -> impl Allocator {
    Bucketizer::<_, 5>::powers_of_two(16, |size| FreeList::new_in(size, N, System))
        .unwrap()
        .segregate::<256, _>(System)
}

fn workload(c: &mut Criterion, name: &str, workload: Workload, inputs: &Inputs) {
    let mut group = c.benchmark_group(format!("collections/{name}"));
    group.throughput(Throughput::Elements(N as u64));
    let g = &mut group;
    freeing(g, "System", workload, Global, inputs);
    freeing(g, "mimalloc", workload, &Api2(Mimalloc), inputs);
    freeing(g, "Heap", workload, &Heap, inputs);
    let small = Api2(small_objects());
    freeing(g, "Segregator<Bucketizer>", workload, &small, inputs);
    if workload == Workload::Boxes {
        let list = FreeList::new(16, N).unwrap();
        freeing(g, "FreeList", workload, &list, inputs);
        let sync = SyncFreeList::new(16, N).unwrap();
        freeing(g, "SyncFreeList", workload, &sync, inputs);
        let locked = Api2(Locked::new(FreeList::new(16, N).unwrap()));
        freeing(g, "Locked<FreeList>", workload, &locked, inputs);
    }

    // Bump allocators: a reset after each round.
    let mut scoped = Scoped::new(ROOM).unwrap();
    g.bench_function("Scoped", |b| {
        b.iter(|| {
            match workload {
                Workload::Vec => vec_push(&scoped),
                Workload::Map => map_insert(&scoped, black_box(&inputs.keys)),
                Workload::Boxes => box_list(&scoped, black_box(&inputs.order)),
            }
            scoped.reset();
        });
    });
    let mut bump = bumpalo::Bump::with_capacity(ROOM);
    g.bench_function("bumpalo", |b| {
        b.iter(|| {
            match workload {
                Workload::Vec => vec_push(&bump),
                Workload::Map => map_insert(&bump, black_box(&inputs.keys)),
                Workload::Boxes => box_list(&bump, black_box(&inputs.order)),
            }
            bump.reset();
        });
    });
    assert_eq!(bump.iter_allocated_chunks().count(), 1);
    let mut bump: bump_scope::Bump = bump_scope::Bump::with_size(2 * ROOM);
    g.bench_function("bump-scope", |b| {
        b.iter(|| {
            match workload {
                Workload::Vec => vec_push(&bump),
                Workload::Map => map_insert(&bump, black_box(&inputs.keys)),
                Workload::Boxes => box_list(&bump, black_box(&inputs.order)),
            }
            bump.reset();
        });
    });
    group.finish();
}

fn collections(c: &mut Criterion) {
    let keys: Vec<u64> = Rng::new(11).take(N).collect();
    let mut order: Vec<u32> = (0..N as u32).collect();
    Rng::new(12).shuffle(&mut order);
    let inputs = Inputs { keys, order };
    workload(c, "vec_push_1000_u64", Workload::Vec, &inputs);
    workload(c, "hashmap_insert_1000", Workload::Map, &inputs);
    workload(c, "box_list_1000x16B", Workload::Boxes, &inputs);
}

criterion_group!(benches, collections);
criterion_main!(benches);
