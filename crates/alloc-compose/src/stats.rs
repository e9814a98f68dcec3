//! [`Stats`]: a [`ProxyLogger`] with counts, live and peak bytes, and a histogram of
//! request sizes, printable as a summary.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::{Counts, Event, ProxyLogger};

/// Buckets of the size histogram: one for size 0, then one per power of two up to
/// `2^63` (sizes never exceed `isize::MAX`).
const BUCKETS: usize = 65;

/// The histogram bucket of a request of `size` bytes: 0 for 0, else `1 + ceil(log2(size))`
/// (bucket `i >= 1` holds the sizes in `(2^(i-2), 2^(i-1)]`).
#[inline]
fn bucket_of(size: usize) -> usize {
    if size == 0 {
        0
    } else {
        let bits = (usize::BITS - (size - 1).leading_zeros()) as usize;
        (bits + 1).min(BUCKETS - 1)
    }
}

/// The smallest and largest size of bucket `i` (`i < BUCKETS`).
fn bucket_bounds(i: usize) -> (usize, usize) {
    match i {
        0 => (0, 0),
        1 => (1, 1),
        _ => {
            let hi = 1usize << (i - 1);
            (hi / 2 + 1, hi)
        }
    }
}

/// Allocation statistics as a [`ProxyLogger`]: the counts of [`Counters`](crate::Counters)
/// (allocations, deallocations, reallocations, failures, bytes live, peak bytes) and a
/// **histogram of request sizes** in power-of-two buckets, with a
/// [`summary`](Self::summary) that prints as a small report.
///
/// It is only a logger: an allocator without a [`Proxy`](crate::Proxy), or a proxy with
/// [`NoLog`](crate::NoLog), pays nothing for it; a `Proxy<A, Stats>` pays four relaxed
/// atomic additions per operation. Atomics make it `Sync` and usable in a `static`
/// (`Stats::new` is `const`), so one `Stats` can watch a global allocator or be shared by
/// proxies on several threads (through `&Stats` or an `Arc`). Each count is exact; a
/// summary taken while other threads allocate need not be consistent across counts.
///
/// The histogram counts every request, successful or not: each allocation (its size) and
/// each reallocation (its new size). So its total is `allocations + reallocations +
/// failures`.
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Stats};
/// use alloc_core::{Allocator, Heap};
///
/// let alloc = Heap.proxy(Stats::new());
/// let a = alloc.allocate([0u8; 24]).unwrap();
/// let b = alloc.allocate([0u8; 100]).unwrap();
/// let c = alloc.allocate_str("hi").unwrap();
/// drop(b);
///
/// let summary = alloc.logger().summary();
/// assert_eq!(summary.counts.allocations, 3);
/// assert_eq!(summary.counts.bytes_live, 26);
/// assert_eq!(summary.counts.peak_bytes, 126);
/// // (lowest size, highest size, requests) of each non-empty bucket.
/// let sizes: Vec<_> = summary.sizes().collect();
/// assert_eq!(sizes, [(2, 2, 1), (17, 32, 1), (65, 128, 1)]);
/// println!("{summary}");
/// # drop((a, c));
/// ```
///
/// prints
///
/// ```text
/// allocations 3, deallocations 1, reallocations 0, failures 0
/// bytes live 26, peak 126
/// request sizes (bytes: requests):
///          2 ..          2: 1 ########################################
///         17 ..         32: 1 ########################################
///         65 ..        128: 1 ########################################
/// ```
#[derive(Debug)]
pub struct Stats {
    allocations: AtomicUsize,
    deallocations: AtomicUsize,
    reallocations: AtomicUsize,
    failures: AtomicUsize,
    bytes_live: AtomicUsize,
    peak_bytes: AtomicUsize,
    /// Requests per size bucket (see [`bucket_of`]).
    histogram: [AtomicUsize; BUCKETS],
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Everything at zero (usable in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Stats};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// static STATS: Stats = Stats::new();
    /// let alloc = Heap.proxy(&STATS);
    /// drop(alloc.allocate(1u64).unwrap());
    /// assert_eq!(STATS.summary().counts.deallocations, 1);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            allocations: AtomicUsize::new(0),
            deallocations: AtomicUsize::new(0),
            reallocations: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
            bytes_live: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            histogram: [const { AtomicUsize::new(0) }; BUCKETS],
        }
    }

    /// A snapshot of the counts and the histogram.
    ///
    /// # Examples
    ///
    /// One `Stats` shared by reference, read while the proxy is in use (more in the
    /// [type's docs](Self)):
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Stats};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let stats = Stats::new();
    /// let alloc = Heap.proxy(&stats);
    /// let a = alloc.allocate(1u64).unwrap();
    /// assert_eq!((stats.summary().counts.allocations, stats.summary().counts.bytes_live), (1, 8));
    /// drop(a);
    /// assert_eq!(stats.summary().counts.bytes_live, 0);
    /// ```
    #[must_use]
    pub fn summary(&self) -> StatsSummary {
        StatsSummary {
            counts: Counts {
                allocations: self.allocations.load(Relaxed),
                deallocations: self.deallocations.load(Relaxed),
                reallocations: self.reallocations.load(Relaxed),
                failures: self.failures.load(Relaxed),
                bytes_live: self.bytes_live.load(Relaxed),
                peak_bytes: self.peak_bytes.load(Relaxed),
            },
            histogram: core::array::from_fn(|i| self.histogram[i].load(Relaxed)),
        }
    }

    /// Sets the counts and the histogram to zero and the peak to the bytes live now (which
    /// stay: those blocks are still allocated).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Stats};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(Stats::new());
    /// let _kept = alloc.allocate(1u32).unwrap();
    /// drop(alloc.allocate([0u8; 64]).unwrap());
    /// alloc.logger().reset();
    /// let s = alloc.logger().summary();
    /// assert_eq!((s.counts.allocations, s.counts.bytes_live, s.counts.peak_bytes), (0, 4, 4));
    /// assert_eq!(s.sizes().count(), 0);
    /// ```
    pub fn reset(&self) {
        for count in [
            &self.allocations,
            &self.deallocations,
            &self.reallocations,
            &self.failures,
        ] {
            count.store(0, Relaxed);
        }
        for bucket in &self.histogram {
            bucket.store(0, Relaxed);
        }
        self.peak_bytes
            .store(self.bytes_live.load(Relaxed), Relaxed);
    }
}

