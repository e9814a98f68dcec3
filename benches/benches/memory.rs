//! The memory suite (not timed): bytes handed out versus bytes taken from the parent, for
//! each allocator on the same workloads. Prints a markdown table and writes it to
//! `<target dir>/bench-memory.md`, where `cargo xtask bench` picks it up.
//!
//! "Handed out" is the peak of the bytes the workload had requested and not yet freed (the
//! same number for every allocator). "Taken" is the peak of what the allocator held to serve
//! them:
//!
//! - our pools and chains: the peak bytes their parent handed them, counted by a
//!   `Proxy<System, Counters>` parent (regions, chunks, and what a `Segregator` or
//!   `Fallback` passes on to the parent);
//! - `Scoped`: the peak of the bytes used of its buffer (padding and blocks freed out of
//!   order included; its capacity is the caller's choice, not counted);
//! - bumpalo and bump-scope: the peak total size of their chunks (a bump allocator keeps
//!   every chunk until a reset);
//! - `System` and mimalloc: the peak sum of the usable sizes of the live blocks
//!   (`malloc_usable_size`, `mi_usable_size`): the rounding to size classes, without the
//!   allocators' headers and page-level metadata, which they do not report per block. They
//!   grow with `realloc`: a move inside it is not seen.
//!
//! Workloads: `fixed_64B_x1024` (1,024 blocks of 64 bytes, then freed), `mixed_8_256B` (the
//! small-object workload of `small_objects.rs`: 200,000 operations, at most 1,000 live),
//! `fixed_16B_x100k` (100,000 blocks of 16 bytes) and `vec_u64_to_100k` (a vector grown by
//! doubling to 100,000 `u64`s through `grow`; handed out counts the
//! grown block only, so an allocator that moves it shows the old block as overhead).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::fmt::Write as _;
use std::ptr::NonNull;

use alloc_compose::{AllocatorExt, AllocatorList, Bucketizer, Counters, Proxy};
use alloc_freelist::{FreeList, SyncFreeList};
use alloc_scoped::Scoped;
use allocator_api2_02::alloc::{AllocError, Allocator as Api2Allocator};
use allocators::{Allocator, AllocatorError, Api2, Block};
use test_rng::Rng;

/// The counting parent of our allocators.
type Parent = Proxy<System, Counters>;

unsafe extern "C" {
    /// glibc: the usable size of a block of `malloc`. Unsafe: `ptr` must be a live block
    /// of `malloc` (or null).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
    /// mimalloc: the usable size of one of its blocks (linked in by the `mimalloc` crate).
    /// Unsafe: `ptr` must be a live block of mimalloc (or null).
    fn mi_usable_size(ptr: *const c_void) -> usize;
}

/// `System`'s usable size of a block, where the platform tells (else the requested size).
///
/// # Safety
///
/// `block` is a live block of `System`.
unsafe fn system_usable(block: &Block) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: a live block of `System`, which is glibc's `malloc` here (caller).
        unsafe { malloc_usable_size(block.as_ptr().cast()) }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        block.size()
    }
}

/// mimalloc's usable size of a block.
///
/// # Safety
///
/// `block` is a live block of mimalloc.
unsafe fn mimalloc_usable(block: &Block) -> usize {
    // SAFETY: a live block of mimalloc (caller).
    unsafe { mi_usable_size(block.as_ptr().cast_const().cast()) }
}

/// An allocator that tracks the peak sum of the usable sizes of its live blocks.
///
/// `usable` is only called on live, non-empty blocks of `inner` (its safety condition).
struct Usable<A> {
    inner: A,
    usable: unsafe fn(&Block) -> usize,
    live: Cell<usize>,
    peak: Cell<usize>,
}

impl<A> Usable<A> {
    /// # Safety
    ///
    /// `usable` may be called on any live, non-empty block of `inner`.
    unsafe fn new(inner: A, usable: unsafe fn(&Block) -> usize) -> Self {
        Self {
            inner,
            usable,
            live: Cell::new(0),
            peak: Cell::new(0),
        }
    }
}

