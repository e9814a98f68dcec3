//! `Stats`: exact counts and histogram through a chain, the printed summary, sharing
//! between threads, and the conformance kit through a proxy that logs to it.

use std::sync::Arc;

use alloc_compose::{AllocatorExt, Bucketizer, Proxy, Stats};
use alloc_core::{Allocator, Heap};
use core::alloc::Layout;

use crate::support::{Pool, kit};

#[test]
fn counts_and_histogram_are_exact_through_a_chain() {
    let stats = Stats::new();
    let alloc = Bucketizer::<_, 3>::powers_of_two(16, |size| Ok(Pool::new(size, 2)))
        .unwrap()
        .segregate::<64, _>(Heap)
        .proxy(&stats);
    let a = alloc.allocate([0u8; 10]).unwrap(); // 9..=16
    let b = alloc.allocate([0u8; 16]).unwrap(); // 9..=16
    assert!(alloc.allocate([0u8; 16]).is_err()); // the 16-byte pool is full: a failure, 9..=16
    let c = alloc.allocate([0u8; 1000]).unwrap(); // 513..=1024, the heap
    let block = alloc.allocate_raw(Layout::new::<[u8; 40]>()).unwrap(); // 33..=64
    // SAFETY: currently allocated by `alloc`.
    let block = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 100]>()) }.unwrap(); // 65..=128
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    drop(a);

    let s = stats.summary();
    assert_eq!(
        (
            s.counts.allocations,
            s.counts.deallocations,
            s.counts.reallocations,
            s.counts.failures
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(s.counts.bytes_live, 16 + 1000);
    assert_eq!(s.counts.peak_bytes, 10 + 16 + 1000 + 100);
    let sizes: Vec<_> = s.sizes().collect();
    assert_eq!(
        sizes,
        [(9, 16, 3), (33, 64, 1), (65, 128, 1), (513, 1024, 1)]
    );
    let total: usize = s.histogram.iter().sum();
    assert_eq!(
        total,
        s.counts.allocations + s.counts.reallocations + s.counts.failures
    );

    let text = s.to_string();
    assert!(
        text.starts_with("allocations 4, deallocations 2, reallocations 1, failures 1\n"),
        "{text}"
    );
    assert!(text.contains("bytes live 1016, peak 1126"), "{text}");
    // The fullest bucket gets the whole bar, the others a share of it (at least one mark).
    assert!(
        text.contains("         9 ..         16: 3 ########################################"),
        "{text}"
    );
    assert!(
        text.contains("       513 ..       1024: 1 #############\n")
            || text.ends_with("       513 ..       1024: 1 #############"),
        "{text}"
    );
    assert_eq!(stats.to_string(), text);
    drop((b, c));
    assert_eq!(stats.summary().counts.bytes_live, 0);
}

#[test]
fn one_stats_serves_proxies_on_several_threads() {
    let stats = Arc::new(Stats::new());
    let threads = if cfg!(miri) { 2 } else { 4 };
    let per_thread = if cfg!(miri) { 10 } else { 1000 };
    std::thread::scope(|s| {
        for _ in 0..threads {
            let alloc: Proxy<Heap, Arc<Stats>> = Heap.proxy(Arc::clone(&stats));
            s.spawn(move || {
                for i in 0..per_thread {
                    drop(alloc.allocate_slice_with(1 + i % 64, |_| 0u8).unwrap());
                }
            });
        }
    });
    let s = stats.summary();
    assert_eq!(s.counts.allocations, threads * per_thread);
    assert_eq!(s.counts.deallocations, threads * per_thread);
    assert_eq!(s.counts.bytes_live, 0);
    // Each thread holds one block at a time, of at most `largest` bytes.
    let largest = per_thread.min(64);
    assert!(
        s.counts.peak_bytes >= largest && s.counts.peak_bytes <= threads * largest,
        "{s:?}"
    );
    assert_eq!(s.histogram.iter().sum::<usize>(), threads * per_thread);
}

#[test]
fn a_proxy_with_stats_passes_the_conformance_kit() {
    let stats = Stats::new();
    let r = kit(300).check(|| Heap.proxy(&stats));
    let s = stats.summary();
    assert_eq!(s.counts.allocations, r.allocations);
    assert_eq!(s.counts.bytes_live, 0);
    static_assertions::assert_impl_all!(Stats: Send, Sync);
}
