//! The architecture invariants that a program can check (see `ARCHITECTURE.md`), run by
//! `cargo test` (the `tidy` test at the end) and so by `cargo xtask ci`. Each check reads
//! the real files: the manifests (through `cargo metadata`) and every `.rs` file of the
//! repository.

use std::fs;
use std::path::{Path, PathBuf};

use crate::workspace::{self, DepKind, Package};

/// The crate every other may depend on; it depends on nothing by default.
pub(crate) const ROOT: &str = "alloc-core";
/// The facade: re-exports every library crate; no library crate depends on it.
pub(crate) const FACADE: &str = "allocators";

/// Source files longer than this are split into modules.
const MAX_LINES: usize = 800;

/// Files allowed over [`MAX_LINES`] for now, each with the reason. Remove an entry when
/// its file is split: the check fails on an entry that is no longer needed.
const LONG_FILE_EXCEPTIONS: &[&str] = &[];

/// `unsafe` blocks allowed without a safety comment for now: (file, a piece of the
/// block's line). None today; an entry must be removed once its comment is written (the
/// check fails on an unused entry).
const UNDOCUMENTED_UNSAFE_EXCEPTIONS: &[(&str, &str)] = &[];

/// What a safety comment contains: the word in capitals, then a colon.
const SAFETY_MARK: &str = concat!("SAFETY", ":");

/// An `unsafe` block's opening, spelt in two pieces so this file does not contain it.
const UNSAFE_BLOCK: &str = concat!("unsafe", " {");

/// `cargo xtask tidy`: prints every violation; fails if there is one.
pub(crate) fn run() -> Result<(), String> {
    let problems = check(&crate::cmd::workspace_root())?;
    if problems.is_empty() {
        println!("xtask tidy: the architecture invariants hold");
        return Ok(());
    }
    Err(format!(
        "{} architecture invariant(s) broken (see ARCHITECTURE.md):\n{}",
        problems.len(),
        problems.join("\n")
    ))
}

/// Every violation of the checkable invariants in the repository at `root`, one line
/// each, naming the file or package and the rule.
pub(crate) fn check(root: &Path) -> Result<Vec<String>, String> {
    check_with(
        root,
        &Exceptions {
            long_files: LONG_FILE_EXCEPTIONS,
            undocumented_unsafe: UNDOCUMENTED_UNSAFE_EXCEPTIONS,
        },
    )
}

/// Known violations, allowed until they are fixed: an entry that no longer matches one
/// is a problem itself, so the lists only shrink.
#[derive(Debug, Clone, Copy, Default)]
struct Exceptions<'a> {
    /// Files (relative paths, with `/`) allowed over [`MAX_LINES`].
    long_files: &'a [&'a str],
    /// `unsafe` blocks allowed without a safety comment: (file, a piece of the line).
    undocumented_unsafe: &'a [(&'a str, &'a str)],
}

/// [`check`] with other known violations allowed (for the tests on small trees).
fn check_with(root: &Path, exceptions: &Exceptions<'_>) -> Result<Vec<String>, String> {
    let packages = workspace::packages(root)?;
    let mut problems = check_dependencies(&packages);
    problems.extend(check_sources(root, exceptions)?);
    Ok(problems)
}

/// The library crates: the published packages.
fn is_library(p: &Package) -> bool {
    p.publish
}

/// The leaves: library crates other than the root and the facade.
pub(crate) fn leaves(packages: &[Package]) -> Vec<&Package> {
    packages
        .iter()
        .filter(|p| is_library(p) && p.name != ROOT && p.name != FACADE)
        .collect()
}

/// A support crate: `publish = false` and depending on no workspace crate but the root
/// (a shared test helper). A leaf may have one as a dev-dependency.
fn is_support(p: &Package, packages: &[Package]) -> bool {
    !p.publish && p.workspace_dependencies(packages).all(|d| d.name == ROOT)
}

