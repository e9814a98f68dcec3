//! `cargo xtask valgrind`: the integration tests of the library crates under memcheck.

use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::cmd;

/// Builds the integration-test binaries and runs each under valgrind's memcheck; any
/// error (invalid read or write, use of uninitialised memory, a definite leak) fails.
/// The conformance kit runs few sequences there (`ALLOC_CORE_CONFORMANCE_TESTS`) and the
/// stress test a short while (`ALLOCATORS_STRESS_SECONDS`): valgrind is for memory
/// errors, the volume runs natively.
pub(crate) fn run() -> Result<(), String> {
    if !cmd::succeeds("valgrind", &["--version"]) {
        return Err(
            "valgrind is not installed (apt-get install valgrind; `.ci/run` does it), \
             or skip it with `cargo xtask ci --no-valgrind`"
                .into(),
        );
    }
    let mut args = vec![
        "test",
        "--workspace",
        "--tests",
        "--no-run",
        "--message-format=json",
    ];
    for package in crate::miri::EXCLUDES {
        args.extend(["--exclude", package]);
    }
    println!("\n==> cargo {}", args.join(" "));
    let stdout = cmd::output(&mut cmd::cargo_command(&args))
        .map_err(|e| format!("building the tests failed: {e}"))?;
    let binaries = integration_test_binaries(&stdout)?;
    if binaries.is_empty() {
        return Err("no integration-test binaries found".into());
    }
    let started = Instant::now();
    for binary in &binaries {
        cmd::run(
            Command::new("valgrind")
                .args([
                    "--error-exitcode=1",
                    "--leak-check=full",
                    "--errors-for-leak-kinds=definite",
                    "--show-leak-kinds=definite",
                    "--quiet",
                ])
                .arg(binary)
                .args(["--test-threads", "1"])
                .env("ALLOC_CORE_CONFORMANCE_TESTS", "20")
                .env("ALLOCATORS_STRESS_SECONDS", "2"),
        )?;
    }
    println!(
        "xtask valgrind: {} binaries clean in {:.0?}",
        binaries.len(),
        started.elapsed()
    );
    Ok(())
}

/// The `executable` of every `compiler-artifact` message for a target of kind `test`
/// (integration tests, not unit tests or doc tests), from cargo's JSON lines.
fn integration_test_binaries(json_lines: &str) -> Result<Vec<String>, String> {
    let mut binaries = Vec::new();
    for line in json_lines.lines().filter(|l| l.starts_with('{')) {
        let message: Value = serde_json::from_str(line)
            .map_err(|e| format!("cargo's JSON message `{line}`: {e}"))?;
        let is_test = message["reason"] == "compiler-artifact"
            && message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "test"));
        if let (true, Some(executable)) = (is_test, message["executable"].as_str()) {
            binaries.push(executable.to_owned());
        }
    }
    Ok(binaries)
}

#[cfg(test)]
mod tests {
    use super::integration_test_binaries;

    #[test]
    fn only_integration_test_executables_are_picked() {
        let lines = [
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"alloc_core"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"it","kind":["test"]},"profile":{"test":true},"executable":"/t/debug/deps/it-1"}"#,
            // A unit-test binary: kind `lib`, built in test mode.
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"x"},"profile":{"test":true},"executable":"/t/debug/deps/x-2"}"#,
            r#"{"executable":"C:\\t\\it-3.exe","reason":"compiler-artifact","target":{"kind":["test"]}}"#,
            r#"{"reason":"build-finished","success":true}"#,
            "plain text from a build script",
        ]
        .join("\n");
        assert_eq!(
            integration_test_binaries(&lines).unwrap(),
            ["/t/debug/deps/it-1", r"C:\t\it-3.exe"]
        );
        assert!(integration_test_binaries("{broken").is_err());
    }
}
