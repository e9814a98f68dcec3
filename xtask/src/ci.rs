//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure; and
//! `--quick`, the edit-test loop's subset.

use std::time::Instant;

use crate::cmd::{self, cargo};
use crate::workspace;

/// The bare-metal and WebAssembly targets every library crate builds for with no default
/// features (`no_std`, no allocator). `.ci/run` installs them with `rustup target add`.
pub(crate) const NO_STD_TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "wasm32-unknown-unknown"];

/// alloc-core's features that build on stable: everything but `nightly`
/// (`--all-features` would turn on `#![feature(allocator_api)]`).
pub(crate) const CORE_STABLE_FEATURES: &str =
    "testing,allocator-api2-02,allocator-api2-03,allocator-api2-04";

/// The library crates (published ones), each of which has a `nightly` feature.
const LIBRARIES: [&str; 8] = [
    "alloc-core",
    "alloc-scoped",
    "alloc-freelist",
    "alloc-compose",
    "alloc-global",
    "alloc-tlsf",
    "alloc-pages",
    "allocators",
];

/// The leaves that `leaf-alone` proves usable on their own, one feature each.
const LEAVES: [&str; 6] = [
    "alloc-scoped",
    "alloc-freelist",
    "alloc-compose",
    "alloc-global",
    "alloc-tlsf",
    "alloc-pages",
];

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
            "--features",
            CORE_STABLE_FEATURES,
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
    cargo(
        &[
            "test",
            "-p",
            "alloc-core",
            "--features",
            CORE_STABLE_FEATURES,
        ],
        &[],
    )?;
    // Each leaf alone, with its default features only, under allocator-api2 collections.
    for leaf in LEAVES {
        cargo(
            &[
                "test",
                "-p",
                "leaf-alone",
                "--no-default-features",
                "--features",
                leaf,
            ],
            &[],
        )?;
    }
    // Release builds: the soundness checks must hold without debug assertions, and the
    // thread stress test runs optimised (more rounds, real contention).
    release_tests()?;
    stress()?;
    loom()?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    nightly()?;
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

/// The `nightly` feature: every allocator as a `core::alloc::Allocator`, under std's own
/// collections (tests), and the docs as docs.rs builds them (all features, nightly).
fn nightly() -> Result<(), String> {
    let mut build = vec!["+nightly", "build", "--features", "nightly"];
    for library in LIBRARIES {
        build.extend(["-p", library]);
    }
    cargo(&build, &[])?;
    cargo(
        &[
            "+nightly",
            "test",
            "-p",
            "allocators",
            "--features",
            "nightly",
        ],
        &[],
    )?;
    let mut doc = vec!["+nightly", "doc", "--no-deps", "--all-features"];
    for library in LIBRARIES {
        doc.extend(["-p", library]);
    }
    cargo(&doc, &[("RUSTDOCFLAGS", "--cfg docsrs -D warnings")])
}

/// The tests of the crates with soundness checks (sizes, overflows, re-entrancy) in
/// release mode, where `debug_assert!` is off.
fn release_tests() -> Result<(), String> {
    cargo(
        &[
            "test",
            "--release",
            "-p",
            "alloc-core",
            "--features",
            CORE_STABLE_FEATURES,
        ],
        &[],
    )?;
    cargo(&["test", "--release", "-p", "alloc-compose"], &[])
}

/// The loom models of the lock-free code (`SharedFreeList`, `SharedArena`): every
/// interleaving within loom's bounds. `--cfg loom` swaps loom's atomics in, so it builds
/// in a target folder of its own (the other steps' builds stay valid).
pub(crate) fn loom() -> Result<(), String> {
    let target = cmd::workspace_root().join("target").join("loom");
    let target = target.to_string_lossy().into_owned();
    cargo(
        &[
            "test",
            "--release",
            "-p",
            "alloc-global",
            "-p",
            "alloc-scoped",
            "--test",
            "loom",
        ],
        &[
            ("RUSTFLAGS", "--cfg loom"),
            ("CARGO_TARGET_DIR", target.as_str()),
        ],
    )
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