/// Architecture invariants about dependencies, from the manifests:
/// the root depends on nothing by default and on no workspace crate; no leaf depends on
/// another leaf (nor on any workspace crate but the root and support crates, for tests);
/// no library crate depends on the facade.
pub(crate) fn check_dependencies(packages: &[Package]) -> Vec<String> {
    let mut problems = Vec::new();
    let find = |name: &str| packages.iter().find(|p| p.name == name);
    if let Some(root) = find(ROOT) {
        for d in &root.dependencies {
            if d.kind == DepKind::Normal && !d.optional {
                problems.push(format!(
                    "{ROOT}: depends on `{}` by default; the root depends on nothing by \
                     default (make it optional, behind a feature)",
                    d.name
                ));
            }
        }
    } else {
        problems.push(format!(
            "no package `{ROOT}` in the workspace (the root crate)"
        ));
    }
    if find(FACADE).is_none() {
        problems.push(format!(
            "no package `{FACADE}` in the workspace (the facade)"
        ));
    }
    let leaves = leaves(packages);
    for p in packages.iter().filter(|p| is_library(p)) {
        let is_leaf = leaves.iter().any(|leaf| leaf.name == p.name);
        for d in p.workspace_dependencies(packages) {
            let Some(target) = find(&d.name) else {
                continue;
            };
            let section = d.kind.section();
            if target.name == FACADE && p.name != FACADE {
                problems.push(format!(
                    "{}: [{section}] has `{FACADE}`: no library crate depends on the facade",
                    p.name
                ));
            } else if p.name == ROOT && d.name != ROOT && !is_support(target, packages) {
                problems.push(format!(
                    "{ROOT}: [{section}] has `{}`: the root depends on no other workspace crate",
                    d.name
                ));
            } else if is_leaf
                && d.name != ROOT
                && d.name != p.name
                && !(d.kind == DepKind::Dev && is_support(target, packages))
            {
                problems.push(format!(
                    "{}: [{section}] has `{}`: no leaf depends on another workspace crate but \
                     `{ROOT}` (tests that combine leaves live in the facade)",
                    p.name, d.name
                ));
            }
        }
    }
    problems
}

/// Architecture invariants about source files, for every `.rs` file under `root`
/// (build output, hidden folders and fuzzing corpora skipped): it starts with a `//!`
/// module doc, every `unsafe` block has a safety comment directly above, and it
/// has at most [`MAX_LINES`] lines, except for known violations listed in `exceptions`;
/// an exception that is no longer needed is a problem too.
fn check_sources(root: &Path, exceptions: &Exceptions<'_>) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    rust_files(root, &mut files)?;
    files.sort();
    let mut problems = Vec::new();
    let mut long_used = Vec::new();
    let mut unsafe_used = Vec::new();
    for path in &files {
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let relative = relative_name(root, path);
        if !text.starts_with("//!") {
            problems.push(format!(
                "{relative}: does not start with a `//!` module doc (what the module is for)"
            ));
        }
        let lines: Vec<&str> = text.lines().collect();
        for line in unsafe_blocks_without_safety_comment(&text) {
            let excepted = exceptions
                .undocumented_unsafe
                .iter()
                .find(|(file, piece)| *file == relative && lines[line - 1].contains(piece));
            if let Some(exception) = excepted {
                unsafe_used.push(*exception);
                continue;
            }
            problems.push(format!(
                "{relative}:{line}: `unsafe` block without a `// SAFETY:` comment directly above"
            ));
        }
        let lines = lines.len();
        if exceptions.long_files.contains(&relative.as_str()) {
            long_used.push(relative.clone());
            if lines <= MAX_LINES {
                problems.push(format!(
                    "{relative}: {lines} lines, no longer over {MAX_LINES}: remove it from \
                     LONG_FILE_EXCEPTIONS in xtask/src/tidy.rs"
                ));
            }
        } else if lines > MAX_LINES {
            problems.push(format!(
                "{relative}: {lines} lines; split files over {MAX_LINES} lines into modules"
            ));
        }
    }
    for exception in exceptions.long_files {
        if !long_used.iter().any(|u| u == exception) {
            problems.push(format!(
                "{exception}: listed in LONG_FILE_EXCEPTIONS (xtask/src/tidy.rs) but not \
                 found: remove the entry"
            ));
        }
    }
    for exception in exceptions.undocumented_unsafe {
        if !unsafe_used.contains(exception) {
            let (file, piece) = exception;
            problems.push(format!(
                "{file}: no undocumented `unsafe` block on a line with `{piece}` any more: \
                 remove the entry from UNDOCUMENTED_UNSAFE_EXCEPTIONS in xtask/src/tidy.rs"
            ));
        }
    }
    Ok(problems)
}

