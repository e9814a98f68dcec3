//! Project automation. `cargo xtask ci` is the local mirror of CI: if it passes here, CI
//! passes. Run `cargo xtask help` for the list of tasks.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::env;
use std::process::{Command, ExitCode};
use std::time::Instant;

const HELP: &str = "\
cargo xtask <task> [options]

tasks:
  ci [--no-miri] [--no-bench] [--no-valgrind]
                                fmt, clippy, tests (and the stress test in release), docs,
                                no_std build, bench build, valgrind, Miri
  miri                          the workspace tests under Miri (strict provenance)
  fuzz <target> [--seconds N]   one cargo-fuzz target of fuzz/ for N seconds (default 60)
  fuzz --list                   the fuzz targets
  valgrind                      the integration tests under valgrind memcheck
  stress                        the thread stress test, in release mode
  bench [--quick] [NAME...]     the benchmark suite, then the ratio table (target/bench-summary.md)
  help                          this text
";

/// Packages whose tests run under Miri: every library crate. The benches and xtask
/// packages are tools, not shipped code, and criterion does not build under Miri.
const MIRI_EXCLUDES: [&str; 2] = ["allocators-benches", "xtask"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(
            !flag("--no-miri"),
            !flag("--no-bench"),
            !flag("--no-valgrind"),
        ),
        Some("miri") => miri(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("valgrind") => valgrind(),
        Some("stress") => stress(),
        Some("bench") => bench(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every check CI runs, stopping at the first failure.
fn ci(with_miri: bool, with_bench: bool, with_valgrind: bool) -> Result<(), String> {
    let started = Instant::now();
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(
        &[
            "clippy",
            "-p",
            "alloc-core",
            "--all-features",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(&["test", "--workspace"], &[])?;
    // The conformance kit's own tests need the `testing` feature of alloc-core.
    cargo(&["test", "-p", "alloc-core", "--all-features"], &[])?;
    // The thread stress test again, optimised: more rounds, real contention.
    stress()?;
    cargo(
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // alloc-core depends on nothing and needs no allocator by default.
    cargo(&["build", "-p", "alloc-core", "--no-default-features"], &[])?;
    if with_bench {
        cargo(&["bench", "--workspace", "--no-run"], &[])?;
    }
    // About 3 minutes on a 2-core machine (the integration tests under memcheck).
    if with_valgrind {
        valgrind()?;
    }
    if with_miri {
        miri()?;
    }
    println!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Runs one fuzz target of `fuzz/` (a cargo-fuzz project outside the workspace) for a
/// bounded time, installing cargo-fuzz when it is missing. Findings land in
/// `fuzz/artifacts/<target>/`; the corpus grows in `fuzz/corpus/<target>/`.
fn fuzz(args: &[String]) -> Result<(), String> {
    let has_cargo_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let fuzz_dir = workspace_root().join("fuzz");
    if args.iter().any(|a| a == "--list") {
        return run(Command::new("cargo")
            .args(["+nightly", "fuzz", "list"])
            .current_dir(&fuzz_dir));
    }
    let mut target = None;
    let mut seconds = 60u64;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = rest.next().ok_or("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: `{value}` is not a number"))?;
            }
            name if target.is_none() && !name.starts_with('-') => target = Some(name),
            other => return Err(format!("fuzz: unexpected argument `{other}`\n\n{HELP}")),
        }
    }
    let target = target.ok_or_else(|| format!("fuzz: which target?\n\n{HELP}"))?;
    let max_time = format!("-max_total_time={seconds}");
    let asan_options = match env::var("ASAN_OPTIONS") {
        Ok(user) if !user.is_empty() => format!("allocator_may_return_null=1:{user}"),
        _ => "allocator_may_return_null=1".to_owned(),
    };
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "fuzz", "run", target, "--", &max_time])
        .current_dir(&fuzz_dir)
        // Sanitizer builds stay in `fuzz/target`, away from the workspace's.
        .env_remove("CARGO_TARGET_DIR")
        // The targets ask the heap for impossible sizes on purpose: ASan must answer null
        // (as malloc does), not report "requested allocation size exceeds maximum".
        .env("ASAN_OPTIONS", asan_options)
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    run(&mut cmd)
}

/// Builds the integration-test binaries and runs each under valgrind's memcheck; any
/// error (invalid read or write, use of uninitialised memory, a definite leak) fails.
/// The conformance kit runs few sequences there (`ALLOC_CORE_CONFORMANCE_TESTS`) and the
/// stress test a short while (`ALLOCATORS_STRESS_SECONDS`): valgrind is for memory
/// errors, the volume runs natively.
fn valgrind() -> Result<(), String> {
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_valgrind {
        return Err(
            "valgrind is not installed (apt-get install valgrind; `.ci/run` does it), \
             or skip it with `cargo xtask ci --no-valgrind`"
                .into(),
        );
    }
    let cargo_bin = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec![
        "test",
        "--workspace",
        "--tests",
        "--no-run",
        "--message-format=json",
    ];
    for package in MIRI_EXCLUDES {
        args.extend(["--exclude", package]);
    }
    println!("\n==> cargo {}", args.join(" "));
    let output = Command::new(&cargo_bin)
        .args(&args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err("building the tests failed".into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let binaries = integration_test_binaries(&stdout);
    if binaries.is_empty() {
        return Err("no integration-test binaries found".into());
    }
    let started = Instant::now();
    for binary in &binaries {
        run(Command::new("valgrind")
            .args([
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite",
                "--quiet",
            ])
            .arg(binary)
            .args(["--test-threads", "1"])
            .env("ALLOC_CORE_CONFORMANCE_TESTS", "20")
            .env("ALLOCATORS_STRESS_SECONDS", "2"))?;
    }
    println!(
        "xtask valgrind: {} binaries clean in {:.0?}",
        binaries.len(),
        started.elapsed()
    );
    Ok(())
}

/// The `executable` of every `compiler-artifact` message for a target of kind `test`
/// (integration tests, not unit tests or doc tests), from cargo's JSON lines. A small
/// scan rather than a JSON parser: xtask stays dependency-free.
fn integration_test_binaries(json_lines: &str) -> Vec<String> {
    json_lines
        .lines()
        .filter(|line| {
            line.contains(r#""reason":"compiler-artifact""#) && line.contains(r#""kind":["test"]"#)
        })
        .filter_map(|line| {
            let start = line.find(r#""executable":""#)? + r#""executable":""#.len();
            let end = start + line[start..].find('"')?;
            Some(line[start..end].replace("\\\\", "\\"))
        })
        .collect()
}

/// The thread stress test of the thread-safe allocators, in release mode (bounded time).
fn stress() -> Result<(), String> {
    cargo(
        &["test", "--release", "-p", "allocators", "--test", "stress"],
        &[],
    )
}

/// Runs the benchmark suite (criterion, `allocators-benches`), then reads criterion's
/// results of this run and writes the ratio table (markdown) to stdout and to
/// `target/bench-summary.md`, next to criterion's report in `target/criterion/report/`.
/// `--quick` shortens warm-up and measurement; bench names (`pool threads`) run only those.
fn bench(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut cargo_args = vec!["bench", "-p", "allocators-benches"];
    let names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(other) = args.iter().find(|a| a.starts_with('-') && *a != "--quick") {
        return Err(format!("bench: unexpected argument `{other}`\n\n{HELP}"));
    }
    for name in &names {
        cargo_args.extend(["--bench", name]);
    }
    if names.is_empty() {
        cargo_args.push("--benches");
    }
    cargo_args.push("--");
    if quick {
        cargo_args.extend([
            "--warm-up-time",
            "0.2",
            "--measurement-time",
            "0.5",
            "--sample-size",
            "10",
            // Criterion's default 100,000 bootstrap resamples (and the plots drawn from
            // them) cost about 4 s per benchmark here, several times the measurement.
            "--nresamples",
            "5000",
        ]);
    }
    // Results older than this run are not reported (a target dir keeps old benchmarks).
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    cargo(&cargo_args, &[])?;

    let target = env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), std::path::PathBuf::from);
    let mut results = Vec::new();
    collect_results(&target.join("criterion"), started, &mut results);
    if results.is_empty() {
        return Err(format!(
            "no criterion results of this run under {}",
            target.join("criterion").display()
        ));
    }
    let mut summary = bench_summary(&mut results, quick);
    let memory = target.join("bench-memory.md");
    let fresh = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started)
    };
    if fresh(&memory) {
        if let Ok(text) = std::fs::read_to_string(&memory) {
            summary.push('\n');
            summary.push_str(&text);
        }
    }
    let out = target.join("bench-summary.md");
    std::fs::write(&out, &summary).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("\n{summary}");
    println!("xtask bench: table written to {}", out.display());
    println!(
        "xtask bench: criterion's report: {}",
        target.join("criterion/report/index.html").display()
    );
    Ok(())
}

/// One criterion benchmark: group, subject (the allocator), parameter, and the median
/// time per element in nanoseconds.
#[derive(Debug)]
struct BenchResult {
    group: String,
    subject: String,
    param: String,
    ns_per_element: f64,
}

/// Finds every `new/benchmark.json` under `dir` written since `since`, with its
/// `estimates.json`.
fn collect_results(
    dir: &std::path::Path,
    since: std::time::SystemTime,
    out: &mut Vec<BenchResult>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let bench = path.join("benchmark.json");
        let fresh = std::fs::metadata(&bench)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if path.file_name().is_some_and(|n| n == "new") && fresh {
            if let Some(result) = read_result(&path) {
                out.push(result);
            }
        } else {
            collect_results(&path, since, out);
        }
    }
}

