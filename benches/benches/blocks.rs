//! Issue 17's building blocks against their peers, in one run:
//!
//! 1. `tlsf_random/{1MiB,64MiB}`: pre-generated random allocate/free of 8–4,096 bytes over
//!    a fixed arena: `Tlsf` against talc, rlsf, linked_list_allocator and
//!    buddy_system_allocator (all given the same arena).
//! 2. `tlsf_realloc`: a live set of 200 blocks reallocated to 0.5–2x their size, at
//!    random (peers without an in-place path allocate, copy and free).
//! 3. Fragmentation (printed, not timed): in a 1 MiB arena, allocate random sizes until
//!    the first failure, record the live bytes, free a random half, forty rounds: the mean
//!    live set that still fitted.
//! 4. `quantizer_vec`: 500 byte buffers grown by 1–64 bytes at a time with
//!    `reserve_exact`, on `Heap` and on `Tlsf`, with and without a `Quantizer`; the
//!    reallocations that reached the inner allocator are printed.
//! 5. `wrapper_cost`: 64-byte allocate/free pairs on `Tlsf`, through `Affix<_, u64>` and
//!    through `Quantizer` (the work they exist for is the header write and the rounding).
//! 6. `bitmapped_single`: random allocate/free of one 64-byte block, `Bitmapped` against
//!    `FreeList`; `bitmapped_runs`: runs of 1–16 blocks, `Bitmapped` against `Tlsf`.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;

use alloc_compose::{Affix, AllocatorExt, Bitmapped, Counters, Quantizer};
use alloc_freelist::FreeList;
use alloc_tlsf::Tlsf;
use allocator_api2_02::vec::Vec as AVec;
use allocators::{Allocator, Block, Heap};
use criterion::{Criterion, Throughput, criterion_group};
use test_rng::Rng;

/// A fixed arena from the system heap, page-aligned.
struct Arena {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Arena {
    fn new(bytes: usize) -> Self {
        let layout = Layout::from_size_align(bytes, 4096).unwrap();
        // SAFETY: a non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc(layout) }).unwrap();
        // Touched once, so that no contender pays the first page faults for the others.
        // SAFETY: the block is valid for `bytes` bytes.
        unsafe { ptr.as_ptr().write_bytes(0, bytes) };
        Self { ptr, layout }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// What each heap under test provides.
trait TestHeap {
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>>;
    /// # Safety
    ///
    /// `p` came from this heap with `l`.
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout);
    /// # Safety
    ///
    /// `p` came from this heap with `old`.
    unsafe fn realloc(&mut self, p: NonNull<u8>, old: Layout, new: Layout) -> Option<NonNull<u8>> {
        let q = self.alloc(new)?;
        // SAFETY: both blocks are live and distinct.
        unsafe {
            std::ptr::copy_nonoverlapping(p.as_ptr(), q.as_ptr(), old.size().min(new.size()));
            self.free(p, old);
        }
        Some(q)
    }
}

/// Any `Allocator` of ours.
struct Ours<A>(A);
impl<A: Allocator> TestHeap for Ours<A> {
    #[inline]
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        self.0.allocate_raw(l).ok().map(|b| b.ptr())
    }
    // The block is rebuilt with the unchecked constructor: the peers' free and realloc
    // take a pointer and a layout with no check either (the same API level).
    #[inline]
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: forwarded; the requested layout fits the block, which exists (so its
        // size is far below `Block::MAX_SIZE`).
        unsafe { self.0.deallocate_raw(Block::from_raw_parts_unchecked(p, l)) }
    }
    #[inline]
    unsafe fn realloc(&mut self, p: NonNull<u8>, old: Layout, new: Layout) -> Option<NonNull<u8>> {
        // SAFETY: as in `free`.
        unsafe {
            self.0
                .reallocate_raw(Block::from_raw_parts_unchecked(p, old), new)
        }
        .ok()
        .map(|b| b.ptr())
    }
}

fn ours(arena: &Arena) -> Ours<Tlsf> {
    let heap = Tlsf::new();
    // SAFETY: the arena outlives the heap (both live for one benchmark) and only it uses it.
    assert!(unsafe { heap.add_region(arena.ptr, arena.layout.size()) });
    Ours(heap)
}

struct TalcHeap(talc::base::Talc<talc::source::Manual, talc::DefaultBinning>);
impl TestHeap for TalcHeap {
    #[inline]
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        // SAFETY: a non-zero layout.
        unsafe { self.0.allocate(l) }
    }
    #[inline]
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.deallocate(p.as_ptr(), l) }
    }
    #[inline]
    unsafe fn realloc(&mut self, p: NonNull<u8>, old: Layout, new: Layout) -> Option<NonNull<u8>> {
        // SAFETY: forwarded; same alignment in this benchmark.
        if unsafe { self.0.try_realloc_in_place(p.as_ptr(), old, new.size()) } {
            return Some(p);
        }
        let q = self.alloc(new)?;
        // SAFETY: both live and distinct.
        unsafe {
            std::ptr::copy_nonoverlapping(p.as_ptr(), q.as_ptr(), old.size().min(new.size()));
            self.free(p, old);
        }
        Some(q)
    }
}

