//! The multi-threaded workloads of the `larson`, `xmalloc` and `memory_threads` suites,
//! generic over a `Subject` ([`crate::threaded::Subject`]). Inputs are generated up front
//! (`test_rng::Rng`, fixed seeds): the timed loops only read them.
//!
//! - [`Larson`] (after larson, "server-like"): each thread holds an array of blocks of
//!   random sizes and replaces random ones (free, then allocate a new size); after each
//!   round the arrays move on to the next thread, so a share of the frees (reported by
//!   [`Larson::cross_thread_share`]) are of blocks another thread allocated.
//! - [`Xmalloc`] (after xmalloc-test): producer threads allocate batches of blocks and hand
//!   them to their consumer thread, which frees them: every free is a cross-thread free.

use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use test_rng::Rng;

use crate::threaded::Subject;

/// A block handed between threads.
struct SendPtr(NonNull<u8>);

// SAFETY: a block is plain memory owned by whoever holds the pointer; every subject accepts
// frees from any thread (`Subject`'s contract), and only one thread holds a given block.
unsafe impl Send for SendPtr {}

/// Rounds of pre-generated operations per thread; round `r` uses input `r % INPUT_ROUNDS`.
const INPUT_ROUNDS: usize = 16;

/// Alignment of every request (as `malloc` gives).
const ALIGN: usize = 8;

/// Inlined: a call per request (this crate is not the benchmark's) was 10 % of the
/// one-thread larson-like time, harness time that diluted every ratio towards 1.
#[inline]
fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, ALIGN).unwrap()
}

/// Writes the first and last byte of a fresh block, as a program would (and so that the
/// memory suite sees its pages resident).
#[inline]
fn touch(p: NonNull<u8>, size: usize) {
    // SAFETY: `p` is a fresh block of at least `size >= 1` bytes.
    unsafe {
        p.as_ptr().write_volatile(1);
        p.as_ptr().add(size - 1).write_volatile(2);
    }
}

/// The larson-like workload: `threads` threads, each holding `slots` blocks of sizes in
/// `min..=max`, each round replacing `per_round` random slots, then passing its array to
/// the next thread.
///
/// ```
/// use allocators_benches::threaded::Global;
/// use allocators_benches::workloads::Larson;
///
/// let larson = Larson::new(2, 64, 64, 8, 64);
/// assert!(larson.cross_thread_share() > 0.3);
/// let time = larson.run(&Global(std::alloc::System), 3);
/// assert!(time.as_nanos() > 0);
/// ```
#[derive(Debug)]
pub struct Larson {
    threads: usize,
    max: usize,
    /// `initial[t]`: the sizes of thread `t`'s array at the start.
    initial: Vec<Vec<u32>>,
    /// `rounds[t][k]`: `(slot, new size)` of thread `t`'s round `k` (mod `INPUT_ROUNDS`).
    rounds: Vec<Vec<Vec<(u32, u32)>>>,
}

