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