impl ProxyLogger for Stats {
    #[inline]
    fn log(&self, event: &Event) {
        let (count, requested, added, removed) = match *event {
            Event::Allocated { block, .. } => (&self.allocations, block.size(), block.size(), 0),
            Event::Deallocated { block } => {
                self.deallocations.fetch_add(1, Relaxed);
                self.bytes_live.fetch_sub(block.size(), Relaxed);
                return;
            }
            Event::Reallocated { old, new } => {
                (&self.reallocations, new.size(), new.size(), old.size())
            }
            Event::AllocationFailed { layout, .. } => (&self.failures, layout.size(), 0, 0),
            Event::ReallocationFailed { new_layout, .. } => {
                (&self.failures, new_layout.size(), 0, 0)
            }
        };
        count.fetch_add(1, Relaxed);
        self.histogram[bucket_of(requested)].fetch_add(1, Relaxed);
        if added > removed {
            let grow = added - removed;
            let live = self.bytes_live.fetch_add(grow, Relaxed).wrapping_add(grow);
            self.peak_bytes.fetch_max(live, Relaxed);
        } else if removed > added {
            self.bytes_live.fetch_sub(removed - added, Relaxed);
        }
    }
}

/// Prints the [summary](Stats::summary).
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.summary().fmt(f)
    }
}

/// A snapshot of a [`Stats`]: the counts and the histogram of request sizes. Its
/// `Display` is a short report (see [`Stats`]).
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Stats};
/// use alloc_core::{Allocator, Heap};
///
/// let alloc = Heap.proxy(Stats::new());
/// let _v = alloc.allocate([0u16; 5]).unwrap();
/// let summary = alloc.logger().summary();
/// assert_eq!(summary.counts.bytes_live, 10);
/// assert!(summary.to_string().contains("9 ..         16: 1"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatsSummary {
    /// The counts, as [`Counters`](crate::Counters) counts them.
    pub counts: Counts,
    /// Requests per size bucket: index 0 counts size 0, index `i >= 1` the sizes in
    /// `(2^(i-2), 2^(i-1)]` (1, 2, 3–4, 5–8, 9–16, …). See [`sizes`](Self::sizes).
    pub histogram: [usize; BUCKETS],
}

impl StatsSummary {
    /// The non-empty buckets of the histogram, smallest sizes first, as (lowest size,
    /// highest size, requests).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{AllocatorExt, Stats};
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Heap.proxy(Stats::new());
    /// let a = alloc.allocate([0u8; 3]).unwrap();
    /// let b = alloc.allocate([0u8; 4]).unwrap();
    /// let c = alloc.allocate([0u8; 100]).unwrap();
    /// let sizes: Vec<_> = alloc.logger().summary().sizes().collect();
    /// assert_eq!(sizes, [(3, 4, 2), (65, 128, 1)]);
    /// # drop((a, b, c));
    /// ```
    pub fn sizes(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.histogram
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| {
                let (lo, hi) = bucket_bounds(i);
                (lo, hi, n)
            })
    }
}

impl fmt::Display for StatsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const BAR: usize = 40;
        let c = &self.counts;
        writeln!(
            f,
            "allocations {}, deallocations {}, reallocations {}, failures {}",
            c.allocations, c.deallocations, c.reallocations, c.failures
        )?;
        writeln!(f, "bytes live {}, peak {}", c.bytes_live, c.peak_bytes)?;
        f.write_str("request sizes (bytes: requests):")?;
        let most = self.histogram.iter().copied().max().unwrap_or(0).max(1);
        for (lo, hi, n) in self.sizes() {
            // At least one mark for a non-empty bucket; `n <= most`, so at most `BAR`.
            let marks = (n.saturating_mul(BAR) / most).max(1);
            write!(f, "\n{lo:>10} ..{hi:>11}: {n} ")?;
            for _ in 0..marks {
                f.write_str("#")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{BUCKETS, bucket_bounds, bucket_of};

    #[test]
    fn every_size_falls_in_the_bucket_whose_bounds_hold_it() {
        let check = |size: usize| {
            let i = bucket_of(size);
            assert!(i < BUCKETS);
            let (lo, hi) = bucket_bounds(i);
            assert!(
                lo <= size && size <= hi,
                "size {size} in bucket {i} = {lo}..={hi}"
            );
        };
        (0..=1100).for_each(check);
        for shift in 10..63 {
            let p = 1usize << shift;
            [p - 1, p, p + 1].into_iter().for_each(check);
        }
        check(isize::MAX as usize);
        // Buckets tile the sizes without gaps.
        for i in 1..BUCKETS {
            assert_eq!(bucket_bounds(i).0, bucket_bounds(i - 1).1 + 1, "bucket {i}");
        }
    }
}