/// Every `.rs` file under `dir`, skipping build output (`target`, or any folder cargo
/// tagged as its cache), hidden folders and cargo-fuzz's `corpus` and `artifacts`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let file_type = entry
            .file_type()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if file_type.is_dir() {
            // Cargo marks every target folder, whatever its name, with a CACHEDIR.TAG.
            let skipped = name.starts_with('.')
                || name == "target"
                || name == "corpus"
                || name == "artifacts"
                || path.join("CACHEDIR.TAG").exists();
            if !skipped {
                rust_files(&path, out)?;
            }
        } else if file_type.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `root`, with `/` between components.
fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// The line numbers (from 1) of `unsafe` blocks that have no comment containing
/// [`SAFETY_MARK`] in the run of comment lines directly above them, or above the statement
/// they are part of when it starts on an earlier line (as clippy's
/// `undocumented_unsafe_blocks` accepts). Code in doc comments (doctests, hidden `# `
/// lines too, which clippy does not see) is checked like other code; an `unsafe` block
/// mentioned in an ordinary comment is not code.
pub(crate) fn unsafe_blocks_without_safety_comment(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().map(as_code).collect();
    let mut missing = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or(line);
        if !has_unsafe_block(code) {
            continue;
        }
        // Up to the first line of the statement: lines above that do not end one.
        let mut start = i;
        while start > 0 && continues_on_next_line(lines[start - 1]) {
            start -= 1;
        }
        let documented = lines[..start]
            .iter()
            .rev()
            .take_while(|above| above.trim_start().starts_with("//"))
            .any(|above| above.contains(SAFETY_MARK));
        if !documented {
            missing.push(i + 1);
        }
    }
    missing
}

/// Whether `code` opens an `unsafe` block: the keyword, not the end of a name such as
/// `maybe_unsafe`.
fn has_unsafe_block(code: &str) -> bool {
    code.match_indices(UNSAFE_BLOCK).any(|(i, _)| {
        !code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Whether the statement on `line` goes on, on the next line: code that does not end
/// with `;`, `,`, `{` or `}` (`let x =`, `self.head`, `a &&`).
fn continues_on_next_line(line: &str) -> bool {
    let code = line.trim();
    !code.is_empty()
        && !code.starts_with("//")
        && !code.starts_with('#')
        && !code.ends_with([';', ',', '{', '}'])
}

/// A line as code: doc-comment prefixes (`///`, `//!`) and a doctest's hidden-line `#`
/// removed, so a doctest's `unsafe` block needs its safety comment like any other.
fn as_code(line: &str) -> &str {
    let trimmed = line.trim_start();
    let Some(doc) = trimmed
        .strip_prefix("///")
        .or_else(|| trimmed.strip_prefix("//!"))
    else {
        return line;
    };
    let doc = doc.strip_prefix(' ').unwrap_or(doc);
    match doc.strip_prefix('#') {
        Some(hidden) if hidden.is_empty() || hidden.starts_with(' ') => {
            hidden.strip_prefix(' ').unwrap_or(hidden)
        }
        _ => doc,
    }
}

#[cfg(test)]
mod tests;
