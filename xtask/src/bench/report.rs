//! The bench report: criterion's results of one run (its `benchmark.json` and
//! `estimates.json`, read with a JSON parser), summarised as ratios against the system
//! allocator and the fastest peer, in markdown.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use serde_json::Value;

/// One criterion benchmark: group, subject (the allocator), parameter, and the median
/// time per element in nanoseconds.
#[derive(Debug)]
pub(crate) struct BenchResult {
    group: String,
    subject: String,
    param: String,
    ns_per_element: f64,
}

/// Finds every `new/benchmark.json` under `dir` written since `since`, with its
/// `estimates.json`; a result that cannot be read is an error naming its file.
pub(crate) fn collect_results(
    dir: &Path,
    since: SystemTime,
    out: &mut Vec<BenchResult>,
) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let fresh = std::fs::metadata(path.join("benchmark.json"))
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if path.file_name().is_some_and(|n| n == "new") && fresh {
            out.push(read_result(&path)?);
        } else {
            collect_results(&path, since, out)?;
        }
    }
    Ok(())
}

/// The result in one `new/` folder of criterion's.
fn read_result(dir: &Path) -> Result<BenchResult, String> {
    let read = |name: &str| {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str::<Value>(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    parse_result(&read("benchmark.json")?, &read("estimates.json")?)
        .map_err(|e| format!("{}: {e}", dir.display()))
}

/// A result from criterion's `benchmark.json` (the id and the throughput) and
/// `estimates.json` (the median, in nanoseconds per iteration).
fn parse_result(bench: &Value, estimates: &Value) -> Result<BenchResult, String> {
    let group = bench["group_id"]
        .as_str()
        .ok_or("benchmark.json has no `group_id`")?
        .to_owned();
    let function = bench["function_id"].as_str().unwrap_or_default();
    let (subject, param) = match bench["value_str"].as_str() {
        Some(value) => (function.to_owned(), value.to_owned()),
        None => split_subject(function),
    };
    // Time per element when the group declares elements per iteration; else per iteration.
    let throughput = &bench["throughput"];
    let elements = throughput["Elements"]
        .as_f64()
        .or_else(|| throughput["ElementsAndBytes"]["elements"].as_f64())
        .unwrap_or(1.0)
        .max(1.0);
    let ns = estimates["median"]["point_estimate"]
        .as_f64()
        .ok_or("estimates.json has no `median.point_estimate`")?;
    Ok(BenchResult {
        group,
        subject,
        param,
        ns_per_element: ns / elements,
    })
}

/// `"System/16"` is subject `System` with parameter `16`: the last `/` outside `<...>`.
fn split_subject(function: &str) -> (String, String) {
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in function.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '/' if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    match split {
        Some(i) => (function[..i].to_string(), function[i + 1..].to_string()),
        None => (function.to_string(), String::new()),
    }
}

/// The peers: allocators a user would otherwise pick. `System` (and std's `Box`, which
/// uses it) is also the baseline of the first ratio.
fn is_system(subject: &str) -> bool {
    subject.starts_with("System") || subject.starts_with("std ")
}

fn is_peer(subject: &str) -> bool {
    let s = subject.to_ascii_lowercase();
    is_system(subject)
        || ["mimalloc", "jemalloc", "bumpalo", "bump-scope"]
            .iter()
            .any(|p| s.starts_with(p))
}

/// The markdown report: the machine, a summary per group and subject (geometric means
/// over the points of a curve), then every measurement.
pub(crate) fn summary(results: &mut [BenchResult], quick: bool) -> String {
    use std::fmt::Write as _;
    results.sort_by(|a, b| {
        (&a.group, param_key(&a.param), &a.subject).cmp(&(
            &b.group,
            param_key(&b.param),
            &b.subject,
        ))
    });
    // Ratios of each non-peer measurement: (group, subject, param, ns, x System, best peer).
    let mut rows = Vec::new();
    for r in results.iter() {
        let same_point = || {
            results
                .iter()
                .filter(|o| o.group == r.group && o.param == r.param)
        };
        let system = same_point().find(|o| is_system(&o.subject));
        let best_peer = same_point()
            .filter(|o| is_peer(&o.subject))
            .min_by(|a, b| a.ns_per_element.total_cmp(&b.ns_per_element));
        rows.push((
            r,
            system.map(|s| r.ns_per_element / s.ns_per_element),
            best_peer.map(|p| (r.ns_per_element / p.ns_per_element, p.subject.as_str())),
        ));
    }
    let mut out = String::from("## Benchmark summary\n\n");
    let _ = writeln!(out, "{}\n", machine_description(quick));
    out.push_str(
        "Ratios are time per operation against the system allocator and against the fastest \
         peer (System, mimalloc, jemalloc, bumpalo, bump-scope) at the same point of the same group, \
         in the same run: below 1.00 is faster.\n\n",
    );
    // At a glance: each allocator per suite, geometric means over every point of the
    // suite's groups.
    let suites = ["bump", "pool", "composition", "collections", "threads"];
    out.push_str(
        "### At a glance\n\nEach cell: × System / × best peer, the geometric mean over every \
         point of the suite where the allocator runs (– where it does not).\n\n| allocator |",
    );
    for suite in suites {
        let _ = write!(out, " {suite} |");
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(suites.len()));
    out.push('\n');
    // Ours first, then the peers (their "best peer" may be themselves: 1.00 is the best).
    let mut subjects: Vec<&str> = rows.iter().map(|(r, _, _)| r.subject.as_str()).collect();
    subjects.sort_unstable_by_key(|s| (is_peer(s), *s));
    subjects.dedup();
    for subject in subjects {
        let peer = if is_peer(subject) { " (peer)" } else { "" };
        let _ = write!(out, "| {}{peer} |", subject.replace('|', "\\|"));
        for suite in suites {
            let points: Vec<_> = rows
                .iter()
                .filter(|(o, _, _)| o.subject == subject && suite_of(&o.group) == suite)
                .collect();
            let vs_system: Vec<f64> = points.iter().filter_map(|p| p.1).collect();
            let vs_best: Vec<f64> = points.iter().filter_map(|p| p.2.map(|b| b.0)).collect();
            if points.is_empty() {
                out.push_str(" – |");
            } else {
                let _ = write!(out, " {} / {} |", geomean(&vs_system), geomean(&vs_best));
            }
        }
        out.push('\n');
    }
    out.push_str(
        "\n### Per group\n\nCurves are summarised by the geometric mean over their points \
         (range in brackets); every point is listed further down.\n\n",
    );
    out.push_str("| group | allocator | points | × System | × best peer |\n| --- | --- | ---: | ---: | ---: |\n");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (r, _, _) in &rows {
        let key = (r.group.as_str(), r.subject.as_str());
        if is_peer(&r.subject) || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let points: Vec<_> = rows
            .iter()
            .filter(|(o, _, _)| o.group == r.group && o.subject == r.subject)
            .collect();
        let vs_system: Vec<f64> = points.iter().filter_map(|p| p.1).collect();
        let vs_best: Vec<f64> = points.iter().filter_map(|p| p.2.map(|b| b.0)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.group,
            r.subject.replace('|', "\\|"),
            points.len(),
            summarise(&vs_system),
            summarise(&vs_best),
        );
    }
    out.push_str(
        "\n### Every point\n\n| group | point | allocator | ns/op | × System | × best peer (which) |\n\
         | --- | --- | --- | ---: | ---: | --- |\n",
    );
    for (r, vs_system, vs_best) in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {} | {} |",
            r.group,
            r.param,
            r.subject.replace('|', "\\|"),
            r.ns_per_element,
            vs_system.map_or_else(|| "–".into(), |x| format!("{x:.2}")),
            vs_best.map_or_else(|| "–".into(), |(x, p)| format!("{x:.2} ({p})")),
        );
    }
    out
}