fn read_result(dir: &std::path::Path) -> Option<BenchResult> {
    let bench = std::fs::read_to_string(dir.join("benchmark.json")).ok()?;
    let estimates = std::fs::read_to_string(dir.join("estimates.json")).ok()?;
    let group = json_string(&bench, "group_id")?;
    let function = json_string(&bench, "function_id").unwrap_or_default();
    let (subject, param) = match json_string(&bench, "value_str") {
        Some(value) => (function, value),
        None => split_subject(&function),
    };
    let elements = bench
        .find(r#""Elements":"#)
        .and_then(|i| json_number(&bench[i + r#""Elements":"#.len()..]))
        .unwrap_or(1.0)
        .max(1.0);
    let median = &estimates[estimates.find(r#""median":"#)?..];
    let key = r#""point_estimate":"#;
    let ns = json_number(&median[median.find(key)? + key.len()..])?;
    Some(BenchResult {
        group,
        subject,
        param,
        ns_per_element: ns / elements,
    })
}

/// The string value of `"key":"..."` in a flat JSON object (criterion's ids contain no
/// escaped quotes); `None` for a missing key or `null`.
fn json_string(json: &str, key: &str) -> Option<String> {
    let pattern = format!(r#""{key}":""#);
    let start = json.find(&pattern)? + pattern.len();
    let end = start + json[start..].find('"')?;
    Some(json[start..end].replace("\\\\", "\\"))
}

/// The number at the start of `text`.
fn json_number(text: &str) -> Option<f64> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

/// `"System/16"` is subject `System` with parameter `16`: the last `/` outside `<...>`.
fn split_subject(function: &str) -> (String, String) {
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in function.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '/' if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    match split {
        Some(i) => (function[..i].to_string(), function[i + 1..].to_string()),
        None => (function.to_string(), String::new()),
    }
}

/// The peers: allocators a user would otherwise pick. `System` (and std's `Box`, which
/// uses it) is also the baseline of the first ratio.
fn is_system(subject: &str) -> bool {
    subject.starts_with("System") || subject.starts_with("std ")
}

fn is_peer(subject: &str) -> bool {
    let s = subject.to_ascii_lowercase();
    is_system(subject)
        || ["mimalloc", "bumpalo", "bump-scope"]
            .iter()
            .any(|p| s.starts_with(p))
}

/// The markdown report: the machine, a summary per group and subject (geometric means
/// over the points of a curve), then every measurement.
fn bench_summary(results: &mut [BenchResult], quick: bool) -> String {
    use std::fmt::Write as _;
    results.sort_by(|a, b| {
        (&a.group, param_key(&a.param), &a.subject).cmp(&(
            &b.group,
            param_key(&b.param),
            &b.subject,
        ))
    });
    // Ratios of each non-peer measurement: (group, subject, param, ns, x System, best peer).
    let mut rows = Vec::new();
    for r in results.iter() {
        let same_point = || {
            results
                .iter()
                .filter(|o| o.group == r.group && o.param == r.param)
        };
        let system = same_point().find(|o| is_system(&o.subject));
        let best_peer = same_point()
            .filter(|o| is_peer(&o.subject))
            .min_by(|a, b| a.ns_per_element.total_cmp(&b.ns_per_element));
        rows.push((
            r,
            system.map(|s| r.ns_per_element / s.ns_per_element),
            best_peer.map(|p| (r.ns_per_element / p.ns_per_element, p.subject.as_str())),
        ));
    }
    let mut out = String::from("## Benchmark summary\n\n");
    let _ = writeln!(out, "{}\n", machine_description(quick));
    out.push_str(
        "Ratios are time per operation against the system allocator and against the fastest \
         peer (System, mimalloc, bumpalo, bump-scope) at the same point of the same group, \
         in the same run: below 1.00 is faster.\n\n",
    );
    // At a glance: each allocator per suite, geometric means over every point of the
    // suite's groups.
    let suites = ["bump", "pool", "composition", "collections", "threads"];
    out.push_str(
        "### At a glance\n\nEach cell: × System / × best peer, the geometric mean over every \
         point of the suite where the allocator runs (– where it does not).\n\n| allocator |",
    );
    for suite in suites {
        let _ = write!(out, " {suite} |");
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(suites.len()));
    out.push('\n');
    // Ours first, then the peers (their "best peer" may be themselves: 1.00 is the best).
    let mut subjects: Vec<&str> = rows.iter().map(|(r, _, _)| r.subject.as_str()).collect();
    subjects.sort_unstable_by_key(|s| (is_peer(s), *s));
    subjects.dedup();
    for subject in subjects {
        let peer = if is_peer(subject) { " (peer)" } else { "" };
        let _ = write!(out, "| {}{peer} |", subject.replace('|', "\\|"));
        for suite in suites {
            let points: Vec<_> = rows
                .iter()
                .filter(|(o, _, _)| o.subject == subject && suite_of(&o.group) == suite)
                .collect();
            let vs_system: Vec<f64> = points.iter().filter_map(|p| p.1).collect();
            let vs_best: Vec<f64> = points.iter().filter_map(|p| p.2.map(|b| b.0)).collect();
            if points.is_empty() {
                out.push_str(" – |");
            } else {
                let _ = write!(out, " {} / {} |", geomean(&vs_system), geomean(&vs_best));
            }
        }
        out.push('\n');
    }
    out.push_str(
        "\n### Per group\n\nCurves are summarised by the geometric mean over their points \
         (range in brackets); every point is listed further down.\n\n",
    );
    out.push_str("| group | allocator | points | × System | × best peer |\n| --- | --- | ---: | ---: | ---: |\n");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (r, _, _) in &rows {
        let key = (r.group.as_str(), r.subject.as_str());
        if is_peer(&r.subject) || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let points: Vec<_> = rows
            .iter()
            .filter(|(o, _, _)| o.group == r.group && o.subject == r.subject)
            .collect();
        let vs_system: Vec<f64> = points.iter().filter_map(|p| p.1).collect();
        let vs_best: Vec<f64> = points.iter().filter_map(|p| p.2.map(|b| b.0)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.group,
            r.subject.replace('|', "\\|"),
            points.len(),
            summarise(&vs_system),
            summarise(&vs_best),
        );
    }
    out.push_str(
        "\n### Every point\n\n| group | point | allocator | ns/op | × System | × best peer (which) |\n\
         | --- | --- | --- | ---: | ---: | --- |\n",
    );
    for (r, vs_system, vs_best) in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {} | {} |",
            r.group,
            r.param,
            r.subject.replace('|', "\\|"),
            r.ns_per_element,
            vs_system.map_or_else(|| "–".into(), |x| format!("{x:.2}")),
            vs_best.map_or_else(|| "–".into(), |(x, p)| format!("{x:.2} ({p})")),
        );
    }
    out
}

/// The suite (concern) of a criterion group, from its prefix: the per-issue benches
/// belong to the suite of their concern.
fn suite_of(group: &str) -> &str {
    match group.split('/').next().unwrap_or(group) {
        "bump" | "scoped" => "bump",
        "pool" | "freelist" | "small_objects" | "heap" => "pool",
        "compose" => "composition",
        "global" | "threads" => "threads",
        other => other,
    }
}

/// The geometric mean of `ratios` to two decimals; `–` for none.
fn geomean(ratios: &[f64]) -> String {
    if ratios.is_empty() {
        return "–".into();
    }
    let mean = (ratios.iter().map(|x| x.ln()).sum::<f64>() / ratios.len() as f64).exp();
    format!("{mean:.2}")
}

/// Numeric parameters sort as numbers (`8` before `32`), others as text.
fn param_key(param: &str) -> (u64, &str) {
    let digits: String = param.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), param)
}

/// `x` for one ratio; the geometric mean and `[min–max]` for several; `–` for none.
fn summarise(ratios: &[f64]) -> String {
    match ratios {
        [] => "–".into(),
        [x] => format!("{x:.2}"),
        _ => {
            let mean = (ratios.iter().map(|x| x.ln()).sum::<f64>() / ratios.len() as f64).exp();
            let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ratios.iter().copied().fold(0.0, f64::max);
            format!("{mean:.2} [{min:.2}–{max:.2}]")
        }
    }
}

/// Cores, CPU model, rustc version and load average of this machine.
fn machine_description(quick: bool) -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_string();
    let rustc = Command::new(env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "Machine: {cores} cores ({cpu}), {rustc}, load average {load} at the end of the run; \
         {} mode.",
        if quick {
            "quick (`--quick`: 0.2 s warm-up, 0.5 s measurement, 10 samples, 5,000 resamples)"
        } else {
            "full"
        }
    )
}

fn workspace_root() -> std::path::PathBuf {
    // xtask lives in `<root>/xtask`.
    let manifest = env!("CARGO_MANIFEST_DIR");
    std::path::Path::new(manifest)
        .parent()
        .map_or_else(|| manifest.into(), std::path::Path::to_path_buf)
}

/// Runs the library crates' tests (unit, integration and doc tests) under Miri,
/// installing the components when they are missing.
fn miri() -> Result<(), String> {
    ensure_miri()?;
    let mut args = vec!["+nightly", "miri", "test", "--workspace", "--all-features"];
    for package in MIRI_EXCLUDES {
        args.extend(["--exclude", package]);
    }
    cargo(&args, &[("MIRIFLAGS", "-Zmiri-strict-provenance")])
}

fn ensure_miri() -> Result<(), String> {
    let ok = Command::new("cargo")
        .args(["+nightly", "miri", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        run(Command::new("rustup").args([
            "component",
            "add",
            "--toolchain",
            "nightly",
            "miri",
            "rust-src",
        ]))?;
    }
    cargo(&["+nightly", "miri", "setup"], &[])
}

fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // A `+toolchain` argument only works through rustup's `cargo` proxy.
    if args.first().is_some_and(|a| a.starts_with('+')) {
        cmd = Command::new("cargo");
        cmd.env_remove("RUSTC")
            .env_remove("RUSTDOC")
            .env_remove("CARGO");
    }
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    println!("\n==> {shown}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    println!("<== {:.1?}", started.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_files_are_read_by_hand() {
        let bench = r#"{"group_id":"pool/size_curve","function_id":"FreeList","value_str":"512","throughput":{"Elements":64},"full_id":"pool/size_curve/FreeList/512"}"#;
        assert_eq!(
            json_string(bench, "group_id").as_deref(),
            Some("pool/size_curve")
        );
        assert_eq!(json_string(bench, "value_str").as_deref(), Some("512"));
        assert_eq!(json_string(r#"{"value_str":null}"#, "value_str"), None);
        assert_eq!(json_number("1.5e3,\"x\""), Some(1500.0));
        assert_eq!(json_number("64}"), Some(64.0));
    }

    #[test]
    fn subjects_split_at_the_last_slash_outside_angle_brackets() {
        let split = split_subject;
        assert_eq!(split("System/16"), ("System".into(), "16".into()));
        assert_eq!(
            split("SyncFreeList/2 threads"),
            ("SyncFreeList".into(), "2 threads".into())
        );
        assert_eq!(split("Locked<A/B>"), ("Locked<A/B>".into(), String::new()));
        assert_eq!(split("Heap"), ("Heap".into(), String::new()));
    }

    #[test]
    fn peers_suites_and_means() {
        assert!(is_system("System malloc+free") && is_system("std Box"));
        assert!(is_peer("MiMalloc") && is_peer("bump-scope") && !is_peer("FreeList"));
        assert!(!is_peer("GlobalAllocator<System>"));
        assert_eq!(suite_of("scoped/vec_growth"), "bump");
        assert_eq!(suite_of("global/adapter_batch_1_threads"), "threads");
        assert_eq!(geomean(&[0.5, 2.0]), "1.00");
        assert_eq!(summarise(&[0.5, 2.0]), "1.00 [0.50–2.00]");
        assert!(
            param_key("8") < param_key("32") && param_key("2 threads") < param_key("8 threads")
        );
    }

    #[test]
    fn the_summary_divides_by_system_and_the_best_peer_at_the_same_point() {
        let result = |group: &str, subject: &str, param: &str, ns| BenchResult {
            group: group.into(),
            subject: subject.into(),
            param: param.into(),
            ns_per_element: ns,
        };
        let mut results = vec![
            result("pool/size_curve", "System", "8", 10.0),
            result("pool/size_curve", "mimalloc", "8", 5.0),
            result("pool/size_curve", "FreeList", "8", 2.0),
            result("pool/size_curve", "System", "64", 20.0),
            result("pool/size_curve", "mimalloc", "64", 40.0),
            result("pool/size_curve", "FreeList", "64", 10.0),
        ];
        let summary = bench_summary(&mut results, true);
        // FreeList: 0.2 and 0.5 of System (mean 0.32), 0.4 and 0.5 of the best peer.
        assert!(
            summary.contains("| FreeList | – | 0.32 / 0.45 |"),
            "{summary}"
        );
        assert!(
            summary.contains(
                "| pool/size_curve | FreeList | 2 | 0.32 [0.20–0.50] | 0.45 [0.40–0.50] |"
            )
        );
        assert!(
            summary.contains("| pool/size_curve | 64 | FreeList | 10.00 | 0.50 | 0.50 (System) |")
        );
        // The peers follow ours in the glance table: mimalloc 0.5 and 2.0 of System.
        let ours = summary.find("| FreeList |").unwrap();
        let peer = summary
            .find("| mimalloc (peer) | – | 1.00 / 1.41 |")
            .unwrap();
        assert!(ours < peer);
    }
}
