//! `cargo xtask release-check`: the publishable crates packaged and published in a dry
//! run, in dependency order, as `cargo publish` would upload them.
//!
//! The crates are not on the registry yet, so a dry run of one crate alone fails where it
//! depends on an unpublished sibling; one `cargo publish --dry-run` with every crate
//! (`-p` each) verifies them against a local registry overlay of the others instead.

use std::time::Instant;

use crate::cmd::{self, cargo};
use crate::workspace;

/// Files every published package must contain, at its root: the licenses of
/// `MIT OR Apache-2.0`, and a README (the crates.io page).
const REQUIRED: [(&str, &str); 3] = [
    ("LICENSE-MIT", "the MIT license text"),
    ("LICENSE-APACHE", "the Apache-2.0 license text"),
    (
        "README",
        "a README (README.md, or the `readme` field's file)",
    ),
];

/// Lists each publishable package's files (those with `publish = false` are left out),
/// dry-runs `cargo publish` for all of them in dependency order, and fails if a package
/// lacks a license file or a README.
pub(crate) fn check() -> Result<(), String> {
    let started = Instant::now();
    let root = cmd::workspace_root();
    let packages = workspace::packages(&root)?;
    let order = workspace::publish_order(&packages)?;
    let names: Vec<&str> = order.iter().map(|p| p.name.as_str()).collect();
    let unpublished: Vec<&str> = packages
        .iter()
        .filter(|p| !p.publish)
        .map(|p| p.name.as_str())
        .collect();
    println!("\nxtask release-check: publish order: {}", names.join(", "));
    println!(
        "xtask release-check: not published (publish = false): {}",
        unpublished.join(", ")
    );

    let mut missing = Vec::new();
    for name in &names {
        let list = cmd::output(&mut cmd::cargo_command(&[
            "package",
            "--list",
            "--allow-dirty",
            "-p",
            name,
        ]))?;
        println!("\n{name}: {} files", list.lines().count());
        for file in list.lines() {
            println!("    {file}");
        }
        for lacking in missing_files(&list) {
            missing.push(format!("{name} lacks {lacking}"));
        }
    }

    // Cargo unpacks the local overlay's packages into its home by name and version and
    // does not unpack a package again whose folder exists: a second run after a change
    // (same version) would verify the dependents against the first run's sources.
    let stale = remove_stale_overlay_sources(&names);
    if stale > 0 {
        println!("xtask release-check: removed {stale} stale unpacked copies of our packages");
    }

    // One command for all: cargo orders them and verifies each against the others.
    let mut args = vec!["publish", "--dry-run", "--allow-dirty"];
    for name in &names {
        args.extend(["-p", name]);
    }
    cargo(&args, &[])?;

    if !missing.is_empty() {
        return Err(format!(
            "release-check: packages lack files crates.io users need (add them to each \
             crate's folder, or point `readme` / `include` at them):\n  {}",
            missing.join("\n  ")
        ));
    }
    println!(
        "xtask release-check: {} packages ready in {:.0?}",
        names.len(),
        started.elapsed()
    );
    Ok(())
}

/// Removes the copies of our packages that earlier dry runs unpacked from cargo's local
/// overlay registry (`$CARGO_HOME/registry/src/-<hash>/<name>-<version>`, and the
/// `.crate` files under `registry/cache/-<hash>/`); folders of real registries (named after
/// their index, such as `index.crates.io-...`) are left alone. Returns how many were
/// removed.
fn remove_stale_overlay_sources(names: &[&str]) -> usize {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(home) = home else {
        return 0;
    };
    let mut removed = 0;
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(home.join("registry").join(kind)) else {
            continue;
        };
        for registry in registries.flatten() {
            if !registry.file_name().to_string_lossy().starts_with('-') {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(registry.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if !names.iter().any(|n| is_version_of(&file, n)) {
                    continue;
                }
                let path = entry.path();
                let gone = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed += usize::from(gone.is_ok());
            }
        }
    }
    removed
}

/// Whether `file` is `<name>-<version>` (a folder) or `<name>-<version>.crate`.
fn is_version_of(file: &str, name: &str) -> bool {
    file.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
}

/// The descriptions of the [`REQUIRED`] files absent from the root of a package's file
/// list (`cargo package --list`, one path a line).
fn missing_files(list: &str) -> Vec<&'static str> {
    REQUIRED
        .iter()
        .filter(|(name, _)| {
            !list.lines().map(str::trim).any(|file| {
                let stem = file.split('.').next().unwrap_or(file);
                !file.contains('/') && stem == *name
            })
        })
        .map(|(_, what)| *what)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{is_version_of, missing_files};

    #[test]
    fn only_our_packages_versions_are_recognised() {
        assert!(is_version_of("alloc-core-0.1.0", "alloc-core"));
        assert!(is_version_of("alloc-core-0.1.0.crate", "alloc-core"));
        assert!(!is_version_of("alloc-core-extra-0.1.0", "alloc-core"));
        assert!(!is_version_of("alloc-compose-0.1.0", "alloc-core"));
        assert!(!is_version_of("alloc-core", "alloc-core"));
    }

    #[test]
    fn licenses_and_readme_must_be_at_the_package_root() {
        let complete = "Cargo.toml\nLICENSE-APACHE\nLICENSE-MIT\nREADME.md\nsrc/lib.rs\n";
        assert_eq!(missing_files(complete), Vec::<&str>::new());
        let bare = "Cargo.toml\nCargo.toml.orig\nsrc/lib.rs\nsrc/README.md\n";
        let missing = missing_files(bare);
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing[0].contains("MIT") && missing[2].contains("README"));
        // A README in another format counts; LICENSE-MIT-old does not stand for LICENSE-MIT.
        let other = "LICENSE-APACHE\nLICENSE-MIT-old\nREADME.txt\n";
        assert_eq!(missing_files(other), ["the MIT license text"]);
    }
}
