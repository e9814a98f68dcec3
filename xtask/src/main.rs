//! Project automation. `cargo xtask ci` is the local mirror of CI: if it passes here, CI
//! passes. Run `cargo xtask help` for the list of tasks.
//!
//! Each task lives in its own module; this file only reads the command line and hands
//! over. A new task is a module and one line in `main`'s `match` (and in [`HELP`]).
//! `cargo test -p xtask` also runs `tidy`, the checkable architecture invariants.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

mod bench;
mod ci;
mod cmd;
mod fuzz;
mod miri;
mod realworld;
mod release;
mod tidy;
mod valgrind;
mod workspace;

use std::env;
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task> [options]

tasks:
  ci [--no-miri] [--no-bench] [--no-valgrind]
                                fmt, clippy, tests (and the stress test in release), docs,
                                no_std builds (host, thumbv7em-none-eabihf, wasm32),
                                release-check, bench build, valgrind, Miri
  ci --quick                    the edit-test loop: fmt, clippy, `cargo test --workspace`
  tidy                          the checkable architecture invariants (also a `cargo test`)
  release-check                 package and dry-run publish the publishable crates
  miri                          the workspace tests under Miri (strict provenance)
  fuzz <target> [--seconds N]   one cargo-fuzz target of fuzz/ for N seconds (default 60)
  fuzz --list                   the fuzz targets
  valgrind                      the integration tests under valgrind memcheck
  stress                        the thread stress test, in release mode
  bench [--quick] [NAME...]     the benchmark suite, then the ratio table (target/bench-summary.md)
  realworld [--runs N] [--alloc NAME...] [--suite NAME...]
                                the test suites of regex, serde_json, hashbrown and rayon with
                                each allocator as #[global_allocator] (target/realworld/summary.md)
  help                          this text
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(ci::Options {
            quick: flag("--quick"),
            miri: !flag("--no-miri"),
            bench: !flag("--no-bench"),
            valgrind: !flag("--no-valgrind"),
        }),
        Some("tidy") => tidy::run(),
        Some("release-check") => release::check(),
        Some("miri") => miri::run(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("valgrind") => valgrind::run(),
        Some("stress") => ci::stress(),
        Some("bench") => bench::run(&args[1..]),
        Some("realworld") => realworld::run(&args[1..]),
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
