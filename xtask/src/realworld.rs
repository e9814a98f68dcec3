//! `cargo xtask realworld`: the test suites of real crates (regex, serde_json, hashbrown,
//! rayon) run with each allocator as their `#[global_allocator]`, for test counts and
//! wall-time ratios. Too slow for CI; its latest table goes in `benches/RESULTS.md`.
//!
//! How: the crate sources come from the package registry through cargo (a throwaway
//! project under `target/realworld/fetch` depends on the pinned versions; `cargo fetch`
//! downloads them and `cargo metadata` says where they are unpacked). Each suite is copied
//! once per allocator to `target/realworld/<alloc>/<suite>`, given a dev-dependency on a
//! tiny injector crate (`target/realworld/inject/<alloc>`, which only declares the
//! `#[global_allocator]`) and an `extern crate realworld_alloc;` at the end of `lib.rs`
//! (under `#[cfg(test)]`) and of every integration test, so that every test binary links
//! it. Each suite is built once per allocator (`cargo test --no-run --release`, one target
//! dir per allocator), then the test binaries run, allocators alternating in a rotating
//! order, `--runs` times each; a run is the wall time (`Instant`) of all the suite's test
//! binaries one after the other. The table gives the minimum over the runs and its ratio
//! to System and to mimalloc, with the test counts (`test result:` lines of libtest).
//! The binaries run without the caller's `RUST_BACKTRACE` and libtest variables
//! ([`UNSET_VARS`]): the suites as `cargo test` runs them by default.
//! Doctests are not run (rustdoc builds them without the injector).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd;

/// One test suite: a crate of the registry at a pinned version, and the edits its
/// published source needs to build its tests.
struct Suite {
    name: &'static str,
    version: &'static str,
    /// `(file, text, replacement)`: the text must occur in the file.
    fixes: &'static [(&'static str, &'static str, &'static str)],
}

const SUITES: &[Suite] = &[
    Suite {
        name: "regex",
        version: "1.13.2",
        // The published crate lacks tests/fuzz.
        fixes: &[(
            "tests/lib.rs",
            "mod fuzz;",
            "// mod fuzz; (tests/fuzz is not in the published crate)",
        )],
    },
    Suite {
        name: "serde_json",
        version: "1.0.154",
        fixes: &[],
    },
    Suite {
        name: "hashbrown",
        version: "0.17.2",
        fixes: &[],
    },
    Suite {
        name: "rayon",
        version: "1.12.0",
        fixes: &[],
    },
];

/// One allocator: the injector crate's dependencies (lines of `[dependencies]`, where
/// `{root}` is the workspace root) and the `#[global_allocator]` item.
struct Alloc {
    name: &'static str,
    /// `false`: listed but not built yet (its crate is not in the workspace).
    available: bool,
    deps: &'static str,
    global: &'static str,
}

/// The allocators, the baselines first. A new allocator is one entry.
const ALLOCS: &[Alloc] = &[
    Alloc {
        name: "system",
        available: true,
        deps: "",
        global: "#[global_allocator]\nstatic GLOBAL: std::alloc::System = std::alloc::System;\n",
    },
    Alloc {
        name: "mimalloc",
        available: true,
        deps: "mimalloc = { version = \"0.1\", default-features = false }\n",
        global: "#[global_allocator]\nstatic GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;\n",
    },
    Alloc {
        name: "jemalloc",
        available: true,
        deps: "tikv-jemallocator = \"0.7\"\n",
        global: "#[global_allocator]\nstatic GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;\n",
    },
    // The composition of crates/allocators/tests/global_allocator.rs (without its loggers):
    // requests up to 256 bytes to size classes of `SyncFreeList` (4,096 blocks each, a full
    // class spills to System), larger ones to System.
    Alloc {
        name: "ours",
        available: true,
        deps: "allocators = { path = \"{root}/crates/allocators\", features = [\"std\"] }\n",
        global: "\
use std::alloc::System;
use allocators::{AllocatorExt, Bucketizer, Fallback, GlobalAllocator, InitError, Segregator, SyncFreeList};

type Chain = Segregator<256, Fallback<Bucketizer<SyncFreeList<System>, 5>, System>, System>;

#[global_allocator]
static GLOBAL: GlobalAllocator<Chain> = GlobalAllocator::lazy(init);

fn init() -> Result<Chain, InitError> {
    let classes = Bucketizer::powers_of_two(16, |size| SyncFreeList::new_in(size, 4096, System))?;
    Ok(classes.with_fallback(System).segregate::<256, _>(System))
}
",
    },
    // The ready general-purpose allocator of alloc-global, the whole recipe of the README.
    Alloc {
        name: "general-purpose",
        available: true,
        deps: "allocators = { path = \"{root}/crates/allocators\", features = [\"std\"] }\n",
        global: "\
use allocators::{GeneralPurpose, GlobalAllocator};

#[global_allocator]
static GLOBAL: GlobalAllocator<GeneralPurpose> = GlobalAllocator::new(GeneralPurpose::new());
",
    },
];

