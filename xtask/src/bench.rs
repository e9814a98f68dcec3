//! `cargo xtask bench`: the criterion suite, then the ratio table of this run
//! (`report`).

mod report;

use std::time::{Duration, SystemTime};

use crate::cmd::{self, cargo};

/// Runs the benchmark suite (criterion, `allocators-benches`), then reads criterion's
/// results of this run and writes the ratio table (markdown) to stdout and to
/// `target/bench-summary.md`, next to criterion's report in `target/criterion/report/`.
/// `--quick` shortens warm-up and measurement; bench names (`pool threads`) run only those.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(other) = args.iter().find(|a| a.starts_with('-') && *a != "--quick") {
        return Err(format!(
            "bench: unexpected argument `{other}`\n\n{}",
            crate::HELP
        ));
    }
    let names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut cargo_args = vec!["bench", "-p", "allocators-benches"];
    for name in &names {
        cargo_args.extend(["--bench", name]);
    }
    if names.is_empty() {
        cargo_args.push("--benches");
    }
    cargo_args.push("--");
    if quick {
        cargo_args.extend([
            "--warm-up-time",
            "0.2",
            "--measurement-time",
            "0.5",
            "--sample-size",
            "10",
            // Criterion's default 100,000 bootstrap resamples (and the plots drawn from
            // them) cost about 4 s per benchmark here, several times the measurement.
            "--nresamples",
            "5000",
        ]);
    }
    // Results older than this run are not reported (a target dir keeps old benchmarks).
    let started = SystemTime::now() - Duration::from_secs(1);
    cargo(&cargo_args, &[])?;

    let target = cmd::target_dir();
    let criterion = target.join("criterion");
    let mut results = Vec::new();
    report::collect_results(&criterion, started, &mut results)?;
    if results.is_empty() {
        return Err(format!(
            "no criterion results of this run under {}",
            criterion.display()
        ));
    }
    let mut summary = report::summary(&mut results, quick);
    // The memory benches write their own tables; they join the summary when they ran now.
    for name in ["bench-memory.md", "bench-memory-threads.md"] {
        let memory = target.join(name);
        let fresh = std::fs::metadata(&memory)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        if fresh {
            if let Ok(text) = std::fs::read_to_string(&memory) {
                summary.push('\n');
                summary.push_str(&text);
            }
        }
    }
    let out = target.join("bench-summary.md");
    std::fs::write(&out, &summary).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("\n{summary}");
    println!("xtask bench: table written to {}", out.display());
    println!(
        "xtask bench: criterion's report: {}",
        criterion.join("report/index.html").display()
    );
    Ok(())
}