// SAFETY: forwards every call to `inner` unchanged; only counts.
unsafe impl<A: Allocator> Allocator for Usable<A> {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = self.inner.allocate_raw(layout)?;
        if !block.is_empty() {
            // SAFETY: `block` was just allocated by `inner`.
            self.live
                .set(self.live.get() + unsafe { (self.usable)(&block) });
            self.peak.set(self.peak.get().max(self.live.get()));
        }
        Ok(block)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if !block.is_empty() {
            // SAFETY: `block` is live in `inner` until the call below (caller's contract).
            self.live
                .set(self.live.get() - unsafe { (self.usable)(&block) });
        }
        // SAFETY: forwarded (the caller's contract).
        unsafe { self.inner.deallocate_raw(block) }
    }

    /// Forwarded, so that `System` reallocates with `realloc` (in place where it can).
    unsafe fn reallocate_raw(&self, block: Block, layout: Layout) -> Result<Block, AllocatorError> {
        let old = if block.is_empty() {
            0
        } else {
            // SAFETY: `block` is live in `inner` (caller's contract).
            unsafe { (self.usable)(&block) }
        };
        // SAFETY: forwarded (the caller's contract).
        let new = unsafe { self.inner.reallocate_raw(block, layout) }?;
        let new_usable = if new.is_empty() {
            0
        } else {
            // SAFETY: `new` was just returned by `inner`.
            unsafe { (self.usable)(&new) }
        };
        self.live.set(self.live.get() - old + new_usable);
        self.peak.set(self.peak.get().max(self.live.get()));
        Ok(new)
    }
}

/// An allocator-api2 allocator whose `probe` (bytes it holds) is sampled after every
/// allocation and growth: the peak of a bump allocator's use.
struct Probed<'a, A> {
    inner: A,
    probe: &'a dyn Fn() -> usize,
    peak: Cell<usize>,
}

impl<A> Probed<'_, A> {
    fn sample(&self) {
        self.peak.set(self.peak.get().max((self.probe)()));
    }
}

