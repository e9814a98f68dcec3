//! [`CacheStats`]: what a [`ThreadCache`](super::ThreadCache) did, read at run time.

use core::sync::atomic::Ordering;

use alloc_core::Allocator;

use super::classes::{NUM_CLASSES, class_size};
use super::{ThreadCache, local};

/// Counters of a [`ThreadCache`](super::ThreadCache) (or a
/// [`GeneralPurpose`](crate::GeneralPurpose)), read with
/// [`ThreadCache::stats`](super::ThreadCache::stats) at any time, from any thread, with no
/// separate build and no `Proxy`.
///
/// Counting costs the fast path a load and a store of a per-thread counter (no atomic
/// read-modify-write, no shared cache line); the other counters are bumped on slow paths
/// only. Counters are read while threads keep running, so a snapshot is approximate.
///
/// # Examples
///
/// ```
/// use alloc_global::{Allocator, ThreadCache};
/// use std::alloc::System;
///
/// let cache = ThreadCache::new(System);
/// let a = cache.allocate([0u8; 24]).unwrap(); // the 32-byte class
/// drop(a);
/// let b = cache.allocate(5u64).unwrap(); // the 16-byte class
/// let stats = cache.stats();
/// assert_eq!(stats.served, 2);
/// assert_eq!(stats.served_per_class().find(|&(size, _)| size == 32), Some((32, 1)));
/// assert!(stats.this_thread_bytes >= 32); // the freed 32-byte block, at least
/// # drop(b);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests served by the size classes (from a thread's cache, or by a refill).
    pub served: u64,
    per_class: [u64; NUM_CLASSES],
    /// Batches moved into a thread's cache (from the depot or the backing allocator).
    pub refills: u64,
    /// Batches moved out of a thread's cache (to the depot or the backing allocator).
    pub flushes: u64,
    /// Blocks given to the backing allocator because the depot was full.
    pub overflow: u64,
    /// Requests that went straight to the backing allocator: larger than the largest
    /// class (16 KiB) or aligned to more than 16 bytes.
    pub spills: u64,
    /// Class-sized requests served without a thread cache (a thread that was exiting, or
    /// that uses more cache instances at once than it has slots for).
    pub uncached: u64,
    /// Threads that hold a cache for this instance now.
    pub threads: usize,
    /// Bytes of free blocks the calling thread caches for this instance.
    pub this_thread_bytes: usize,
    /// Bytes of free blocks in the shared depot.
    pub depot_bytes: usize,
}

impl CacheStats {
    /// An all-zero snapshot.
    pub(crate) const fn zero() -> Self {
        Self {
            served: 0,
            per_class: [0; NUM_CLASSES],
            refills: 0,
            flushes: 0,
            overflow: 0,
            spills: 0,
            uncached: 0,
            threads: 0,
            this_thread_bytes: 0,
            depot_bytes: 0,
        }
    }

    /// Adds `n` to the requests served by class `c`.
    pub(crate) fn add_served(&mut self, c: usize, n: u64) {
        self.per_class[c] += n;
        self.served += n;
    }

    /// The requests served per class, as (block size in bytes, requests), smallest class
    /// first; the 36 classes run from 16 bytes to 16 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, ThreadCache};
    /// use std::alloc::System;
    ///
    /// let cache = ThreadCache::new(System);
    /// let _b = cache.allocate([0u8; 100]).unwrap();
    /// let busy: Vec<(usize, u64)> = cache.stats().served_per_class().filter(|c| c.1 > 0).collect();
    /// assert_eq!(busy, [(112, 1)]);
    /// ```
    pub fn served_per_class(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.per_class
            .iter()
            .enumerate()
            .map(|(c, &n)| (class_size(c), n))
    }
}

impl<A: Allocator> ThreadCache<A> {
    /// The counters: requests served per class, batches moved, spills, threads, the bytes
    /// the calling thread and the depot cache (see [`CacheStats`]). Takes a global lock
    /// (the one threads take when they start or stop using a cache) and each depot lock in
    /// turn, briefly.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, ThreadCache};
    /// use std::alloc::System;
    ///
    /// let cache = ThreadCache::new(System);
    /// let big = cache.allocate([0u8; 20_000]).unwrap(); // above 16 KiB: to `System`
    /// let stats = cache.stats();
    /// assert_eq!((stats.served, stats.spills, stats.threads), (0, 1, 0));
    /// # drop(big);
    /// ```
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let mut stats = CacheStats::zero();
        let Some(core) = self.core() else {
            return stats;
        };
        for c in 0..NUM_CLASSES {
            stats.depot_bytes += core.depot_count(c) * class_size(c);
        }
        let served = local::for_each_slot(
            core,
            || core.served.each_ref().map(|n| n.load(Ordering::Relaxed)),
            |served, slot| {
                for (c, cache) in slot.classes.iter().enumerate() {
                    served[c] += cache.served.load(Ordering::Relaxed);
                }
            },
        );
        for (c, n) in served.into_iter().enumerate() {
            stats.add_served(c, n);
        }
        stats.this_thread_bytes = local::with_slot(core.id, |s| s.cached_bytes()).unwrap_or(0);
        stats.refills = core.refills.load(Ordering::Relaxed);
        stats.flushes = core.flushes.load(Ordering::Relaxed);
        stats.overflow = core.overflow.load(Ordering::Relaxed);
        stats.spills = core.spills.load(Ordering::Relaxed);
        stats.uncached = core.uncached.load(Ordering::Relaxed);
        stats.threads = core.threads.load(Ordering::Relaxed);
        stats
    }
}
