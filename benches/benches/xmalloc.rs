//! The producer/consumer suite (after xmalloc-test of mimalloc-bench): a producer thread
//! allocates batches of 256 blocks of random sizes (8 to 256 bytes) and sends them to a
//! consumer thread, which frees them (at most 4 batches in flight per pair). Every free is
//! a cross-thread free: the allocator must take back, on one thread, memory it handed out
//! on another.
//!
//! Group `xmalloc/8_256B`, points 2 threads (one pair) and 4 threads (two pairs,
//! oversubscribing a 2-core machine on purpose), placed by the scheduler; on Linux also
//! 4 threads pinned with each pair on one CPU (`4_together`) and with each pair's threads
//! on two CPUs (`4_apart`): with more threads than cores, the scheduler's placement
//! decides how many blocks cross cores, and these two points measure both extremes.
//! Time: the slowest thread from a common start. One element is one block allocated and
//! freed.
//!
//! Subjects: every entry of `allocators_benches::threaded::for_each_subject`, over `System`
//! as the parent.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::System;

use allocators_benches::threaded::{Shape, Subject, Visit, for_each_subject};
use allocators_benches::workloads::{Placement, Xmalloc};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

/// Runs one point of the group on every subject.
struct Point<'a, 'g> {
    group: &'a mut BenchmarkGroup<'g, WallTime>,
    xmalloc: &'a Xmalloc,
    /// The point's name: the thread count, and the placement when pinned.
    id: String,
}

impl Visit for Point<'_, '_> {
    fn visit<S: Subject>(&mut self, name: &str, subject: &S) {
        let xmalloc = self.xmalloc;
        self.group
            .bench_function(BenchmarkId::new(name, &self.id), |b| {
                b.iter_custom(|batches| xmalloc.run(subject, batches));
            });
    }
}

fn xmalloc(c: &mut Criterion) {
    let mut group = c.benchmark_group("xmalloc/8_256B");
    let points = [
        (1, Placement::Free, ""),
        (2, Placement::Free, ""),
        (2, Placement::Together, "_together"),
        (2, Placement::Apart, "_apart"),
    ];
    for (pairs, placement, suffix) in points {
        let Some(xmalloc) = Xmalloc::new(pairs, 8, 256).placed(placement) else {
            continue;
        };
        group.throughput(Throughput::Elements(xmalloc.ops_per_batch() as u64));
        let shape = Shape {
            max_size: 256,
            live: xmalloc.live(),
        };
        let mut point = Point {
            group: &mut group,
            xmalloc: &xmalloc,
            id: format!("{}{suffix}", xmalloc.threads()),
        };
        for_each_subject(System, shape, &mut point);
    }
    group.finish();
}

criterion_group!(benches, xmalloc);
criterion_main!(benches);