/// The suite (concern) of a criterion group, from its prefix: the per-issue benches
/// belong to the suite of their concern.
fn suite_of(group: &str) -> &str {
    match group.split('/').next().unwrap_or(group) {
        "bump" | "scoped" => "bump",
        "pool" | "freelist" | "small_objects" | "heap" => "pool",
        "compose" => "composition",
        "global" | "threads" | "larson" | "xmalloc" => "threads",
        other => other,
    }
}

/// The geometric mean of `ratios` to two decimals; `–` for none.
fn geomean(ratios: &[f64]) -> String {
    if ratios.is_empty() {
        return "–".into();
    }
    let mean = (ratios.iter().map(|x| x.ln()).sum::<f64>() / ratios.len() as f64).exp();
    format!("{mean:.2}")
}

/// Numeric parameters sort as numbers (`8` before `32`), others as text.
fn param_key(param: &str) -> (u64, &str) {
    let digits: String = param.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), param)
}

/// `x` for one ratio; the geometric mean and `[min–max]` for several; `–` for none.
fn summarise(ratios: &[f64]) -> String {
    match ratios {
        [] => "–".into(),
        [x] => format!("{x:.2}"),
        _ => {
            let mean = (ratios.iter().map(|x| x.ln()).sum::<f64>() / ratios.len() as f64).exp();
            let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ratios.iter().copied().fold(0.0, f64::max);
            format!("{mean:.2} [{min:.2}–{max:.2}]")
        }
    }
}