fn talc(arena: &Arena) -> TalcHeap {
    let mut t = talc::base::Talc::new(talc::source::Manual);
    // SAFETY: the arena is valid and only the heap uses it while it lives.
    unsafe { t.claim(arena.ptr.as_ptr(), arena.layout.size()) }.unwrap();
    TalcHeap(t)
}

struct RlsfHeap(rlsf::Tlsf<'static, u32, u16, 28, 16>);
impl TestHeap for RlsfHeap {
    #[inline]
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        self.0.allocate(l)
    }
    #[inline]
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.deallocate(p, l.align()) }
    }
    #[inline]
    unsafe fn realloc(&mut self, p: NonNull<u8>, _old: Layout, new: Layout) -> Option<NonNull<u8>> {
        // SAFETY: forwarded.
        unsafe { self.0.reallocate(p, new) }
    }
}

fn rlsf(arena: &Arena) -> RlsfHeap {
    let mut t = rlsf::Tlsf::new();
    let block = NonNull::slice_from_raw_parts(arena.ptr, arena.layout.size());
    // SAFETY: the arena is valid and only the heap uses it while it lives.
    unsafe { t.insert_free_block_ptr(block) }.unwrap();
    RlsfHeap(t)
}

struct Lla(linked_list_allocator::Heap);
impl TestHeap for Lla {
    #[inline]
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        self.0.allocate_first_fit(l).ok()
    }
    #[inline]
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.deallocate(p, l) }
    }
}

fn lla(arena: &Arena) -> Lla {
    // SAFETY: the arena is valid and only the heap uses it while it lives.
    Lla(unsafe { linked_list_allocator::Heap::new(arena.ptr.as_ptr(), arena.layout.size()) })
}

struct Buddy(buddy_system_allocator::Heap<32>);
impl TestHeap for Buddy {
    #[inline]
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        self.0.alloc(l).ok()
    }
    #[inline]
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.dealloc(p, l) }
    }
}

fn buddy(arena: &Arena) -> Buddy {
    let mut h = buddy_system_allocator::Heap::<32>::new();
    // SAFETY: the arena is valid and only the heap uses it while it lives.
    unsafe { h.init(arena.ptr.as_ptr() as usize, arena.layout.size()) };
    Buddy(h)
}

/// One random operation: allocate `size` bytes, or free the live block at `index % live`.
#[derive(Clone, Copy)]
enum Op {
    Alloc(usize),
    Free(usize),
}

fn random_ops(n: usize, max_live: usize, seed: u64) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    let mut live = 0;
    (0..n)
        .map(|_| {
            if live < max_live && (live == 0 || rng.below(2) == 0) {
                live += 1;
                Op::Alloc(rng.range(8..4097))
            } else {
                live -= 1;
                Op::Free(rng.below(usize::MAX))
            }
        })
        .collect()
}

