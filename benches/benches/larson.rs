//! The larson-like suite (after larson of mimalloc-bench, "server-like"): each thread holds
//! 4,096 blocks of random sizes and replaces random ones, a free then an allocation of a
//! new size, 4,096 per round; after each round the arrays move on to the next thread, so
//! on two threads or more a share of the frees (printed, computed from the inputs) are of
//! blocks another thread allocated (44 % on 2 threads, 58 % on 4).
//!
//! Groups `larson/8_64B` and `larson/8_4096B` (request sizes, uniform), points 1, 2 and 4
//! threads (4 oversubscribes a 2-core machine on purpose). Time: the slowest thread from a
//! common start, array hand-overs included (the same for every subject). One element is
//! one replacement (free + allocate) of any thread.
//!
//! Subjects: every entry of `allocators_benches::threaded::for_each_subject` (the peers
//! System, mimalloc, jemalloc, and ours), over `System` as the parent.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::System;

use allocators_benches::threaded::{Shape, Subject, Visit, for_each_subject};
use allocators_benches::workloads::Larson;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};

/// Blocks each thread holds, and replacements per thread per round.
const SLOTS: usize = 4096;

/// Runs one point of a group on every subject.
struct Point<'a, 'g> {
    group: &'a mut BenchmarkGroup<'g, WallTime>,
    larson: &'a Larson,
    threads: usize,
}

impl Visit for Point<'_, '_> {
    fn visit<S: Subject>(&mut self, name: &str, subject: &S) {
        let larson = self.larson;
        self.group
            .bench_function(BenchmarkId::new(name, self.threads), |b| {
                b.iter_custom(|rounds| larson.run(subject, rounds));
            });
    }
}

fn larson(c: &mut Criterion) {
    for (group_name, max) in [("larson/8_64B", 64), ("larson/8_4096B", 4096)] {
        let mut group = c.benchmark_group(group_name);
        for threads in [1, 2, 4] {
            let larson = Larson::new(threads, SLOTS, SLOTS, 8, max);
            eprintln!(
                "{group_name}, {threads} threads: {:.0} % of the frees are cross-thread",
                100.0 * larson.cross_thread_share()
            );
            group.throughput(Throughput::Elements(larson.ops_per_round() as u64));
            let shape = Shape {
                max_size: max,
                live: larson.live(),
            };
            let mut point = Point {
                group: &mut group,
                larson: &larson,
                threads,
            };
            for_each_subject(System, shape, &mut point);
        }
        group.finish();
    }
}

criterion_group!(benches, larson);
criterion_main!(benches);