/// Cores, CPU model, rustc version and load average of this machine.
fn machine_description(quick: bool) -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_string();
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "Machine: {cores} cores ({cpu}), {rustc}, load average {load} at the end of the run; \
         {} mode.",
        if quick {
            "quick (`--quick`: 0.2 s warm-up, 0.5 s measurement, 10 samples, 5,000 resamples)"
        } else {
            "full"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_files_are_read_by_field() {
        let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        // Keys in another order than criterion writes them, and extra fields.
        let bench = json(
            r#"{"full_id":"pool/size_curve/FreeList/512","throughput":{"Elements":64},
                "value_str":"512","function_id":"FreeList","group_id":"pool/size_curve",
                "title":"x"}"#,
        );
        let estimates = json(
            r#"{"mean":{"point_estimate":999.0,"standard_error":1.0},
                "median":{"confidence_interval":{"confidence_level":0.95,
                "lower_bound":120.0,"upper_bound":130.0},"point_estimate":128.0,
                "standard_error":2.0},"slope":null}"#,
        );
        let r = parse_result(&bench, &estimates).unwrap();
        assert_eq!(
            (r.group.as_str(), r.subject.as_str()),
            ("pool/size_curve", "FreeList")
        );
        assert_eq!((r.param.as_str(), r.ns_per_element), ("512", 2.0));

        // No value_str: the parameter is the function id's last part; no throughput:
        // time per iteration; elements and bytes: per element.
        let bench = json(
            r#"{"group_id":"g","function_id":"System/16","value_str":null,"throughput":null}"#,
        );
        let r = parse_result(&bench, &estimates).unwrap();
        assert_eq!(
            (r.subject.as_str(), r.param.as_str(), r.ns_per_element),
            ("System", "16", 128.0)
        );
        let bench = json(
            r#"{"group_id":"g","function_id":"A","throughput":{"ElementsAndBytes":{"elements":4,"bytes":64}}}"#,
        );
        assert_eq!(
            parse_result(&bench, &estimates).unwrap().ns_per_element,
            32.0
        );

        let no_median = json(r#"{"mean":{"point_estimate":1.0}}"#);
        assert!(
            parse_result(&bench, &no_median)
                .unwrap_err()
                .contains("median")
        );
        assert!(
            parse_result(&json("{}"), &estimates)
                .unwrap_err()
                .contains("group_id")
        );
    }

    #[test]
    fn results_of_this_run_are_collected_from_new_folders() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let write = |relative: &str, text: &str| {
            let path = dir.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let estimates = r#"{"median":{"point_estimate":10.0}}"#;
        write(
            "g/A/new/benchmark.json",
            r#"{"group_id":"g","function_id":"A"}"#,
        );
        write("g/A/new/estimates.json", estimates);
        // criterion's previous run, kept beside the new one: not this run.
        write(
            "g/A/base/benchmark.json",
            r#"{"group_id":"old","function_id":"A"}"#,
        );
        write("g/A/base/estimates.json", estimates);
        let since = SystemTime::now() - std::time::Duration::from_secs(60);
        let mut results = Vec::new();
        collect_results(&dir, since, &mut results).unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].group, "g");
        // Results older than the run are left out.
        let mut later = Vec::new();
        let future = SystemTime::now() + std::time::Duration::from_secs(60);
        collect_results(&dir, future, &mut later).unwrap();
        assert!(later.is_empty());
        // A broken file of this run is an error naming it.
        write(
            "g/B/new/benchmark.json",
            r#"{"group_id":"g","function_id":"B"}"#,
        );
        write("g/B/new/estimates.json", "{ broken");
        let err = collect_results(&dir, since, &mut Vec::new()).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("estimates.json"), "{err}");
    }

    #[test]
    fn subjects_split_at_the_last_slash_outside_angle_brackets() {
        let split = split_subject;
        assert_eq!(split("System/16"), ("System".into(), "16".into()));
        assert_eq!(
            split("SyncFreeList/2 threads"),
            ("SyncFreeList".into(), "2 threads".into())
        );
        assert_eq!(split("Locked<A/B>"), ("Locked<A/B>".into(), String::new()));
        assert_eq!(split("Heap"), ("Heap".into(), String::new()));
    }

    #[test]
    fn peers_suites_and_means() {
        assert!(is_system("System malloc+free") && is_system("std Box"));
        assert!(is_peer("MiMalloc") && is_peer("bump-scope") && !is_peer("FreeList"));
        assert!(!is_peer("GlobalAllocator<System>"));
        assert_eq!(suite_of("scoped/vec_growth"), "bump");
        assert_eq!(suite_of("global/adapter_batch_1_threads"), "threads");
        assert_eq!(suite_of("larson/8_64B"), "threads");
        assert!(is_peer("jemalloc"));
        assert_eq!(geomean(&[0.5, 2.0]), "1.00");
        assert_eq!(summarise(&[0.5, 2.0]), "1.00 [0.50–2.00]");
        assert!(
            param_key("8") < param_key("32") && param_key("2 threads") < param_key("8 threads")
        );
    }

    #[test]
    fn the_summary_divides_by_system_and_the_best_peer_at_the_same_point() {
        let result = |group: &str, subject: &str, param: &str, ns| BenchResult {
            group: group.into(),
            subject: subject.into(),
            param: param.into(),
            ns_per_element: ns,
        };
        let mut results = vec![
            result("pool/size_curve", "System", "8", 10.0),
            result("pool/size_curve", "mimalloc", "8", 5.0),
            result("pool/size_curve", "FreeList", "8", 2.0),
            result("pool/size_curve", "System", "64", 20.0),
            result("pool/size_curve", "mimalloc", "64", 40.0),
            result("pool/size_curve", "FreeList", "64", 10.0),
        ];
        let summary = summary(&mut results, true);
        // FreeList: 0.2 and 0.5 of System (mean 0.32), 0.4 and 0.5 of the best peer.
        assert!(
            summary.contains("| FreeList | – | 0.32 / 0.45 |"),
            "{summary}"
        );
        assert!(
            summary.contains(
                "| pool/size_curve | FreeList | 2 | 0.32 [0.20–0.50] | 0.45 [0.40–0.50] |"
            )
        );
        assert!(
            summary.contains("| pool/size_curve | 64 | FreeList | 10.00 | 0.50 | 0.50 (System) |")
        );
        // The peers follow ours in the glance table: mimalloc 0.5 and 2.0 of System.
        let ours = summary.find("| FreeList |").unwrap();
        let peer = summary
            .find("| mimalloc (peer) | – | 1.00 / 1.41 |")
            .unwrap();
        assert!(ours < peer);
    }
}
