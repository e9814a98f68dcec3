//! The memory suite of the thread workloads (not timed): per workload and subject, the
//! peak bytes the allocator held and the peak growth of the process's resident memory.
//! Prints a markdown table and writes it to `<target dir>/bench-memory-threads.md`, where
//! `cargo xtask bench` picks it up.
//!
//! Each (workload, subject) runs in a **child process of its own** (this binary run again
//! with `--child WORKLOAD SUBJECT`), so that no other run's memory is resident or cached
//! in an allocator. In the child, after the inputs are built and the subject constructed:
//!
//! - "requested": the peak of the bytes the workload had live (the same for every subject);
//! - "held": for ours, the peak of the bytes taken from their parent, a counting wrapper of
//!   `System` whose peak is reset to its live bytes when the subject's turn starts
//!   (regions reserved up front included); for the peers (System, mimalloc, jemalloc), the
//!   peak sum of the usable sizes of the live blocks (their size-class rounding, without
//!   headers, page metadata or retained free pages, which they do not report per block);
//! - "RSS": the peak resident set (`VmHWM` of `/proc/self/status`, reset through
//!   `/proc/self/clear_refs` when the run starts) minus the resident set at that moment.
//!   It counts everything, for every subject alike: metadata, fragmentation, pages kept
//!   after frees, thread stacks.
//!
//! Workloads: the larson-like workload of `larson.rs` (sizes 8-64 B and 8-4,096 B, 2 and 4
//! threads, 200 rounds) and the producer/consumer workload of `xmalloc.rs` (one and two
//! pairs, 2,000 batches).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use allocators::{Allocator, AllocatorError, Block};
use allocators_benches::threaded::{Shape, Subject, Visit, for_each_subject};
use allocators_benches::workloads::{Larson, Metered, Xmalloc};

/// A workload and how long it runs.
enum Work {
    Larson(Larson, u64),
    Xmalloc(Xmalloc, u64),
}

impl Work {
    fn shape(&self) -> Shape {
        match self {
            Self::Larson(l, _) => Shape {
                max_size: l.max_size(),
                live: l.live(),
            },
            Self::Xmalloc(x, _) => Shape {
                max_size: 256,
                live: x.live(),
            },
        }
    }

    fn run<S: Subject>(&self, subject: &S) {
        match self {
            Self::Larson(l, rounds) => drop(l.run(subject, *rounds)),
            Self::Xmalloc(x, batches) => drop(x.run(subject, *batches)),
        }
    }
}

const WORKLOADS: [&str; 6] = [
    "larson_8_64B_2t",
    "larson_8_64B_4t",
    "larson_8_4096B_2t",
    "larson_8_4096B_4t",
    "xmalloc_8_256B_2t",
    "xmalloc_8_256B_4t",
];

fn work(name: &str) -> Work {
    const SLOTS: usize = 4096;
    match name {
        "larson_8_64B_2t" => Work::Larson(Larson::new(2, SLOTS, SLOTS, 8, 64), 200),
        "larson_8_64B_4t" => Work::Larson(Larson::new(4, SLOTS, SLOTS, 8, 64), 200),
        "larson_8_4096B_2t" => Work::Larson(Larson::new(2, SLOTS, SLOTS, 8, 4096), 200),
        "larson_8_4096B_4t" => Work::Larson(Larson::new(4, SLOTS, SLOTS, 8, 4096), 200),
        "xmalloc_8_256B_2t" => Work::Xmalloc(Xmalloc::new(1, 8, 256), 2000),
        "xmalloc_8_256B_4t" => Work::Xmalloc(Xmalloc::new(2, 8, 256), 2000),
        other => panic!("memory_threads: no workload `{other}`"),
    }
}

/// The counting parent of our allocators: `System`, with live and peak bytes.
struct Counted {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl Counted {
    fn reset_peak(&self) {
        self.peak.store(self.live.load(Relaxed), Relaxed);
    }
}

// SAFETY: every block comes from `System` and goes back to it; only counts.
unsafe impl Allocator for Counted {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = System.allocate_raw(layout)?;
        let now = self.live.fetch_add(block.size(), Relaxed) + block.size();
        self.peak.fetch_max(now, Relaxed);
        Ok(block)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.fetch_sub(block.size(), Relaxed);
        // SAFETY: a block of `System` (the caller's contract: allocated here).
        unsafe { System.deallocate_raw(block) }
    }
}

/// A line of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`); 0 where there is none.
fn status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The child's visitor: runs the workload on subject number `index` only.
struct Child<'a> {
    index: usize,
    seen: usize,
    work: &'a Work,
    parent: &'a Counted,
}

