//! `cargo xtask miri`: the library crates' tests under Miri with strict provenance.
//!
//! Miri interprets on one core, and it is the longest step of CI, so the packages are
//! split into two shards that run at once (CI machines have two cores), each in a target
//! folder of its own (one cargo process would hold the other's build lock). The shards are
//! balanced by the time each package's tests took under Miri ([`WEIGHTS`]); a package not
//! listed there counts as [`DEFAULT_WEIGHT`].

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, cargo};
use crate::workspace;

/// Packages whose tests run under Miri (and valgrind): every library crate. The benches
/// and xtask packages are tools, not shipped code, and criterion does not build under Miri.
pub(crate) const EXCLUDES: [&str; 2] = ["allocators-benches", "xtask"];

/// Packages left out of Miri only: test-rng is test support (not shipped) without a line of
/// `unsafe` (its own tests are statistical and took 47 s there, finding nothing).
const MIRI_ONLY_EXCLUDES: [&str; 1] = ["test-rng"];

/// Seconds each package's tests (unit, integration, doc) took under Miri on a 2-core
/// machine under load, for balancing the shards (measured 2026-11-30; only the ratios
/// matter).
const WEIGHTS: [(&str, u32); 10] = [
    ("alloc-compose", 280),
    ("alloc-global", 260),
    ("alloc-scoped", 220),
    ("allocators", 160),
    ("alloc-core", 110),
    ("alloc-tlsf", 70),
    ("alloc-pages", 60),
    ("alloc-freelist", 50),
    ("leaf-alone", 10),
    ("test-rng", 2),
];

/// The weight of a package missing from [`WEIGHTS`].
const DEFAULT_WEIGHT: u32 = 60;

/// Tests whose names start with this run under Tree Borrows instead of Stacked Borrows
/// (see crates/allocators/tests/boxes.rs for why).
const TREE_BORROWS_PREFIX: &str = "tree_borrows_";

const STRICT: &str = "-Zmiri-strict-provenance";

/// Runs the library crates' tests (unit, integration and doc tests) under Miri, in two
/// shards at once, then the Tree Borrows pass; installs the components when missing.
pub(crate) fn run() -> Result<(), String> {
    ensure_miri()?;
    let packages = workspace::packages(&cmd::workspace_root())?;
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !EXCLUDES.contains(n) && !MIRI_ONLY_EXCLUDES.contains(n))
        .collect();
    let [first, second] = shards(&names);
    println!(
        "\nxtask miri: two shards at once: [{}] here, [{}] in the background",
        first.join(", "),
        second.join(", ")
    );
    // The second shard writes to a log, printed once it is done, so that the two outputs
    // do not interleave.
    let target = cmd::target_dir();
    let log_path = target.join("miri-shard-2.log");
    std::fs::create_dir_all(&target).map_err(|e| format!("cannot create {target:?}: {e}"))?;
    let log = File::create(&log_path).map_err(|e| format!("cannot create {log_path:?}: {e}"))?;
    let err = log
        .try_clone()
        .map_err(|e| format!("cannot share {log_path:?}: {e}"))?;
    let mut background = shard_command(&second);
    background
        .env("CARGO_TARGET_DIR", target.join("miri-shard-2"))
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err));
    let started = Instant::now();
    let mut child = background
        .spawn()
        .map_err(|e| format!("cannot start the second Miri shard: {e}"))?;
    let here = cmd::run(&mut shard_command(&first));
    let status = child
        .wait()
        .map_err(|e| format!("the second Miri shard: {e}"))?;
    println!(
        "\n==> the second Miri shard ({}), {:.1?} from the start:",
        second.join(", "),
        started.elapsed()
    );
    match std::fs::read_to_string(&log_path) {
        Ok(text) => print!("{text}"),
        Err(e) => println!("(its log {log_path:?} cannot be read: {e})"),
    }
    here?;
    if !status.success() {
        return Err(format!(
            "the second Miri shard ({}) failed with {status}; its output is above",
            second.join(", ")
        ));
    }
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
        &[("MIRIFLAGS", &format!("{STRICT} -Zmiri-tree-borrows"))],
    )
}

/// Splits `packages` into two shards of about equal weight (the heaviest first, each to
/// the lighter shard).
fn shards<'a>(packages: &[&'a str]) -> [Vec<&'a str>; 2] {
    let weight = |p: &str| {
        WEIGHTS
            .iter()
            .find(|(name, _)| *name == p)
            .map_or(DEFAULT_WEIGHT, |&(_, w)| w)
    };
    let mut sorted = packages.to_vec();
    sorted.sort_by_key(|p| std::cmp::Reverse(weight(p)));
    let mut shards: [Vec<&str>; 2] = [Vec::new(), Vec::new()];
    let mut totals = [0u32; 2];
    for p in sorted {
        let i = usize::from(totals[1] < totals[0]);
        totals[i] += weight(p);
        shards[i].push(p);
    }
    shards
}

/// `cargo miri test` of `packages` under Stacked Borrows (the Tree Borrows tests skipped).
fn shard_command(packages: &[&str]) -> Command {
    // `--no-fail-fast`: one CI run reports every failing test target, not only the first.
    let mut args = vec![
        "+nightly",
        "miri",
        "test",
        "--no-fail-fast",
        "--all-features",
    ];
    for p in packages {
        args.extend(["-p", p]);
    }
    args.extend(["--", "--skip", TREE_BORROWS_PREFIX]);
    let mut command = cmd::cargo_command(&args);
    command.env("MIRIFLAGS", STRICT);
    command
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_package_lands_in_one_shard_and_the_shards_balance() {
        let packages = [
            "alloc-compose",
            "alloc-core",
            "alloc-global",
            "alloc-scoped",
            "alloc-freelist",
            "alloc-tlsf",
            "allocators",
            "leaf-alone",
            "test-rng",
            "a-new-crate",
        ];
        let [a, b] = shards(&packages);
        let mut all: Vec<&str> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        let mut expected = packages.to_vec();
        expected.sort_unstable();
        assert_eq!(all, expected);
        let total = |s: &[&str]| -> u32 {
            s.iter()
                .map(|p| {
                    WEIGHTS
                        .iter()
                        .find(|(n, _)| n == p)
                        .map_or(DEFAULT_WEIGHT, |w| w.1)
                })
                .sum()
        };
        let (ta, tb) = (total(&a), total(&b));
        let heaviest = WEIGHTS.iter().map(|w| w.1).max().unwrap();
        assert!(ta.abs_diff(tb) <= heaviest, "{a:?} {ta} vs {b:?} {tb}");
    }
}