/// Runs `ops`, then frees what is left; returns the number of failed allocations.
fn run<H: TestHeap>(h: &mut H, ops: &[Op], live: &mut Vec<(NonNull<u8>, Layout)>) -> usize {
    let mut failed = 0;
    for op in ops {
        match *op {
            Op::Alloc(size) => {
                let l = Layout::from_size_align(size, 8).unwrap();
                match h.alloc(l) {
                    Some(p) => live.push((p, l)),
                    None => failed += 1,
                }
            }
            Op::Free(i) if !live.is_empty() => {
                let (p, l) = live.swap_remove(i % live.len());
                // SAFETY: allocated by `h` with `l`.
                unsafe { h.free(black_box(p), l) };
            }
            Op::Free(_) => {}
        }
    }
    for (p, l) in live.drain(..) {
        // SAFETY: allocated by `h` with `l`.
        unsafe { h.free(p, l) };
    }
    failed
}

fn tlsf_random(c: &mut Criterion) {
    for (name, bytes, max_live) in [("1MiB", 1usize << 20, 200), ("64MiB", 64 << 20, 10_000)] {
        let ops = random_ops(100_000, max_live, 17);
        let mut g = c.benchmark_group(format!("tlsf_random/{name}"));
        g.throughput(Throughput::Elements(ops.len() as u64));
        let arena = Arena::new(bytes);
        let mut live = Vec::with_capacity(max_live + 1);
        let mut f = |label: &'static str, mut h: Box<dyn TestHeapDyn>| {
            g.bench_function(label, |b| {
                b.iter(|| black_box(h.run(black_box(&ops), &mut live)))
            });
        };
        f("Tlsf", Box::new(ours(&arena)));
        f("talc", Box::new(talc(&arena)));
        f("rlsf", Box::new(rlsf(&arena)));
        f("linked_list_allocator", Box::new(lla(&arena)));
        f("buddy_system_allocator", Box::new(buddy(&arena)));
        g.finish();
    }
}

/// Object-safe runner (the heaps differ in type).
trait TestHeapDyn {
    fn run(&mut self, ops: &[Op], live: &mut Vec<(NonNull<u8>, Layout)>) -> usize;
    fn realloc_churn(&mut self, sizes: &[(usize, usize)]) -> usize;
    fn fragmentation(&mut self, seed: u64) -> f64;
}

impl<H: TestHeap> TestHeapDyn for H {
    fn run(&mut self, ops: &[Op], live: &mut Vec<(NonNull<u8>, Layout)>) -> usize {
        run(self, ops, live)
    }

    /// `sizes`: (index, new size) pairs over a live set of 200 blocks.
    fn realloc_churn(&mut self, sizes: &[(usize, usize)]) -> usize {
        let mut live: Vec<(NonNull<u8>, Layout)> = (0..200)
            .map(|_| {
                let l = Layout::from_size_align(64, 8).unwrap();
                (self.alloc(l).unwrap(), l)
            })
            .collect();
        let mut failed = 0;
        for &(i, size) in sizes {
            let (p, old) = live[i];
            let new = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: `p` is live in this heap with `old`.
            match unsafe { self.realloc(black_box(p), old, new) } {
                Some(q) => live[i] = (q, new),
                None => failed += 1,
            }
        }
        for (p, l) in live {
            // SAFETY: live in this heap.
            unsafe { self.free(p, l) };
        }
        failed
    }

    fn fragmentation(&mut self, seed: u64) -> f64 {
        let mut rng = Rng::new(seed);
        let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
        let mut bytes = 0usize;
        let mut samples = Vec::new();
        for round in 0..40 {
            loop {
                let l = Layout::from_size_align(rng.range(8..4097), 8).unwrap();
                match self.alloc(l) {
                    Some(p) => {
                        bytes += l.size();
                        live.push((p, l));
                    }
                    None => break,
                }
            }
            if round >= 10 {
                samples.push(bytes as f64);
            }
            rng.shuffle(&mut live);
            for (p, l) in live.drain(live.len() / 2..) {
                bytes -= l.size();
                // SAFETY: live in this heap.
                unsafe { self.free(p, l) };
            }
        }
        for (p, l) in live {
            // SAFETY: live in this heap.
            unsafe { self.free(p, l) };
        }
        samples.iter().sum::<f64>() / samples.len() as f64
    }
}

