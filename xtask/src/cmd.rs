//! Running commands: `cargo` with the toolchain xtask was started with, any other
//! program, each echoed with its duration, and where the workspace is.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Runs `cargo args...` with extra environment variables. A first argument `+toolchain`
/// goes through rustup's `cargo` proxy; otherwise the `cargo` that runs xtask is used.
pub(crate) fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let mut cmd = cargo_command(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// The `cargo` command for `args`, not yet run (see [`cargo`]).
pub(crate) fn cargo_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // A `+toolchain` argument only works through rustup's `cargo` proxy.
    if args.first().is_some_and(|a| a.starts_with('+')) {
        cmd = Command::new("cargo");
        cmd.env_remove("RUSTC")
            .env_remove("RUSTDOC")
            .env_remove("CARGO");
    }
    cmd.args(args);
    cmd
}

/// Runs `cmd` with inherited output, echoing it and its duration; an error names the
/// command and its exit status.
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    println!("\n==> {shown}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    println!("<== {:.1?}", started.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// Runs `cmd` and returns its standard output; its standard error goes to the terminal.
pub(crate) fn output(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{shown} failed with {}", out.status));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{shown}: output is not UTF-8: {e}"))
}

/// Whether `program args...` runs and exits successfully (a probe for an installed tool).
pub(crate) fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The workspace root: xtask lives in `<root>/xtask`.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = env!("CARGO_MANIFEST_DIR");
    Path::new(manifest)
        .parent()
        .map_or_else(|| manifest.into(), Path::to_path_buf)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}