impl Visit for Child<'_> {
    fn visit<S: Subject>(&mut self, name: &str, subject: &S) {
        if uncounted(name) {
            return;
        }
        self.seen += 1;
        if self.seen - 1 != self.index {
            return;
        }
        self.parent.reset_peak();
        // "5": reset the peak resident set to the current one (Linux 4.0 and later).
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let rss_before = status_bytes("VmRSS");
        let metered = Metered::new(subject);
        self.work.run(&metered);
        let rss = status_bytes("VmHWM").saturating_sub(rss_before);
        let held = subject
            .held()
            .or_else(|| metered.peak_usable())
            .unwrap_or_else(|| self.parent.peak.load(Relaxed));
        let rss = if reset { rss.to_string() } else { "-".into() };
        println!(
            "RESULT\t{name}\t{}\t{held}\t{rss}",
            metered.peak_requested()
        );
    }
}

/// Collects the names of the subjects.
struct Names(Vec<String>);

/// Subjects without a countable parent that do not report what they hold (they take memory
/// from `System` themselves): their "held" would read 0, so they are left out of this table
/// rather than shown wrongly. `GeneralPurpose` itself reports its chunks.
fn uncounted(name: &str) -> bool {
    name.starts_with("GlobalAllocator<GeneralPurpose")
}

impl Visit for Names {
    fn visit<S: Subject>(&mut self, name: &str, _: &S) {
        if uncounted(name) {
            return;
        }
        self.0.push(name.into());
    }
}

/// One result: subject, requested, held, RSS growth (None where it cannot be measured).
type Cell = (String, usize, usize, Option<usize>);

fn child(workload: &str, index: usize) {
    let work = work(workload);
    let parent = Counted {
        live: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    };
    let mut visitor = Child {
        index,
        seen: 0,
        work: &work,
        parent: &parent,
    };
    for_each_subject(&parent, work.shape(), &mut visitor);
}

fn run_child(workload: &str, index: usize) -> Result<Cell, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["--child", workload, &index.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT\t"))
        .ok_or_else(|| {
            format!(
                "{workload} #{index}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let f: Vec<&str> = line.split('\t').collect();
    let num = |s: &str| s.parse::<usize>().map_err(|e| format!("{line}: {e}"));
    Ok((f[0].to_string(), num(f[1])?, num(f[2])?, num(f[3]).ok()))
}

fn mib(n: usize) -> String {
    format!("{:.2} MiB", n as f64 / f64::from(1 << 20))
}

fn table(results: &[(&str, Vec<Cell>)]) -> String {
    let mut out = String::from(
        "### Memory of the thread workloads: peak bytes held and peak RSS growth (one child process per cell; lower is better)\n\n\
         | workload | allocator | requested | held | held × requested | held × mimalloc | RSS growth | RSS × mimalloc |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (workload, cells) in results {
        let mimalloc = cells.iter().find(|c| c.0 == "mimalloc");
        for (name, requested, held, rss) in cells {
            let ratio = |a: usize, b: Option<usize>| {
                b.filter(|&b| b > 0)
                    .map_or_else(|| "–".into(), |b| format!("{:.2}", a as f64 / b as f64))
            };
            let _ = writeln!(
                out,
                "| {workload} | {name} | {} | {} | {} | {} | {} | {} |",
                mib(*requested),
                mib(*held),
                ratio(*held, Some(*requested)),
                ratio(*held, mimalloc.map(|m| m.2)),
                rss.map_or_else(|| "–".into(), mib),
                rss.map_or_else(|| "–".into(), |r| ratio(r, mimalloc.and_then(|m| m.3))),
            );
        }
    }
    out.push_str(
        "\nHeld: ours, the peak taken from their counting parent (regions reserved up front \
         included), or for `GeneralPurpose` the chunks it took from `System`; the peers, the peak sum of their blocks' usable sizes (size-class rounding \
         only). RSS growth counts everything, for every allocator alike.\n",
    );
    out
}

/// `<target dir>` from this binary's path (`<target>/<profile>/deps/memory_threads-<hash>`).
fn target_dir() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let index = args[i + 2].parse().expect("a subject number");
        child(&args[i + 1], index);
        return;
    }
    // `cargo bench` passes criterion's options and `--bench`; none applies here. A
    // workload name given on the command line runs only the workloads that contain it.
    let filter: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let mut results = Vec::new();
    for workload in WORKLOADS {
        if !filter.is_empty() && !filter.iter().any(|f| workload.contains(f.as_str())) {
            continue;
        }
        let mut names = Names(Vec::new());
        for_each_subject(System, work(workload).shape(), &mut names);
        let mut cells = Vec::new();
        for (index, name) in names.0.iter().enumerate() {
            match run_child(workload, index) {
                Ok(cell) => cells.push(cell),
                Err(e) => eprintln!("memory_threads: {name}: {e}"),
            }
        }
        results.push((workload, cells));
    }
    let table = table(&results);
    println!("{table}");
    if let Some(dir) = target_dir() {
        let path = dir.join("bench-memory-threads.md");
        match std::fs::write(&path, &table) {
            Ok(()) => println!("written to {}", path.display()),
            Err(e) => eprintln!("memory_threads: cannot write {}: {e}", path.display()),
        }
    }
}
