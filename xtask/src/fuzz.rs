//! `cargo xtask fuzz`: one cargo-fuzz target of `fuzz/` for a bounded time.

use std::env;
use std::process::Command;

use crate::cmd;

/// Runs one fuzz target of `fuzz/` (a cargo-fuzz project outside the workspace) for a
/// bounded time, installing cargo-fuzz when it is missing. Findings land in
/// `fuzz/artifacts/<target>/`; the corpus grows in `fuzz/corpus/<target>/`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if !cmd::succeeds("cargo", &["+nightly", "fuzz", "--version"]) {
        cmd::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let fuzz_dir = cmd::workspace_root().join("fuzz");
    if args.iter().any(|a| a == "--list") {
        return cmd::run(
            Command::new("cargo")
                .args(["+nightly", "fuzz", "list"])
                .current_dir(&fuzz_dir),
        );
    }
    let (target, seconds) = parse_args(args)?;
    let max_time = format!("-max_total_time={seconds}");
    let asan_options = match env::var("ASAN_OPTIONS") {
        Ok(user) if !user.is_empty() => format!("allocator_may_return_null=1:{user}"),
        _ => "allocator_may_return_null=1".to_owned(),
    };
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "fuzz", "run", target, "--", &max_time])
        .current_dir(&fuzz_dir)
        // Sanitizer builds stay in `fuzz/target`, away from the workspace's.
        .env_remove("CARGO_TARGET_DIR")
        // The targets ask the heap for impossible sizes on purpose: ASan must answer null
        // (as malloc does), not report "requested allocation size exceeds maximum".
        .env("ASAN_OPTIONS", asan_options)
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    cmd::run(&mut cmd)
}

/// The target and the seconds (default 60) of `<target> [--seconds N]`.
fn parse_args(args: &[String]) -> Result<(&str, u64), String> {
    let mut target = None;
    let mut seconds = 60u64;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = rest.next().ok_or("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: `{value}` is not a number"))?;
            }
            name if target.is_none() && !name.starts_with('-') => target = Some(name),
            other => {
                return Err(format!(
                    "fuzz: unexpected argument `{other}`\n\n{}",
                    crate::HELP
                ));
            }
        }
    }
    let target = target.ok_or_else(|| format!("fuzz: which target?\n\n{}", crate::HELP))?;
    Ok((target, seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_args;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_target_and_optional_seconds() {
        assert_eq!(parse_args(&args(&["scoped"])), Ok(("scoped", 60)));
        assert_eq!(
            parse_args(&args(&["--seconds", "5", "scoped"])),
            Ok(("scoped", 5))
        );
        assert!(parse_args(&args(&[])).unwrap_err().contains("which target"));
        assert!(
            parse_args(&args(&["a", "--seconds", "x"]))
                .unwrap_err()
                .contains("`x` is not a number")
        );
        assert!(parse_args(&args(&["a", "b"])).unwrap_err().contains("`b`"));
    }
}