/// The command line: `[--runs N] [--alloc NAME...] [--suite NAME...]`.
#[derive(Debug, PartialEq)]
struct Options {
    runs: usize,
    allocs: Vec<String>,
    suites: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        runs: 5,
        allocs: Vec::new(),
        suites: Vec::new(),
    };
    let mut list: Option<&mut Vec<String>> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => {
                let n = it.next().ok_or("realworld: --runs needs a number")?;
                options.runs = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("realworld: --runs {n}: not a positive number"))?;
                list = None;
            }
            "--alloc" => list = Some(&mut options.allocs),
            "--suite" => list = Some(&mut options.suites),
            other if other.starts_with('-') => {
                return Err(format!("realworld: unexpected argument `{other}`"));
            }
            value => match list.as_deref_mut() {
                Some(list) => list.push(value.to_string()),
                None => {
                    return Err(format!(
                        "realworld: `{value}` follows no --alloc or --suite"
                    ));
                }
            },
        }
    }
    Ok(options)
}

/// Test counts of one run, summed over the `test result:` lines of libtest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    passed: usize,
    failed: usize,
    ignored: usize,
}

/// Sums the counts of every `test result: ... N passed; M failed; K ignored; ...` line.
fn parse_counts(output: &str) -> Counts {
    let mut counts = Counts::default();
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split([';', '.']) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let [n, kind, ..] = words[..] else {
                continue;
            };
            let Ok(n) = n.parse::<usize>() else {
                continue;
            };
            match kind {
                "passed" => counts.passed += n,
                "failed" => counts.failed += n,
                "ignored" => counts.ignored += n,
                _ => {}
            }
        }
    }
    counts
}

/// What one suite with one allocator gave: its counts (of the last run; a difference
/// between runs is reported) and the wall time of each run.
#[derive(Clone, Debug)]
struct Measured {
    suite: String,
    alloc: String,
    counts: Counts,
    /// Set when two runs disagreed on the counts (a flaky or allocator-dependent test).
    unstable: bool,
    times: Vec<Duration>,
}

impl Measured {
    fn best(&self) -> Option<Duration> {
        self.times.iter().min().copied()
    }
}

/// `time / base` to two decimals, `–` without both.
fn ratio(time: Option<Duration>, base: Option<Duration>) -> String {
    match (time, base) {
        (Some(t), Some(b)) if !b.is_zero() => format!("{:.2}", t.as_secs_f64() / b.as_secs_f64()),
        _ => "–".into(),
    }
}

/// The markdown table: suite × allocator, test counts, minimum wall time, ratios to the
/// `system` and `mimalloc` rows of the same suite.
fn table(rows: &[Measured], runs: usize) -> String {
    let mut out = format!(
        "### Real programs: test suites with each `#[global_allocator]`\n\n\
         Minimum wall time of {runs} runs per allocator (allocators alternating, test binaries \
         in release mode, doctests not run); ratios below 1.00 are faster.\n\n\
         | suite | allocator | passed | failed | ignored | min wall time | × System | × mimalloc |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for row in rows {
        let base = |name: &str| {
            rows.iter()
                .find(|r| r.suite == row.suite && r.alloc == name)
                .and_then(Measured::best)
        };
        let flag = if row.unstable { " (counts varied)" } else { "" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}{flag} | {} | {} | {} | {} |",
            row.suite,
            row.alloc,
            row.counts.passed,
            row.counts.failed,
            row.counts.ignored,
            row.best()
                .map_or_else(|| "–".into(), |t| format!("{:.2} s", t.as_secs_f64())),
            ratio(row.best(), base("system")),
            ratio(row.best(), base("mimalloc")),
        );
    }
    out
}

/// The order of the allocators in run `run`: rotated, so that none always runs first
/// (after the others have warmed the caches) or last.
fn rotation<T: Clone>(items: &[T], run: usize) -> Vec<T> {
    let mut v = items.to_vec();
    if !v.is_empty() {
        let k = run % v.len();
        v.rotate_left(k);
    }
    v
}

