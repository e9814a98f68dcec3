//! The tidy checks on small trees written to a temporary folder (each rule must catch
//! its violation and accept its allowed cases), then on this repository.

use std::fs;
use std::path::PathBuf;

use super::*;

/// A throw-away workspace under the system's temporary folder, removed on drop.
struct Fixture {
    root: PathBuf,
}

impl Fixture {
    /// A workspace with a root crate, two leaves, the facade and a support crate: every
    /// invariant holds.
    fn new(name: &str) -> Fixture {
        let root = std::env::temp_dir().join(format!("xtask-tidy-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let fixture = Fixture { root };
        fixture.write(
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n",
        );
        fixture.krate("alloc-core", "", "");
        fixture.krate("leaf-a", "alloc-core = { path = \"../alloc-core\" }", "");
        fixture.krate(
            "leaf-b",
            "alloc-core = { path = \"../alloc-core\" }",
            "support = { path = \"../support\" }",
        );
        fixture.krate(
            "allocators",
            "alloc-core = { path = \"../alloc-core\" }\n\
             leaf-a = { path = \"../leaf-a\" }\nleaf-b = { path = \"../leaf-b\" }",
            "",
        );
        fixture.krate_unpublished("support", "", "");
        fixture
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn krate(&self, name: &str, dependencies: &str, dev_dependencies: &str) {
        self.manifest(name, "", dependencies, dev_dependencies);
    }

    fn krate_unpublished(&self, name: &str, dependencies: &str, dev_dependencies: &str) {
        self.manifest(name, "publish = false\n", dependencies, dev_dependencies);
    }

    fn manifest(&self, name: &str, extra: &str, dependencies: &str, dev_dependencies: &str) {
        self.write(
            &format!("crates/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{extra}\n\
                 [dependencies]\n{dependencies}\n\n[dev-dependencies]\n{dev_dependencies}\n"
            ),
        );
        self.write(
            &format!("crates/{name}/src/lib.rs"),
            &format!("//! The {name} crate.\n"),
        );
    }

    fn problems(&self) -> Vec<String> {
        check_with(&self.root, &Exceptions::default()).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Whether exactly one problem was found, and it contains every piece of `expected`.
fn one_problem(problems: &[String], expected: &[&str]) -> bool {
    problems.len() == 1 && expected.iter().all(|e| problems[0].contains(e))
}

#[test]
fn a_tree_that_keeps_every_invariant_has_no_problems() {
    let fixture = Fixture::new("clean");
    assert_eq!(fixture.problems(), Vec::<String>::new());
    let packages = workspace::packages(&fixture.root).unwrap();
    let mut leaves: Vec<&str> = leaves(&packages).iter().map(|p| p.name.as_str()).collect();
    leaves.sort_unstable();
    assert_eq!(
        leaves,
        ["leaf-a", "leaf-b"],
        "root, facade and support are not leaves"
    );
}

#[test]
fn a_leaf_depending_on_a_leaf_is_caught_in_any_section() {
    let fixture = Fixture::new("leaf-on-leaf");
    fixture.krate(
        "leaf-a",
        "alloc-core = { path = \"../alloc-core\" }\nleaf-b = { path = \"../leaf-b\" }",
        "",
    );
    let problems = fixture.problems();
    assert!(
        one_problem(&problems, &["leaf-a", "[dependencies]", "`leaf-b`"]),
        "{problems:?}"
    );

    fixture.krate(
        "leaf-a",
        "alloc-core = { path = \"../alloc-core\" }",
        "leaf-b = { path = \"../leaf-b\" }",
    );
    let problems = fixture.problems();
    assert!(
        one_problem(&problems, &["leaf-a", "[dev-dependencies]", "`leaf-b`"]),
        "{problems:?}"
    );
}

#[test]
fn a_leaf_may_test_with_a_support_crate_but_not_with_one_that_pulls_in_a_leaf() {
    let fixture = Fixture::new("support");
    // A support crate as a normal dependency would be published with the leaf.
    fixture.krate("leaf-a", "support = { path = \"../support\" }", "");
    let problems = fixture.problems();
    assert!(
        one_problem(&problems, &["leaf-a", "[dependencies]", "`support`"]),
        "{problems:?}"
    );

    // An unpublished crate that depends on a leaf (like freelist-only) is no support crate.
    fixture.krate("leaf-a", "", "");
    fixture.krate_unpublished("support", "leaf-a = { path = \"../leaf-a\" }", "");
    let problems = fixture.problems();
    assert!(
        one_problem(&problems, &["leaf-b", "[dev-dependencies]", "`support`"]),
        "{problems:?}"
    );
}

#[test]
fn no_library_crate_depends_on_the_facade_but_tools_may() {
    let fixture = Fixture::new("facade");
    fixture.krate(
        "leaf-a",
        "alloc-core = { path = \"../alloc-core\" }",
        "allocators = { path = \"../allocators\" }",
    );
    fixture.krate_unpublished("benches", "allocators = { path = \"../allocators\" }", "");
    let problems = fixture.problems();
    assert!(
        one_problem(&problems, &["leaf-a", "`allocators`", "facade"]),
        "{problems:?}"
    );
}

#[test]
fn the_root_depends_on_nothing_by_default() {
    let fixture = Fixture::new("root");
    fixture.krate("alloc-core", "support = { path = \"../support\" }", "");
    let problems = fixture.problems();
    assert!(
        one_problem(&problems, &["alloc-core", "`support` by default"]),
        "{problems:?}"
    );

    // Optional, behind a feature, is fine; a leaf as a test dependency is not.
    fixture.write(
        "crates/alloc-core/Cargo.toml",
        "[package]\nname = \"alloc-core\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
         [dependencies]\nsupport = { path = \"../support\", optional = true }\n\
         [dev-dependencies]\nleaf-a = { path = \"../leaf-a\" }\n",
    );
    let problems = fixture.problems();
    assert!(
        one_problem(
            &problems,
            &["alloc-core", "`leaf-a`", "no other workspace crate"]
        ),
        "{problems:?}"
    );
}

#[test]
fn every_module_starts_with_a_module_doc() {
    let fixture = Fixture::new("module-doc");
    fixture.write(
        "crates/leaf-a/src/inner.rs",
        "// A plain comment first.\n//! Late.\n",
    );
    fixture.write(
        "crates/leaf-a/tests/it/main.rs",
        "#![allow(missing_docs)]\n",
    );
    fixture.write("crates/leaf-a/src/ok.rs", "//! Fine.\n");
    // Build output and hidden folders are not sources.
    fixture.write("target/debug/build/out.rs", "fn generated() {}\n");
    fixture.write(".git/hook.rs", "fn hidden() {}\n");
    fixture.write(
        "my-target/CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    fixture.write("my-target/debug/out.rs", "fn generated() {}\n");
    let problems = fixture.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("crates/leaf-a/src/inner.rs: does not start"));
    assert!(problems[1].starts_with("crates/leaf-a/tests/it/main.rs: does not start"));
}

#[test]
fn every_unsafe_block_has_a_safety_comment_directly_above() {
    let block = UNSAFE_BLOCK;
    let text = format!(
        "//! Unsafe code.\n\
         fn f(p: *const u8) -> u8 {{\n\
         \x20   // SAFETY: the first line of a run of comments,\n\
         \x20   // which may go on.\n\
         \x20   let a = {block} *p }};\n\
         \x20   let b = {block} *p }};\n\
         \x20   // SAFETY: not directly above: code in between.\n\
         \x20   let c = a;\n\
         \x20   let d = {block} *p }};\n\
         \x20   // a comment that mentions {block} is not code\n\
         \x20   // SAFETY: above the statement, which goes on.\n\
         \x20   let e = a\n\
         \x20       .wrapping_add({block} *p }});\n\
         \x20   // SAFETY: above the call, not above its argument.\n\
         \x20   let f = g(\n\
         \x20       a,\n\
         \x20       {block} *p }},\n\
         \x20   );\n\
         \x20   a + b + c + d + e + f\n\
         }}\n\
         /// ```\n\
         /// # let p = &1u8 as *const u8;\n\
         /// // SAFETY: doctests too.\n\
         /// let x = {block} *p }};\n\
         /// # let y = {block} *p }};\n\
         /// ```\n\
         fn g() {{}}\n"
    );
    assert_eq!(unsafe_blocks_without_safety_comment(&text), [6, 9, 17, 25]);
    // A name ending in `unsafe` before a brace is not the keyword.
    let names = format!("//! Names.\nfor x in maybe_{block} }}\nlet y = {block} 1 }};\n");
    assert_eq!(unsafe_blocks_without_safety_comment(&names), [3]);

    let fixture = Fixture::new("safety");
    fixture.write("crates/leaf-a/src/lib.rs", &text);
    let problems = fixture.problems();
    assert_eq!(problems.len(), 4, "{problems:?}");
    for (problem, line) in problems.iter().zip([6, 9, 17, 25]) {
        let expected = format!("crates/leaf-a/src/lib.rs:{line}: `unsafe` block without");
        assert!(problem.starts_with(&expected), "{problem}");
    }

    // Known violations can be listed, by file and a piece of the line; a stale entry is
    // a problem.
    let exceptions = Exceptions {
        undocumented_unsafe: &[
            ("crates/leaf-a/src/lib.rs", "let b ="),
            ("crates/leaf-a/src/lib.rs", "let d ="),
            ("crates/leaf-a/src/lib.rs", "# let y ="),
            ("crates/leaf-a/src/lib.rs", "let a ="),
        ],
        ..Exceptions::default()
    };
    let problems = check_with(&fixture.root, &exceptions).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("crates/leaf-a/src/lib.rs:17: `unsafe` block"));
    assert!(problems[1].contains("`let a =` any more: remove the entry"));
}

#[test]
fn long_files_are_caught_and_stale_exceptions_too() {
    let fixture = Fixture::new("long");
    let long = format!("//! Long.\n{}", "fn f() {}\n".repeat(MAX_LINES));
    let short = "//! Short.\n";
    fixture.write("crates/leaf-a/src/long.rs", &long);
    fixture.write("crates/leaf-a/src/split.rs", short);
    let check = |long_files: &[&str]| {
        let exceptions = Exceptions {
            long_files,
            ..Exceptions::default()
        };
        check_with(&fixture.root, &exceptions).unwrap()
    };

    let problems = check(&[]);
    assert!(
        one_problem(&problems, &["crates/leaf-a/src/long.rs", "801 lines"]),
        "{problems:?}"
    );
    assert_eq!(check(&["crates/leaf-a/src/long.rs"]), Vec::<String>::new());
    // An exception for a file that was split, or that is gone, must be removed.
    let problems = check(&["crates/leaf-a/src/long.rs", "crates/leaf-a/src/split.rs"]);
    assert!(
        one_problem(&problems, &["split.rs", "no longer over", "remove"]),
        "{problems:?}"
    );
    let problems = check(&["crates/leaf-a/src/long.rs", "crates/gone.rs"]);
    assert!(
        one_problem(&problems, &["crates/gone.rs", "not found"]),
        "{problems:?}"
    );
    // Exactly at the limit is fine.
    fixture.write(
        "crates/leaf-a/src/long.rs",
        &long[..long.len() - "fn f() {}\n".len()],
    );
    assert_eq!(check(&[]), Vec::<String>::new());
}

/// The invariants hold in this repository (`cargo test` runs this, and so does
/// `cargo xtask ci`).
#[test]
fn tidy() {
    let root = crate::cmd::workspace_root();
    let problems = check(&root).unwrap();
    assert!(
        problems.is_empty(),
        "{} architecture invariant(s) broken (see ARCHITECTURE.md):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The check saw the real workspace: its roles exist and the leaves are found.
    let packages = workspace::packages(&root).unwrap();
    assert!(leaves(&packages).len() >= 4, "{packages:?}");
}