impl Larson {
    /// The inputs: per thread, the initial sizes and 16 (`INPUT_ROUNDS`) rounds of
    /// replacements, from a fixed seed.
    ///
    /// # Panics
    ///
    /// If `threads`, `slots` or `min` is zero, or `min > max`.
    ///
    /// (Example: [`Larson`].)
    #[must_use]
    pub fn new(threads: usize, slots: usize, per_round: usize, min: usize, max: usize) -> Self {
        assert!(
            threads > 0 && slots > 0 && min > 0 && min <= max,
            "bad larson shape"
        );
        let mut rng = Rng::new(4141);
        let size = |rng: &mut Rng| rng.range(min..max + 1) as u32;
        let initial = (0..threads)
            .map(|_| (0..slots).map(|_| size(&mut rng)).collect())
            .collect();
        let rounds = (0..threads)
            .map(|_| {
                (0..INPUT_ROUNDS)
                    .map(|_| {
                        (0..per_round)
                            .map(|_| (rng.below(slots) as u32, size(&mut rng)))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Self {
            threads,
            max,
            initial,
            rounds,
        }
    }

    /// Replacements per round, over all threads (the `Throughput` of one round).
    ///
    /// ```
    /// let larson = allocators_benches::workloads::Larson::new(2, 64, 100, 8, 64);
    /// assert_eq!(larson.ops_per_round(), 200);
    /// ```
    #[must_use]
    pub fn ops_per_round(&self) -> usize {
        self.rounds.iter().map(|r| r[0].len()).sum()
    }

    /// The largest request.
    ///
    /// ```
    /// let larson = allocators_benches::workloads::Larson::new(2, 64, 100, 8, 64);
    /// assert_eq!(larson.max_size(), 64);
    /// ```
    #[must_use]
    pub fn max_size(&self) -> usize {
        self.max
    }

    /// The most blocks live at once (every slot of every thread).
    ///
    /// ```
    /// let larson = allocators_benches::workloads::Larson::new(2, 64, 100, 8, 64);
    /// assert_eq!(larson.live(), 128);
    /// ```
    #[must_use]
    pub fn live(&self) -> usize {
        self.initial.iter().map(Vec::len).sum()
    }

    /// The share of frees, over 16 (`INPUT_ROUNDS`) rounds, of a block that another thread
    /// allocated: computed from the inputs by replaying who holds which array.
    ///
    /// ```
    /// use allocators_benches::workloads::Larson;
    /// assert_eq!(Larson::new(1, 64, 64, 8, 64).cross_thread_share(), 0.0);
    /// ```
    #[must_use]
    pub fn cross_thread_share(&self) -> f64 {
        let t = self.threads;
        // owner[a][i]: the thread that allocated slot `i` of array `a` (array `a` starts
        // with thread `a`; in round `r` thread `h` holds array `(h + t - r % t) % t`).
        let mut owner: Vec<Vec<usize>> = (0..t).map(|a| vec![a; self.initial[a].len()]).collect();
        let (mut frees, mut cross) = (0usize, 0usize);
        for r in 0..INPUT_ROUNDS {
            for (h, rounds) in self.rounds.iter().enumerate() {
                let a = (h + t - r % t) % t;
                for &(slot, _) in &rounds[r] {
                    frees += 1;
                    cross += usize::from(owner[a][slot as usize] != h);
                    owner[a][slot as usize] = h;
                }
            }
        }
        cross as f64 / frees.max(1) as f64
    }

    /// Runs `rounds` rounds on `subject`; returns the wall time of the slowest thread from
    /// a common start (thread start-up, the initial fill and the final frees excluded).
    ///
    /// (Example: [`Larson`].)
    ///
    /// # Panics
    ///
    /// If a thread panics (the subject refused a request).
    pub fn run<S: Subject>(&self, subject: &S, rounds: u64) -> Duration {
        let t = self.threads;
        let barrier = Barrier::new(t);
        // Thread `h` sends its array to thread `h + 1`.
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..t)
            .map(|_| sync_channel::<Vec<(SendPtr, u32)>>(1))
            .unzip();
        std::thread::scope(|s| {
            let handles: Vec<_> = receivers
                .into_iter()
                .enumerate()
                .map(|(h, rx)| {
                    let tx = senders[(h + 1) % t].clone();
                    let (barrier, initial, ops) = (&barrier, &self.initial[h], &self.rounds[h]);
                    s.spawn(move || {
                        let mut array: Vec<(SendPtr, u32)> = initial
                            .iter()
                            .map(|&size| {
                                let p = subject.alloc(layout(size as usize));
                                touch(p, size as usize);
                                (SendPtr(p), size)
                            })
                            .collect();
                        barrier.wait();
                        let start = Instant::now();
                        for r in 0..rounds {
                            for &(slot, size) in &ops[r as usize % INPUT_ROUNDS] {
                                let entry = &mut array[slot as usize];
                                // SAFETY: a live block of `subject` with this size, replaced
                                // below (each slot holds one live block).
                                unsafe {
                                    subject.free(black_box(entry.0.0), layout(entry.1 as usize));
                                }
                                let p = black_box(subject.alloc(layout(size as usize)));
                                touch(p, size as usize);
                                *entry = (SendPtr(p), size);
                            }
                            tx.send(array).unwrap();
                            array = rx.recv().unwrap();
                        }
                        let elapsed = start.elapsed();
                        for (p, size) in array {
                            // SAFETY: every slot holds one live block with its size.
                            unsafe { subject.free(p.0, layout(size as usize)) };
                        }
                        elapsed
                    })
                })
                .collect();
            drop(senders);
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap_or_default()
        })
    }
}

/// Blocks per batch of [`Xmalloc`].
pub const BATCH: usize = 256;
/// Batches in flight per producer/consumer pair.
const IN_FLIGHT: usize = 4;

/// Where the threads of an [`Xmalloc`] run.
///
/// With more threads than cores, where the scheduler puts a pair decides what an
/// allocator costs: blocks that stay on one core stay in its cache. `Together` and
/// `Apart` pin the threads (Linux only) so that both cases are measured on purpose.
///
/// ```
/// use allocators_benches::workloads::{Placement, Xmalloc};
///
/// // `None` where it cannot be done: off Linux, or apart on a single CPU.
/// if let Some(apart) = Xmalloc::new(1, 8, 256).placed(Placement::Apart) {
///     assert_eq!(apart.threads(), 2);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Wherever the operating system puts them.
    Free,
    /// Both threads of pair `p` pinned to the `p`-th CPU the process may use (modulo
    /// their number).
    Together,
    /// Pair `p`'s producer pinned to the `p`-th CPU, its consumer to the next one.
    Apart,
}

/// The producer/consumer workload: `pairs` producer threads allocate batches of
/// [`BATCH`] blocks (sizes in `min..=max`) and send them to their consumer thread, which
/// frees them; at most `IN_FLIGHT` (4) batches per pair are in flight.
///
/// ```
/// use allocators_benches::threaded::Global;
/// use allocators_benches::workloads::Xmalloc;
///
/// let xmalloc = Xmalloc::new(1, 8, 256);
/// assert_eq!(xmalloc.threads(), 2);
/// assert!(xmalloc.run(&Global(std::alloc::System), 10).as_nanos() > 0);
/// ```
#[derive(Debug)]
pub struct Xmalloc {
    /// `sizes[p]`: the sizes producer `p` allocates, batch after batch (cyclic).
    sizes: Vec<Vec<u32>>,
    /// `cpus[p]`: the CPUs of pair `p`'s producer and consumer, when pinned.
    cpus: Vec<Option<(usize, usize)>>,
}

impl Xmalloc {
    /// The inputs of `pairs` producer/consumer pairs, from a fixed seed.
    ///
    /// # Panics
    ///
    /// If `pairs` or `min` is zero, or `min > max`.
    ///
    /// (Example: [`Xmalloc`].)
    #[must_use]
    pub fn new(pairs: usize, min: usize, max: usize) -> Self {
        assert!(pairs > 0 && min > 0 && min <= max, "bad xmalloc shape");
        let mut rng = Rng::new(7070);
        let sizes = (0..pairs)
            .map(|_| {
                (0..BATCH * INPUT_ROUNDS)
                    .map(|_| rng.range(min..max + 1) as u32)
                    .collect()
            })
            .collect();
        Self {
            cpus: vec![None; pairs],
            sizes,
        }
    }

    /// The same workload with its threads placed by `placement`; `None` if it cannot be
    /// done here (not Linux, or `Apart` with a single CPU).
    ///
    /// ```
    /// use allocators_benches::threaded::Global;
    /// use allocators_benches::workloads::{Placement, Xmalloc};
    ///
    /// assert!(Xmalloc::new(2, 8, 256).placed(Placement::Free).is_some());
    /// if let Some(together) = Xmalloc::new(2, 8, 256).placed(Placement::Together) {
    ///     assert!(together.run(&Global(std::alloc::System), 4).as_nanos() > 0);
    /// }
    /// ```
    #[must_use]
    pub fn placed(mut self, placement: Placement) -> Option<Self> {
        if placement == Placement::Free {
            self.cpus.fill(None);
            return Some(self);
        }
        let cpus = pinning::allowed_cpus();
        if cpus.is_empty() || (placement == Placement::Apart && cpus.len() < 2) {
            return None;
        }
        for (p, pair) in self.cpus.iter_mut().enumerate() {
            let producer = cpus[p % cpus.len()];
            let consumer = match placement {
                Placement::Apart => cpus[(p + 1) % cpus.len()],
                _ => producer,
            };
            *pair = Some((producer, consumer));
        }
        Some(self)
    }

    /// Threads: a producer and a consumer per pair.
    ///
    /// (Example: [`Xmalloc`].)
    #[must_use]
    pub fn threads(&self) -> usize {
        2 * self.sizes.len()
    }

    /// Blocks allocated and freed per batch round, over all pairs (the `Throughput` of one
    /// batch round).
    ///
    /// ```
    /// let x = allocators_benches::workloads::Xmalloc::new(2, 8, 256);
    /// assert_eq!(x.ops_per_batch(), 512);
    /// ```
    #[must_use]
    pub fn ops_per_batch(&self) -> usize {
        BATCH * self.sizes.len()
    }

    /// The most blocks live at once.
    ///
    /// ```
    /// let x = allocators_benches::workloads::Xmalloc::new(1, 8, 256);
    /// assert!(x.live() >= 256);
    /// ```
    #[must_use]
    pub fn live(&self) -> usize {
        // In flight, plus one being filled and one being emptied per pair.
        (IN_FLIGHT + 2) * self.ops_per_batch()
    }

    /// Each producer sends `batches` batches; returns the wall time of the slowest thread
    /// from a common start.
    ///
    /// (Example: [`Xmalloc`].)
    ///
    /// # Panics
    ///
    /// If a thread panics (the subject refused a request).
    pub fn run<S: Subject>(&self, subject: &S, batches: u64) -> Duration {
        let barrier = Barrier::new(self.threads());
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            for (sizes, &cpus) in self.sizes.iter().zip(&self.cpus) {
                let (full_tx, full_rx) = sync_channel::<Vec<SendPtr>>(IN_FLIGHT);
                let (empty_tx, empty_rx) = sync_channel::<Vec<SendPtr>>(IN_FLIGHT);
                for _ in 0..IN_FLIGHT {
                    empty_tx.send(Vec::with_capacity(BATCH)).unwrap();
                }
                let barrier = &barrier;
                handles.push(s.spawn(move || {
                    if let Some((cpu, _)) = cpus {
                        pinning::pin(cpu);
                    }
                    barrier.wait();
                    let start = Instant::now();
                    let mut next = 0;
                    for _ in 0..batches {
                        let mut batch = empty_rx.recv().unwrap();
                        for _ in 0..BATCH {
                            let size = sizes[next] as usize;
                            next = (next + 1) % sizes.len();
                            let p = black_box(subject.alloc(layout(size)));
                            touch(p, size);
                            batch.push(SendPtr(p));
                        }
                        full_tx.send(batch).unwrap();
                    }
                    start.elapsed()
                }));
                handles.push(s.spawn(move || {
                    if let Some((_, cpu)) = cpus {
                        pinning::pin(cpu);
                    }
                    barrier.wait();
                    let start = Instant::now();
                    let mut next = 0;
                    for _ in 0..batches {
                        let mut batch = full_rx.recv().unwrap();
                        for p in batch.drain(..) {
                            let size = sizes[next] as usize;
                            next = (next + 1) % sizes.len();
                            // SAFETY: allocated by the producer with this size (the consumer
                            // walks the same cyclic size list in the same order), freed once.
                            unsafe { subject.free(black_box(p.0), layout(size)) };
                        }
                        // The producer may be done: a closed channel is fine.
                        let _ = empty_tx.send(batch);
                    }
                    start.elapsed()
                }));
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap_or_default()
        })
    }
}

/// Pinning the calling thread to a CPU (Linux), for [`Placement`].
mod pinning {
    /// The CPUs the process may run on, in order; empty where unknown (not Linux).
    #[cfg(target_os = "linux")]
    pub(super) fn allowed_cpus() -> Vec<usize> {
        // SAFETY: a `cpu_set_t` is plain data; all zeros is the empty set.
        let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
        // SAFETY: `set` is a `cpu_set_t` of the size passed; pid 0 is the calling thread.
        let ok = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &raw mut set) };
        if ok != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `cpu < CPU_SETSIZE`, the set's size.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect()
    }

    /// As above: no pinning off Linux.
    #[cfg(not(target_os = "linux"))]
    pub(super) fn allowed_cpus() -> Vec<usize> {
        Vec::new()
    }

    /// Pins the calling thread to `cpu` (one of [`allowed_cpus`]).
    ///
    /// # Panics
    ///
    /// If the system refuses.
    #[cfg(target_os = "linux")]
    pub(super) fn pin(cpu: usize) {
        // SAFETY: as in `allowed_cpus`.
        let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
        // SAFETY: `cpu` is below `CPU_SETSIZE` (it came from `allowed_cpus`).
        unsafe { libc::CPU_SET(cpu, &mut set) };
        // SAFETY: `set` is a `cpu_set_t` of the size passed; pid 0 is the calling thread.
        let ok =
            unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set) };
        assert_eq!(ok, 0, "sched_setaffinity refused CPU {cpu}");
    }

    /// As above: never called off Linux (`allowed_cpus` is empty there).
    #[cfg(not(target_os = "linux"))]
    pub(super) fn pin(_cpu: usize) {
        unreachable!("no pinning off Linux");
    }
}

