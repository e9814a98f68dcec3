//! `cargo xtask miri`: the library crates' tests under Miri with strict provenance.

use crate::cmd::{self, cargo};

/// Packages whose tests run under Miri (and valgrind): every library crate. The benches
/// and xtask packages are tools, not shipped code, and criterion does not build under Miri.
pub(crate) const EXCLUDES: [&str; 2] = ["allocators-benches", "xtask"];

/// Runs the library crates' tests (unit, integration and doc tests) under Miri,
/// installing the components when they are missing.
pub(crate) fn run() -> Result<(), String> {
    ensure_miri()?;
    let mut args = vec!["+nightly", "miri", "test", "--workspace", "--all-features"];
    for package in EXCLUDES {
        args.extend(["--exclude", package]);
    }
    // The `Box`-over-every-block tests run under Tree Borrows, in a pass of their own
    // (see crates/allocators/tests/boxes.rs for why); everything else under Stacked
    // Borrows.
    args.extend(["--", "--skip", TREE_BORROWS_PREFIX]);
    cargo(&args, &[("MIRIFLAGS", "-Zmiri-strict-provenance")])?;
    cargo(
        &[
            "+nightly",
            "miri",
            "test",
            "-p",
            "allocators",
            "--all-features",
            "--test",
            "boxes",
            "--",
            TREE_BORROWS_PREFIX,
        ],
        &[("MIRIFLAGS", "-Zmiri-strict-provenance -Zmiri-tree-borrows")],
    )
}

/// Tests whose names start with this run under Tree Borrows instead of Stacked Borrows.
const TREE_BORROWS_PREFIX: &str = "tree_borrows_";

fn ensure_miri() -> Result<(), String> {
    if !cmd::succeeds("cargo", &["+nightly", "miri", "--version"]) {
        cmd::run(std::process::Command::new("rustup").args([
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
