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
  ci [--no-miri] [--no-bench]   fmt, clippy, tests, docs, no_std build, bench build, Miri
  miri                          the workspace tests under Miri (strict provenance)
  fuzz <target> [--seconds N]   one cargo-fuzz target of fuzz/ for N seconds (default 60)
  fuzz --list                   the fuzz targets
  valgrind                      the integration tests under valgrind memcheck
  stress                        the thread stress test, in release mode
  help                          this text
";

/// Packages whose tests run under Miri: every library crate. The benches and xtask
/// packages are tools, not shipped code, and criterion does not build under Miri.
const MIRI_EXCLUDES: [&str; 2] = ["allocators-benches", "xtask"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(!flag("--no-miri"), !flag("--no-bench")),
        Some("miri") => miri(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("valgrind") => valgrind(),
        Some("stress") => stress(),
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
fn ci(with_miri: bool, with_bench: bool) -> Result<(), String> {
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
/// The conformance kit runs few sequences there (`ALLOC_CORE_CONFORMANCE_TESTS`): valgrind
/// is for memory errors, the volume runs natively.
fn valgrind() -> Result<(), String> {
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_valgrind {
        return Err("valgrind is not installed (apt-get install valgrind)".into());
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
                "--quiet",
            ])
            .arg(binary)
            .args(["--test-threads", "1"])
            .env("ALLOC_CORE_CONFORMANCE_TESTS", "20"))?;
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