// SAFETY: forwards every call to `inner` unchanged; only samples the probe.
unsafe impl<A: Api2Allocator> Api2Allocator for Probed<'_, A> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = self.inner.allocate(layout);
        self.sample();
        block
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded (the caller's contract).
        unsafe { self.inner.deallocate(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded (the caller's contract).
        let block = unsafe { self.inner.grow(ptr, old, new) };
        self.sample();
        block
    }
}

/// Runs `workload` on `alloc` and returns `(handed out, peak of probe)`.
fn probed<A: Api2Allocator>(
    alloc: A,
    probe: &dyn Fn() -> usize,
    workload: Workload,
) -> (usize, usize) {
    let probed = Probed {
        inner: alloc,
        probe,
        peak: Cell::new(0),
    };
    let handed_out = workload(&probed);
    (handed_out, probed.peak.get())
}

/// A workload: runs on any allocator-api2 0.2 allocator and returns the peak of the
/// requested bytes that were live at once.
type Workload = fn(&dyn Api2Allocator) -> usize;

/// Tracks the live requested bytes of a workload.
#[derive(Default)]
struct Live {
    now: usize,
    peak: usize,
}

impl Live {
    fn add(&mut self, n: usize) {
        self.now += n;
        self.peak = self.peak.max(self.now);
    }
}

fn fixed(alloc: &dyn Api2Allocator, size: usize, count: usize) -> usize {
    let layout = Layout::from_size_align(size, 8).unwrap();
    let mut live = Live::default();
    let blocks: Vec<NonNull<u8>> = (0..count)
        .map(|_| {
            live.add(size);
            alloc.allocate(layout).unwrap().cast()
        })
        .collect();
    for p in blocks {
        // SAFETY: allocated above with `layout`, freed once.
        unsafe { alloc.deallocate(p, layout) };
    }
    live.peak
}

fn fixed_64(alloc: &dyn Api2Allocator) -> usize {
    fixed(alloc, 64, 1024)
}

fn fixed_16(alloc: &dyn Api2Allocator) -> usize {
    fixed(alloc, 16, 100_000)
}

/// The operations of `small_objects.rs`: sizes 8 to 256, at most 1,000 live.
fn mixed(alloc: &dyn Api2Allocator) -> usize {
    let mut rng = Rng::new(7);
    let mut blocks: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(1000);
    let mut live = Live::default();
    for _ in 0..200_000 {
        let r = rng.next_u64();
        if blocks.is_empty() || (blocks.len() < 1000 && r & 1 == 0) {
            let size = 8 + (r >> 8) as usize % (256 - 8 + 1);
            let layout = Layout::from_size_align(size, 8).unwrap();
            live.add(size);
            blocks.push((alloc.allocate(layout).unwrap().cast(), layout));
        } else {
            let (p, layout) = blocks.swap_remove((r >> 1) as usize % blocks.len());
            live.now -= layout.size();
            // SAFETY: a live block with its layout, freed once.
            unsafe { alloc.deallocate(p, layout) };
        }
    }
    for (p, layout) in blocks {
        // SAFETY: as above.
        unsafe { alloc.deallocate(p, layout) };
    }
    live.peak
}

fn vec_growth(alloc: &dyn Api2Allocator) -> usize {
    let mut layout = Layout::array::<u64>(4).unwrap();
    let mut p: NonNull<u8> = alloc.allocate(layout).unwrap().cast();
    let mut live = Live::default();
    live.add(layout.size());
    while layout.size() < 100_000 * 8 {
        let new = Layout::array::<u64>(layout.size() / 8 * 2).unwrap();
        // Handed out: the grown block replaces the old one (an allocator that moves it
        // holds both for a moment: that is its overhead).
        live.now -= layout.size();
        live.add(new.size());
        // SAFETY: `p` is live with `layout`; `new` is larger.
        p = unsafe { alloc.grow(p, layout, new) }.unwrap().cast();
        layout = new;
    }
    // SAFETY: live with `layout`.
    unsafe { alloc.deallocate(p, layout) };
    live.peak
}

/// One row: the allocator's name and, per workload, `(handed out, taken)` or `None` where
/// the allocator does not apply.
type Row = (&'static str, Vec<Option<(usize, usize)>>);

const WORKLOADS: [(&str, Workload); 4] = [
    ("fixed_64B_x1024", fixed_64),
    ("mixed_8_256B", mixed),
    ("fixed_16B_x100k", fixed_16),
    ("vec_u64_to_100k", vec_growth),
];

/// Runs each workload on a fresh allocator from `make` (given a fresh counting parent);
/// `make` returns `None` where the allocator does not apply.
fn ours<F>(name: &'static str, make: F) -> Row
where
    F: Fn(usize, &Parent) -> Option<Box<dyn Api2Allocator + '_>>,
{
    let cells = (0..WORKLOADS.len())
        .map(|w| {
            let parent = System.proxy(Counters::new());
            let alloc = make(w, &parent)?;
            let handed_out = (WORKLOADS[w].1)(&*alloc);
            drop(alloc);
            Some((handed_out, parent.logger().counts().peak_bytes))
        })
        .collect();
    (name, cells)
}

/// # Safety
///
/// `f` may be called on any live, non-empty block of the allocators `inner` returns.
unsafe fn usable<A: Allocator>(
    name: &'static str,
    inner: fn() -> A,
    f: unsafe fn(&Block) -> usize,
) -> Row {
    let cells = WORKLOADS
        .iter()
        .map(|(_, workload)| {
            // SAFETY: `f` fits `inner`'s blocks (caller).
            let alloc = Api2(unsafe { Usable::new(inner(), f) });
            let handed_out = workload(&alloc);
            Some((handed_out, alloc.0.peak.get()))
        })
        .collect();
    (name, cells)
}

/// A boxed allocator-api2 allocator.
fn boxed<'a, A: Api2Allocator + 'a>(alloc: A) -> Box<dyn Api2Allocator + 'a> {
    Box::new(alloc)
}

fn rows() -> Vec<Row> {
    /// Blocks per class of the fixed-capacity small-object allocator.
    const PER_CLASS: usize = 1024;
    vec![
        // SAFETY: `system_usable` reads blocks of `System`, `mimalloc_usable` of mimalloc.
        unsafe { usable("System", || System, system_usable) },
        // SAFETY: as above.
        unsafe { usable("mimalloc", || allocators_benches::Mimalloc, mimalloc_usable) },
        ours("FreeList (64 B blocks)", |w, p| {
            (w == 0).then(|| boxed(Api2(FreeList::new_in(64, 1024, p).unwrap())))
        }),
        ours("FreeList (16 B blocks)", |w, p| {
            (w == 2).then(|| boxed(Api2(FreeList::new_in(16, 100_000, p).unwrap())))
        }),
        ours("FreeList (256 B blocks)", |w, p| {
            (w == 1).then(|| boxed(Api2(FreeList::new_in(256, 1000, p).unwrap())))
        }),
        ours("SyncFreeList (64 B blocks)", |w, p| {
            (w == 0).then(|| boxed(Api2(SyncFreeList::new_in(64, 1024, p).unwrap())))
        }),
        ours("Fallback<FreeList(64 B x 512), parent>", |w, p| {
            (w == 0).then(|| {
                let list = FreeList::new_in(64, 512, p).unwrap();
                boxed(Api2(list.with_fallback(p)))
            })
        }),
        ours(
            "Segregator<Bucketizer<FreeList>> (1,024 per class)",
            |w, p| {
                (w <= 1).then(|| {
                    let small = Bucketizer::<_, 5>::powers_of_two(16, |size| {
                        FreeList::new_in(size, PER_CLASS, p)
                    })
                    .unwrap()
                    .segregate::<256, _>(p);
                    boxed(Api2(small))
                })
            },
        ),
        ours("Segregator<Bucketizer<AllocatorList<FreeList>>>", |_, p| {
            let small = Bucketizer::<_, 5>::powers_of_two(16, |size| {
                Ok(AllocatorList::new_in(
                    move || FreeList::new_in(size, 256, p),
                    p,
                ))
            })
            .unwrap()
            .segregate::<256, _>(p);
            Some(boxed(Api2(small)))
        }),
        scoped(),
        bumps("bumpalo", |w| {
            let bump = bumpalo::Bump::new();
            probed(&bump, &|| bump.allocated_bytes(), WORKLOADS[w].1)
        }),
        bumps("bump-scope", |w| {
            let bump: bump_scope::Bump = bump_scope::Bump::new();
            probed(&bump, &|| bump.stats().size(), WORKLOADS[w].1)
        }),
    ]
}

fn scoped() -> Row {
    let cells = WORKLOADS
        .iter()
        .map(|(_, workload)| {
            let scoped = Scoped::new(64 << 20).unwrap();
            Some(probed(&scoped, &|| scoped.used(), *workload))
        })
        .collect();
    ("Scoped", cells)
}

fn bumps(name: &'static str, run: fn(usize) -> (usize, usize)) -> Row {
    (name, (0..WORKLOADS.len()).map(|w| Some(run(w))).collect())
}

fn bytes(n: usize) -> String {
    if n >= 10 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else if n >= 10 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "### Memory: bytes taken per byte handed out (peak; lower is better, 1.00 is no overhead)\n\n| allocator |",
    );
    for (name, _) in WORKLOADS {
        let _ = write!(out, " {name} |");
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(WORKLOADS.len()));
    out.push('\n');
    for (name, cells) in rows {
        let _ = write!(out, "| {name} |");
        for cell in cells {
            match cell {
                Some((handed_out, taken)) => {
                    let ratio = *taken as f64 / (*handed_out).max(1) as f64;
                    let _ = write!(out, " {ratio:.2} ({}) |", bytes(*taken));
                }
                None => out.push_str(" n/a |"),
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nHanded out (the same for every allocator): {}.",
        WORKLOADS
            .iter()
            .enumerate()
            .map(|(w, (name, _))| {
                let handed_out = rows
                    .iter()
                    .find_map(|(_, cells)| cells[w].map(|c| c.0))
                    .unwrap_or(0);
                format!("{name} {}", bytes(handed_out))
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

/// `<target dir>` from this binary's path (`<target>/<profile>/deps/memory-<hash>`).
fn target_dir() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

fn main() {
    // `cargo bench` passes criterion's options and `--bench`; none applies here. Under
    // `cargo test --benches` (`--test` mode), one run is the test.
    let rows = rows();
    let table = table(&rows);
    println!("{table}");
    if let Some(dir) = target_dir() {
        let path = dir.join("bench-memory.md");
        if let Err(e) = std::fs::write(&path, &table) {
            eprintln!("memory: cannot write {}: {e}", path.display());
        } else {
            println!("written to {}", path.display());
        }
    }
}
