//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure; and
//! `--quick`, the edit-test loop's subset.

use std::time::Instant;

use crate::cmd::{self, cargo};
use crate::workspace;

/// The bare-metal and WebAssembly targets every library crate builds for with no default
/// features (`no_std`, no allocator). `.ci/run` installs them with `rustup target add`.
pub(crate) const NO_STD_TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "wasm32-unknown-unknown"];

/// Which parts of CI to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Only format, lints and the workspace tests (`--quick`).
    pub(crate) quick: bool,
    pub(crate) miri: bool,
    pub(crate) bench: bool,
    pub(crate) valgrind: bool,
}

/// Runs every check CI runs, stopping at the first failure.
pub(crate) fn run(options: Options) -> Result<(), String> {
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
    // Also runs xtask's `tidy` test: the architecture invariants.
    cargo(&["test", "--workspace"], &[])?;
    if options.quick {
        println!(
            "xtask ci --quick: format, lints and tests passed in {:.0?} (the full `cargo \
             xtask ci` adds the kit, stress, docs, no_std, packaging, benches, valgrind, Miri)",
            started.elapsed()
        );
        return Ok(());
    }
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
    no_std_targets()?;
    crate::release::check()?;
    if options.bench {
        cargo(&["bench", "--workspace", "--no-run"], &[])?;
    }
    // About 3 minutes on a 2-core machine (the integration tests under memcheck).
    if options.valgrind {
        crate::valgrind::run()?;
    }
    if options.miri {
        crate::miri::run()?;
    }
    println!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// The thread stress test of the thread-safe allocators, in release mode (bounded time).
pub(crate) fn stress() -> Result<(), String> {
    cargo(
        &["test", "--release", "-p", "allocators", "--test", "stress"],
        &[],
    )
}

/// Builds every library crate (the published ones) with no default features for each of
/// [`NO_STD_TARGETS`]: `no_std` for real, on targets that have no `std` at all.
fn no_std_targets() -> Result<(), String> {
    let installed =
        cmd::output(std::process::Command::new("rustup").args(["target", "list", "--installed"]));
    // Without rustup the build below says what is missing; with it, say it first.
    if let Ok(installed) = installed {
        for target in NO_STD_TARGETS {
            if !installed.lines().any(|l| l.trim() == target) {
                return Err(format!(
                    "the {target} target is not installed: `rustup target add {target}` \
                     (`.ci/run` does it)"
                ));
            }
        }
    }
    let packages = workspace::packages(&cmd::workspace_root())?;
    let libraries: Vec<&str> = packages
        .iter()
        .filter(|p| p.publish)
        .map(|p| p.name.as_str())
        .collect();
    for target in NO_STD_TARGETS {
        for library in &libraries {
            cargo(
                &[
                    "build",
                    "-p",
                    library,
                    "--no-default-features",
                    "--target",
                    target,
                ],
                &[],
            )?;
        }
    }
    Ok(())
}