/// The realloc workload: (index, new size) pairs over a live set of 200 blocks.
fn realloc_sizes() -> Vec<(usize, usize)> {
    let mut rng = Rng::new(99);
    let mut cur = vec![64usize; 200];
    (0..20_000)
        .map(|_| {
            let i = rng.below(200);
            let f = rng.range(50..201);
            cur[i] = (cur[i] * f / 100).clamp(8, 8192);
            (i, cur[i])
        })
        .collect()
}

fn tlsf_realloc(c: &mut Criterion) {
    let sizes = realloc_sizes();
    let arena = Arena::new(16 << 20);
    let mut g = c.benchmark_group("tlsf_realloc");
    g.throughput(Throughput::Elements(sizes.len() as u64));
    let mut f = |label: &'static str, mut h: Box<dyn TestHeapDyn>| {
        g.bench_function(label, |b| {
            b.iter(|| black_box(h.realloc_churn(black_box(&sizes))))
        });
    };
    f("Tlsf", Box::new(ours(&arena)));
    f("talc", Box::new(talc(&arena)));
    f("rlsf", Box::new(rlsf(&arena)));
    f("linked_list_allocator", Box::new(lla(&arena)));
    f("buddy_system_allocator", Box::new(buddy(&arena)));
    g.finish();
}

/// The goal ratios, robust to a busy machine: each contender runs each workload once per
/// round, interleaved, 40 rounds; the best time of each is kept and compared.
fn interleaved(_c: &mut Criterion) {
    use std::time::{Duration, Instant};
    let small = random_ops(100_000, 200, 17);
    let large = random_ops(100_000, 10_000, 17);
    let sizes = realloc_sizes();
    type Make = fn(&Arena) -> Box<dyn TestHeapDyn>;
    let makers: [(&str, Make); 3] = [
        ("Tlsf", |a| Box::new(ours(a))),
        ("talc", |a| Box::new(talc(a))),
        ("rlsf", |a| Box::new(rlsf(a))),
    ];
    // Each contender its own arenas (a heap keeps its metadata in its arena).
    let arenas: Vec<[Arena; 3]> = makers
        .iter()
        .map(|_| {
            [
                Arena::new(1 << 20),
                Arena::new(64 << 20),
                Arena::new(16 << 20),
            ]
        })
        .collect();
    let mut heaps: Vec<[Box<dyn TestHeapDyn>; 3]> = makers
        .iter()
        .zip(&arenas)
        .map(|((_, m), a)| [m(&a[0]), m(&a[1]), m(&a[2])])
        .collect();
    let mut best = [[Duration::MAX; 3]; 3];
    let mut live = Vec::with_capacity(10_001);
    for _ in 0..40 {
        for (k, h) in heaps.iter_mut().enumerate() {
            let t = Instant::now();
            black_box(h[0].run(&small, &mut live));
            best[k][0] = best[k][0].min(t.elapsed());
            let t = Instant::now();
            black_box(h[1].run(&large, &mut live));
            best[k][1] = best[k][1].min(t.elapsed());
            let t = Instant::now();
            black_box(h[2].realloc_churn(&sizes));
            best[k][2] = best[k][2].min(t.elapsed());
        }
    }
    for (w, name) in ["random/1MiB", "random/64MiB", "realloc/16MiB"]
        .iter()
        .enumerate()
    {
        let t = |k: usize| best[k][w].as_secs_f64();
        println!(
            "goal/{name}: best of 40 interleaved: Tlsf {:.2} ms, talc {:.2} ms, rlsf {:.2} ms; Tlsf/talc {:.2}x, Tlsf/rlsf {:.2}x",
            t(0) * 1e3,
            t(1) * 1e3,
            t(2) * 1e3,
            t(0) / t(1),
            t(0) / t(2)
        );
    }
}

