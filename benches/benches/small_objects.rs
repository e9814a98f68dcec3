//! The small-object allocator of alloc-compose against `std::alloc::System` and mimalloc,
//! side by side in one run, single thread (issue 7's speed targets: faster than `System`,
//! within 1.5x of mimalloc).
//!
//! Workload (`mixed_8_256`): `OPS` pre-generated operations on a live set of at most
//! `LIVE` blocks: an allocation of a random size from 8 to 256 bytes (alignment 8), or
//! the free of a random live block (given back with its requested size). Every subject
//! runs exactly the same sequence; remaining blocks are freed at the end of each
//! iteration.
//!
//! Subjects:
//! - `Segregator<256, Bucketizer<FreeList>, System>`: five `FreeList` classes (16 to 256
//!   bytes, `LIVE` blocks each, so no class runs out) in front of `System`;
//! - the same with growth: each class an `AllocatorList` of `FreeList`s of 256 blocks;
//! - `System` and mimalloc, through the same `Allocator` interface (`System` through
//!   alloc-core's impl, mimalloc through a `GlobalAlloc` adapter written here);
//! - `harness only`: the workload with no allocator (operation decoding, the live set,
//!   the unpredictable alloc-or-free branch), to subtract from the others.
//!
//! A second group (`pair_48`) times one allocate+free pair through each layer (the free
//! list alone, the `Bucketizer`, the `Segregator`) beside `System` and mimalloc: what each
//! layer adds.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;

use alloc_compose::{AllocatorExt, AllocatorList, Bucketizer, Segregator};
use alloc_freelist::FreeList;
use allocators::{Allocator, Block};
use allocators_benches::Mimalloc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use test_rng::Rng;

/// Operations per iteration.
const OPS: usize = 200_000;
/// The most blocks live at once.
const LIVE: usize = 1000;
/// The operation code of an allocation (a free is the index of the live block).
const ALLOC: u32 = u32::MAX;

/// One pre-generated operation: `ALLOC` with a size, or the index of a live block to free.
#[derive(Clone, Copy)]
struct Op {
    what: u32,
    size: u32,
}