/// Runs the task (see the module docs).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = parse_args(args)?;
    let allocs = select(
        ALLOCS,
        &options.allocs,
        |a| a.name,
        |a| a.available,
        "allocator",
    )?;
    if let Some(a) = allocs.iter().find(|a| !a.available) {
        return Err(format!(
            "realworld: `{}` is not available yet (its entry in xtask/src/realworld.rs says \
             `available: false`)",
            a.name
        ));
    }
    let suites = select(SUITES, &options.suites, |s| s.name, |_| true, "suite")?;
    let work = cmd::target_dir().join("realworld");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let sources = fetch(&work)?;
    // Build everything first: the timed runs then compete with no compilation of ours.
    let mut binaries = Vec::new();
    for alloc in &allocs {
        let inject = write_injector(&work, alloc)?;
        for suite in &suites {
            let source = sources
                .iter()
                .find(|(name, _)| name == suite.name)
                .map(|(_, dir)| dir)
                .ok_or_else(|| format!("realworld: cargo fetched no `{}`", suite.name))?;
            let dir = prepare_suite(&work, alloc, suite, source, &inject)?;
            let tests = build(&work, alloc, &dir)?;
            binaries.push((suite.name, alloc.name, dir, tests));
        }
    }
    let mut rows: Vec<Measured> = binaries
        .iter()
        .map(|(suite, alloc, _, _)| Measured {
            suite: (*suite).to_string(),
            alloc: (*alloc).to_string(),
            counts: Counts::default(),
            unstable: false,
            times: Vec::new(),
        })
        .collect();
    let order: Vec<usize> = (0..binaries.len()).collect();
    for run in 0..options.runs {
        for suite in &suites {
            for i in rotation(&order, run) {
                let (name, alloc, dir, tests) = &binaries[i];
                if *name != suite.name {
                    continue;
                }
                let (counts, time) = run_suite(dir, tests)?;
                println!(
                    "realworld: run {}/{} {name} with {alloc}: {} passed, {} failed in {:.2?}",
                    run + 1,
                    options.runs,
                    counts.passed,
                    counts.failed,
                    time
                );
                let row = &mut rows[i];
                if !row.times.is_empty() && row.counts != counts {
                    row.unstable = true;
                }
                row.counts = counts;
                row.times.push(time);
            }
        }
    }
    let table = table(&rows, options.runs);
    let out = work.join("summary.md");
    std::fs::write(&out, &table).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("\n{table}\nrealworld: table written to {}", out.display());
    Ok(())
}