fn fragmentation(_c: &mut Criterion) {
    let arena = Arena::new(1 << 20);
    let report = |label: &str, mut h: Box<dyn TestHeapDyn>| {
        let mean: f64 = (0..5).map(|s| h.fragmentation(1000 + s)).sum::<f64>() / 5.0;
        println!(
            "fragmentation/1MiB/{label}: mean live set at first failure {:.0} bytes ({:.1} % of the arena)",
            mean,
            mean / (1 << 20) as f64 * 100.0
        );
    };
    report("Tlsf", Box::new(ours(&arena)));
    report("talc", Box::new(talc(&arena)));
    report("rlsf", Box::new(rlsf(&arena)));
    report("linked_list_allocator", Box::new(lla(&arena)));
    report("buddy_system_allocator", Box::new(buddy(&arena)));
}

/// 500 buffers grown by 1–64 bytes at a time with `reserve_exact`, to about 4 KiB each.
fn grow_buffers<A: allocator_api2_02::alloc::Allocator + Copy>(alloc: A, steps: &[usize]) -> usize {
    let mut total = 0;
    for chunk in steps.chunks(128) {
        let mut v: AVec<u8, A> = AVec::new_in(alloc);
        for &n in chunk {
            v.reserve_exact(n);
            v.extend(std::iter::repeat_n(n as u8, n));
        }
        total += black_box(&v).len();
    }
    total
}

fn quantizer_vec(c: &mut Criterion) {
    let mut rng = Rng::new(5);
    let steps: Vec<usize> = (0..500 * 128).map(|_| rng.range(1..65)).collect();
    // The reallocations that reached the inner allocator, once, outside the timing.
    let counted = Heap.proxy(Counters::new());
    grow_buffers(&counted, &steps);
    let plain = counted.logger().counts().reallocations;
    let counted = Heap.proxy(Counters::new());
    grow_buffers(Quantizer::new(&counted), &steps);
    let quantized = counted.logger().counts().reallocations;
    println!(
        "quantizer_vec: reallocations reaching the heap: {plain} without, {quantized} with a Quantizer (PowerOfTwo)"
    );

    let mut g = c.benchmark_group("quantizer_vec");
    g.throughput(Throughput::Elements(steps.len() as u64));
    g.bench_function("Heap", |b| b.iter(|| grow_buffers(Heap, black_box(&steps))));
    let q = Quantizer::new(Heap);
    g.bench_function("Quantizer<Heap>", |b| {
        b.iter(|| grow_buffers(q, black_box(&steps)))
    });
    let tlsf = Tlsf::new_in(Heap, 1 << 20).unwrap();
    g.bench_function("Tlsf", |b| {
        b.iter(|| grow_buffers(&tlsf, black_box(&steps)))
    });
    let qt = Quantizer::new(&tlsf);
    g.bench_function("Quantizer<Tlsf>", |b| {
        b.iter(|| grow_buffers(qt, black_box(&steps)))
    });
    g.finish();
}

fn wrapper_cost(c: &mut Criterion) {
    const N: usize = 1000;
    let l = Layout::from_size_align(64, 8).unwrap();
    let mut g = c.benchmark_group("wrapper_cost");
    g.throughput(Throughput::Elements(N as u64));
    fn pairs<A: Allocator>(a: &A, l: Layout, live: &mut Vec<Block>) {
        for _ in 0..N {
            live.push(a.allocate_raw(black_box(l)).unwrap());
        }
        for b in live.drain(..) {
            // SAFETY: allocated by `a`.
            unsafe { a.deallocate_raw(b) };
        }
    }
    let tlsf = Tlsf::new_in(Heap, 1 << 20).unwrap();
    let mut live = Vec::with_capacity(N);
    g.bench_function("Tlsf", |b| b.iter(|| pairs(&tlsf, l, &mut live)));
    let affix = Affix::<_, u64>::new(&tlsf);
    g.bench_function("Affix<Tlsf, u64>", |b| {
        b.iter(|| pairs(&affix, l, &mut live))
    });
    let q = Quantizer::new(&tlsf);
    g.bench_function("Quantizer<Tlsf>", |b| b.iter(|| pairs(&q, l, &mut live)));
    g.finish();
}

