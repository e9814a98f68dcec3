//! The producer/consumer suite (after xmalloc-test of mimalloc-bench): a producer thread
//! allocates batches of 256 blocks of random sizes (8 to 256 bytes) and sends them to a
//! consumer thread, which frees them (at most 4 batches in flight per pair). Every free is
//! a cross-thread free: the allocator must take back, on one thread, memory it handed out
//! on another.
//!
//! Group `xmalloc/8_256B`, points 2 threads (one pair) and 4 threads (two pairs,
//! oversubscribing a 2-core machine on purpose). Time: the slowest thread from a common
//! start. One element is one block allocated and freed.
//!
//! Subjects: every entry of `allocators_benches::threaded::for_each_subject`, over `System`
//! as the parent.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::System;

use allocators_benches::threaded::{Shape, Subject, Visit, for_each_subject};
use allocators_benches::workloads::Xmalloc;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

/// Runs one point of the group on every subject.
struct Point<'a, 'g> {
    group: &'a mut BenchmarkGroup<'g, WallTime>,
    xmalloc: &'a Xmalloc,
}

impl Visit for Point<'_, '_> {
    fn visit<S: Subject>(&mut self, name: &str, subject: &S) {
        let xmalloc = self.xmalloc;
        self.group
            .bench_function(BenchmarkId::new(name, xmalloc.threads()), |b| {
                b.iter_custom(|batches| xmalloc.run(subject, batches));
            });
    }
}

fn xmalloc(c: &mut Criterion) {
    let mut group = c.benchmark_group("xmalloc/8_256B");
    for pairs in [1, 2] {
        let xmalloc = Xmalloc::new(pairs, 8, 256);
        group.throughput(Throughput::Elements(xmalloc.ops_per_batch() as u64));
        let shape = Shape {
            max_size: 256,
            live: xmalloc.live(),
        };
        let mut point = Point {
            group: &mut group,
            xmalloc: &xmalloc,
        };
        for_each_subject(System, shape, &mut point);
    }
    group.finish();
}

criterion_group!(benches, xmalloc);
criterion_main!(benches);