/// The entries of `all` named in `names` (those `default` keeps when `names` is empty).
fn select<'a, T>(
    all: &'a [T],
    names: &[String],
    name: fn(&T) -> &str,
    default: fn(&T) -> bool,
    what: &str,
) -> Result<Vec<&'a T>, String> {
    if names.is_empty() {
        return Ok(all.iter().filter(|t| default(t)).collect());
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|t| name(t) == n).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(name).collect();
                format!("realworld: no {what} `{n}` (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// Downloads the pinned crates through cargo; returns each crate's unpacked source folder.
fn fetch(work: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let dir = work.join("fetch");
    std::fs::create_dir_all(dir.join("src"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut manifest = String::from(
        "[package]\nname = \"realworld-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    for suite in SUITES {
        let _ = writeln!(manifest, "{} = \"={}\"", suite.name, suite.version);
    }
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(
        &dir.join("src/lib.rs"),
        "//! Only here to make cargo fetch the suites.\n",
    )?;
    let manifest_path = dir.join("Cargo.toml");
    let manifest_arg = manifest_path.to_string_lossy();
    cmd::cargo(&["fetch", "--manifest-path", &manifest_arg], &[])?;
    let json = cmd::output(&mut cmd::cargo_command(&[
        "metadata",
        "--format-version",
        "1",
        "--manifest-path",
        &manifest_arg,
    ]))?;
    let meta: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
    let mut found = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let version = package["version"].as_str().unwrap_or_default();
        if SUITES
            .iter()
            .any(|s| s.name == name && s.version == version)
        {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
            if let Some(parent) = manifest.parent() {
                found.push((name.to_string(), parent.to_path_buf()));
            }
        }
    }
    Ok(found)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes the injector crate of `alloc`; returns its folder.
fn write_injector(work: &Path, alloc: &Alloc) -> Result<PathBuf, String> {
    let dir = work.join("inject").join(alloc.name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let root = cmd::workspace_root();
    let manifest = format!(
        "[package]\nname = \"realworld-alloc\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\npath = \"lib.rs\"\n\n[dependencies]\n{}",
        alloc.deps.replace("{root}", &root.to_string_lossy())
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(
        &dir.join("lib.rs"),
        &format!(
            "//! Declares the `#[global_allocator]` `{}` for the test suites of `cargo xtask realworld`.\n\n{}",
            alloc.name, alloc.global
        ),
    )?;
    Ok(dir)
}

/// Copies `from` into `to` recursively.
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(|e| {
                format!(
                    "cannot copy {} to {}: {e}",
                    path.display(),
                    target.display()
                )
            })?;
        }
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    let old = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    write(path, &format!("{old}\n{text}"))
}

/// Copies the suite's source for `alloc` (once) and injects the allocator; returns its
/// folder.
fn prepare_suite(
    work: &Path,
    alloc: &Alloc,
    suite: &Suite,
    source: &Path,
    inject: &Path,
) -> Result<PathBuf, String> {
    let dir = work.join(alloc.name).join(suite.name);
    let marker = dir.join(".realworld-prepared");
    if marker.exists() {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    copy_dir(source, &dir)?;
    for (file, from, to) in suite.fixes {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if !text.contains(from) {
            return Err(format!(
                "realworld: {} has no `{from}` to fix",
                path.display()
            ));
        }
        write(&path, &text.replacen(from, to, 1))?;
    }
    // Its own workspace (it lives under ours), and the injector as a dev-dependency.
    append(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\n\n[dev-dependencies.realworld-alloc]\npath = \"{}\"\n",
            inject.display()
        ),
    )?;
    // `extern crate` at the end of each test root: items may come anywhere in a module,
    // and the end is after any inner attribute.
    let json = cmd::output(&mut cmd::cargo_command(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
        "--manifest-path",
        &dir.join("Cargo.toml").to_string_lossy(),
    ]))
    .or_else(|_| {
        cmd::output(&mut cmd::cargo_command(&[
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
            &dir.join("Cargo.toml").to_string_lossy(),
        ]))
    })?;
    let meta: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: {e}"))?;
    for target in meta["packages"][0]["targets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let kinds: Vec<&str> = target["kind"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str())
            .collect();
        let path = PathBuf::from(target["src_path"].as_str().unwrap_or_default());
        if kinds.contains(&"lib") {
            append(
                &path,
                "#[cfg(test)]\n#[allow(unused_extern_crates)]\nextern crate realworld_alloc;\n",
            )?;
        } else if kinds.contains(&"test") {
            append(
                &path,
                "#[allow(unused_extern_crates)]\nextern crate realworld_alloc;\n",
            )?;
        }
    }
    write(&marker, "")?;
    Ok(dir)
}

/// A test binary: its path, and the folder to run it in.
struct TestBinary {
    path: PathBuf,
}

/// Builds the suite's tests in release mode; returns its test binaries.
fn build(work: &Path, alloc: &Alloc, dir: &Path) -> Result<Vec<TestBinary>, String> {
    let target = work.join(alloc.name).join("target");
    let mut cmd = cmd::cargo_command(&[
        "test",
        "--no-run",
        "--release",
        "--message-format=json-render-diagnostics",
        "--manifest-path",
        &dir.join("Cargo.toml").to_string_lossy(),
    ]);
    cmd.env("CARGO_TARGET_DIR", &target);
    println!(
        "realworld: building the tests of {} with {}",
        dir.display(),
        alloc.name
    );
    let started = Instant::now();
    let json = cmd::output(&mut cmd)?;
    println!("realworld: built in {:.1?}", started.elapsed());
    let mut binaries = Vec::new();
    for line in json.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && message["profile"]["test"] == true {
            if let Some(exe) = message["executable"].as_str() {
                binaries.push(TestBinary { path: exe.into() });
            }
        }
    }
    if binaries.is_empty() {
        return Err(format!(
            "realworld: no test binary built in {}",
            dir.display()
        ));
    }
    Ok(binaries)
}

/// Variables of the caller's environment that change what a test binary does, removed so
/// that every run is the suite as `cargo test` runs it by default, whatever the shell sets:
/// with `RUST_BACKTRACE=1` (set in some shells and CI images), every `should_panic` test
/// symbolizes a backtrace, which reads and decompresses the binary's debug info (megabytes
/// of allocations that are not the suite's own: regex's suite ran 1.6 times longer).
const UNSET_VARS: &[&str] = &[
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
    "RUST_TEST_SHUFFLE",
];

/// The command that runs one test binary of a suite: in the suite's folder (as `cargo
/// test` does), without [`UNSET_VARS`], no input.
fn test_command(path: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(path);
    cmd.current_dir(dir)
        .env("CARGO_MANIFEST_DIR", dir)
        .stdin(Stdio::null());
    for var in UNSET_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs every test binary of a suite one after the other, in the suite's folder (as
/// `cargo test` does); returns the summed counts and the total wall time.
fn run_suite(dir: &Path, tests: &[TestBinary]) -> Result<(Counts, Duration), String> {
    let mut counts = Counts::default();
    let mut total = Duration::ZERO;
    for test in tests {
        let mut cmd = test_command(&test.path, dir);
        let started = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", test.path.display()))?;
        total += started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        let c = parse_counts(&text);
        if !out.status.success() && c.failed == 0 {
            // A crash (abort, signal) before libtest could report: one failure.
            eprintln!(
                "realworld: {} exited with {} without a failed test:\n{}",
                test.path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            counts.failed += 1;
        }
        counts.passed += c.passed;
        counts.failed += c.failed;
        counts.ignored += c.ignored;
    }
    Ok((counts, total))
}

#[cfg(test)]
mod tests;