fn bitmapped(c: &mut Criterion) {
    let ops = random_ops(100_000, 1000, 23);
    let single: Vec<Op> = ops
        .iter()
        .map(|op| match *op {
            Op::Alloc(_) => Op::Alloc(64),
            f => f,
        })
        .collect();
    let mut g = c.benchmark_group("bitmapped_single");
    g.throughput(Throughput::Elements(single.len() as u64));
    let mut live = Vec::with_capacity(1001);
    let mut bm = Ours(Bitmapped::new(64, 4096).unwrap());
    g.bench_function("Bitmapped", |b| {
        b.iter(|| run(&mut bm, black_box(&single), &mut live))
    });
    let mut fl = Ours(FreeList::new(64, 4096).unwrap());
    g.bench_function("FreeList", |b| {
        b.iter(|| run(&mut fl, black_box(&single), &mut live))
    });
    g.finish();

    let runs: Vec<Op> = ops
        .iter()
        .map(|op| match *op {
            Op::Alloc(s) => Op::Alloc(64 * (1 + s % 16)),
            f => f,
        })
        .collect();
    let mut g = c.benchmark_group("bitmapped_runs");
    g.throughput(Throughput::Elements(runs.len() as u64));
    let mut bm = Ours(Bitmapped::new(64, 1 << 16).unwrap());
    g.bench_function("Bitmapped", |b| {
        b.iter(|| run(&mut bm, black_box(&runs), &mut live))
    });
    let arena = Arena::new(64 << 16);
    let mut t = ours(&arena);
    g.bench_function("Tlsf", |b| {
        b.iter(|| run(&mut t, black_box(&runs), &mut live))
    });
    g.finish();
}

criterion_group!(
    benches,
    interleaved,
    fragmentation,
    tlsf_random,
    tlsf_realloc,
    quantizer_vec,
    wrapper_cost,
    bitmapped
);

/// `BLOCKS_COUNT=<heap>/<workload>` (heap: `Tlsf`, `talc`, `rlsf`; workload: `random1`,
/// `random64`, `realloc`) runs that workload once on that heap and exits, for
/// `valgrind --tool=callgrind`: instruction counts are repeatable on a busy machine, and
/// `callgrind_annotate --inclusive=yes` shows them per function (`blocks::count_*`).
fn main() {
    if let Ok(what) = std::env::var("BLOCKS_COUNT") {
        count(&what);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn count(what: &str) {
    let (heap, workload) = what
        .split_once('/')
        .expect("BLOCKS_COUNT=<heap>/<workload>");
    let bytes = match workload {
        "random1" => 1 << 20,
        "random64" => 64 << 20,
        "realloc" => 16 << 20,
        _ => panic!("unknown workload {workload}"),
    };
    let arena = Arena::new(bytes);
    let mut h: Box<dyn TestHeapDyn> = match heap {
        "Tlsf" => Box::new(ours(&arena)),
        "talc" => Box::new(talc(&arena)),
        "rlsf" => Box::new(rlsf(&arena)),
        _ => panic!("unknown heap {heap}"),
    };
    let n = if workload == "realloc" {
        let sizes = realloc_sizes();
        count_realloc(&mut *h, &sizes);
        sizes.len()
    } else {
        let max_live = if workload == "random1" { 200 } else { 10_000 };
        let ops = random_ops(100_000, max_live, 17);
        let mut live = Vec::with_capacity(max_live + 1);
        count_random(&mut *h, &ops, &mut live);
        ops.len()
    };
    println!("{heap}/{workload}: {n} operations");
}

#[inline(never)]
fn count_random(h: &mut dyn TestHeapDyn, ops: &[Op], live: &mut Vec<(NonNull<u8>, Layout)>) {
    black_box(h.run(black_box(ops), live));
}

#[inline(never)]
fn count_realloc(h: &mut dyn TestHeapDyn, sizes: &[(usize, usize)]) {
    black_box(h.realloc_churn(black_box(sizes)));
}