fn ops() -> Vec<Op> {
    let mut rng = Rng::new(7);
    let mut live = 0usize;
    let mut ops = Vec::with_capacity(OPS);
    while ops.len() < OPS {
        let r = rng.next_u64();
        // Allocate when nothing is live, never beyond `LIVE`, else half the time: the live
        // set wanders between empty and full.
        if live == 0 || (live < LIVE && r & 1 == 0) {
            let size = 8 + (r >> 8) as usize % (256 - 8 + 1);
            ops.push(Op {
                what: ALLOC,
                size: size as u32,
            });
            live += 1;
        } else {
            ops.push(Op {
                what: ((r >> 1) as usize % live) as u32,
                size: 0,
            });
            live -= 1;
        }
    }
    ops
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// What the workload needs from a subject: allocate a block, free it.
trait Subject {
    fn alloc(&self, layout: Layout) -> Block;
    /// # Safety
    ///
    /// `block` came from `alloc` of the same subject and is not used afterwards.
    unsafe fn free(&self, block: Block);
}

/// Any [`Allocator`] as a subject.
struct Via<A>(A);

impl<A: Allocator> Subject for Via<A> {
    #[inline]
    fn alloc(&self, layout: Layout) -> Block {
        self.0.allocate_raw(layout).unwrap()
    }
    #[inline]
    unsafe fn free(&self, block: Block) {
        // SAFETY: forwarded from the caller: a live block of this allocator.
        unsafe { self.0.deallocate_raw(block) }
    }
}

/// The workload's own cost (operation decoding, the live set, mispredicted branches):
/// "allocates" a description of memory that does not exist, which nothing reads. Not an
/// allocator; subtracted from the others to show what the allocators themselves cost.
struct Harness;

impl Subject for Harness {
    #[inline]
    fn alloc(&self, layout: Layout) -> Block {
        Block::from_raw_parts(NonNull::<u64>::dangling().cast(), layout)
    }
    #[inline]
    unsafe fn free(&self, _block: Block) {}
}

/// Runs `ops` on `subject`, then frees what is left.
#[inline]
fn run<S: Subject>(subject: &S, live: &mut Vec<Block>, ops: &[Op]) {
    for op in ops {
        if op.what == ALLOC {
            let block = subject.alloc(layout(op.size as usize));
            live.push(black_box(block));
        } else {
            let block = live.swap_remove(op.what as usize);
            // SAFETY: a live block of `subject`, freed once.
            unsafe { subject.free(black_box(block)) };
        }
    }
    for block in live.drain(..) {
        // SAFETY: a live block of `subject`, freed once.
        unsafe { subject.free(block) };
    }
}

/// Five power-of-two classes from 16 to 256 bytes, `LIVE` blocks each, then `System`.
type SmallObjects = Segregator<256, Bucketizer<FreeList<System>, 5>, System>;

fn small_objects() -> SmallObjects {
    Bucketizer::powers_of_two(16, |size| FreeList::new_in(size, LIVE, System))
        .unwrap()
        .segregate::<256, _>(System)
}

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

fn mixed(c: &mut Criterion) {
    let ops = ops();
    let mut live = Vec::with_capacity(LIVE);
    let mut group = c.benchmark_group("small_objects/mixed_8_256");
    group.throughput(Throughput::Elements(OPS as u64));
    group.sample_size(30);

    let small = Via(small_objects());
    group.bench_function("Segregator<Bucketizer<FreeList>, System>", |b| {
        b.iter(|| run(&small, &mut live, black_box(&ops)));
    });
    let growing = Via(growing_small_objects());
    group.bench_function(
        "Segregator<Bucketizer<AllocatorList<FreeList>>, System>",
        |b| {
            b.iter(|| run(&growing, &mut live, black_box(&ops)));
        },
    );
    group.bench_function("System", |b| {
        b.iter(|| run(&Via(System), &mut live, black_box(&ops)));
    });
    group.bench_function("mimalloc", |b| {
        b.iter(|| run(&Via(Mimalloc), &mut live, black_box(&ops)));
    });
    group.bench_function("harness only", |b| {
        b.iter(|| run(&Harness, &mut live, black_box(&ops)));
    });
    group.finish();
}

/// Where the time goes: an allocate+free pair of 48 bytes (the 64-byte class) through
/// each layer of the small-object allocator, from the bare free list up.
fn layers(c: &mut Criterion) {
    let layout = layout(48);
    let mut group = c.benchmark_group("small_objects/pair_48");
    group.throughput(Throughput::Elements(1));
    fn pair<S: Subject>(subject: &S, layout: Layout) {
        let block = subject.alloc(black_box(layout));
        // SAFETY: allocated just above, freed once.
        unsafe { subject.free(black_box(block)) };
    }
    let list = Via(FreeList::new_in(64, LIVE, System).unwrap());
    group.bench_function("FreeList", |b| b.iter(|| pair(&list, layout)));
    let classes =
        Via(
            Bucketizer::<_, 5>::powers_of_two(16, |size| FreeList::new_in(size, LIVE, System))
                .unwrap(),
        );
    group.bench_function("Bucketizer<FreeList>", |b| {
        b.iter(|| pair(&classes, layout))
    });
    let small = Via(small_objects());
    group.bench_function("Segregator<Bucketizer<FreeList>, System>", |b| {
        b.iter(|| pair(&small, layout));
    });
    group.bench_function("System", |b| b.iter(|| pair(&Via(System), layout)));
    group.bench_function("mimalloc", |b| b.iter(|| pair(&Via(Mimalloc), layout)));
    group.finish();
}

criterion_group!(benches, mixed, layers);
criterion_main!(benches);