/// A subject that measures another: the peak of the requested bytes live, and for peers
/// (see [`Subject::usable_size`]) the peak of their usable bytes live. Atomic counters:
/// for the memory suite, not for timing.
///
/// ```
/// use allocators_benches::threaded::{Global, Subject};
/// use allocators_benches::workloads::Metered;
/// use std::alloc::Layout;
///
/// let m = Metered::new(Global(std::alloc::System));
/// let layout = Layout::from_size_align(24, 8).unwrap();
/// let p = m.alloc(layout);
/// // SAFETY: allocated just above with `layout`.
/// unsafe { m.free(p, layout) };
/// assert_eq!(m.peak_requested(), 24);
/// ```
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    requested: AtomicUsize,
    peak_requested: AtomicUsize,
    usable: AtomicUsize,
    peak_usable: AtomicUsize,
}

impl<S: Subject> Metered<S> {
    /// Wraps `inner`, all counts at zero.
    ///
    /// (Example: [`Metered`].)
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            requested: AtomicUsize::new(0),
            peak_requested: AtomicUsize::new(0),
            usable: AtomicUsize::new(0),
            peak_usable: AtomicUsize::new(0),
        }
    }

    /// The peak of the requested bytes live.
    ///
    /// (Example: [`Metered`].)
    pub fn peak_requested(&self) -> usize {
        self.peak_requested.load(Relaxed)
    }

    /// The peak of the usable bytes live, for a peer (`None` for ours).
    ///
    /// ```
    /// use allocators_benches::threaded::{Ours, Subject};
    /// use allocators_benches::workloads::Metered;
    ///
    /// let m = Metered::new(Ours(alloc_freelist::SyncFreeList::new(64, 1).unwrap()));
    /// assert_eq!(m.peak_usable(), None);
    /// ```
    pub fn peak_usable(&self) -> Option<usize> {
        let probe = Layout::new::<u64>();
        let p = self.inner.alloc(probe);
        // SAFETY: `p` is live, allocated just above with `probe`.
        let peer = unsafe { self.inner.usable_size(p, probe) }.is_some();
        // SAFETY: allocated just above with `probe`, freed once.
        unsafe { self.inner.free(p, probe) };
        peer.then(|| self.peak_usable.load(Relaxed))
    }
}

impl<S: Subject> Subject for Metered<S> {
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        let p = self.inner.alloc(layout);
        let now = self.requested.fetch_add(layout.size(), Relaxed) + layout.size();
        self.peak_requested.fetch_max(now, Relaxed);
        // SAFETY: `p` was just allocated by `inner` with `layout`.
        if let Some(u) = unsafe { self.inner.usable_size(p, layout) } {
            let now = self.usable.fetch_add(u, Relaxed) + u;
            self.peak_usable.fetch_max(now, Relaxed);
        }
        p
    }

    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: live in `inner` with `layout` until the call below (caller).
        if let Some(u) = unsafe { self.inner.usable_size(ptr, layout) } {
            self.usable.fetch_sub(u, Relaxed);
        }
        self.requested.fetch_sub(layout.size(), Relaxed);
        // SAFETY: forwarded (caller's contract).
        unsafe { self.inner.free(ptr, layout) }
    }
}
