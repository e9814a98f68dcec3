//! The arithmetic and parsing of `cargo xtask realworld`, without network or builds.

use std::time::Duration;

use super::{
    Counts, Measured, Options, UNSET_VARS, parse_args, parse_counts, ratio, rotation, table,
    test_command,
};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn the_counts_are_summed_over_every_test_result_line() {
    let output = "\
running 3 tests
test a ... ok
test b ... FAILED
test c ... ignored

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s

running 12 tests
test result: ok. 10 passed; 0 failed; 2 ignored; 0 measured; 5 filtered out; finished in 1.25s
";
    assert_eq!(
        parse_counts(output),
        Counts {
            passed: 11,
            failed: 1,
            ignored: 3
        }
    );
    // Lines that only look alike count nothing.
    assert_eq!(
        parse_counts("3 passed; 4 failed\ntest passed ... ok\n"),
        Counts::default()
    );
}

fn measured(suite: &str, alloc: &str, secs: &[f64]) -> Measured {
    Measured {
        suite: suite.into(),
        alloc: alloc.into(),
        counts: Counts {
            passed: 7,
            failed: 0,
            ignored: 1,
        },
        unstable: false,
        times: secs.iter().map(|&s| Duration::from_secs_f64(s)).collect(),
    }
}

#[test]
fn the_table_takes_the_minimum_and_divides_by_the_same_suite_s_baselines() {
    let rows = [
        measured("regex", "system", &[4.0, 3.0, 5.0]),
        measured("regex", "mimalloc", &[2.5, 2.0]),
        measured("regex", "ours", &[3.3, 6.0]),
        measured("rayon", "system", &[10.0]),
        measured("rayon", "ours", &[5.0]),
    ];
    assert_eq!(rows[0].best(), Some(Duration::from_secs(3)));
    let table = table(&rows, 3);
    assert!(
        table.contains("| regex | system | 7 | 0 | 1 | 3.00 s | 1.00 | 1.50 |"),
        "{table}"
    );
    assert!(
        table.contains("| regex | mimalloc | 7 | 0 | 1 | 2.00 s | 0.67 | 1.00 |"),
        "{table}"
    );
    assert!(
        table.contains("| regex | ours | 7 | 0 | 1 | 3.30 s | 1.10 | 1.65 |"),
        "{table}"
    );
    // No mimalloc row for rayon: no ratio to it.
    assert!(
        table.contains("| rayon | ours | 7 | 0 | 1 | 5.00 s | 0.50 | – |"),
        "{table}"
    );
    assert!(table.contains("Minimum wall time of 3 runs"));
}

#[test]
fn ratios_need_both_times() {
    let s = |x: f64| Some(Duration::from_secs_f64(x));
    assert_eq!(ratio(s(1.0), s(4.0)), "0.25");
    assert_eq!(ratio(None, s(4.0)), "–");
    assert_eq!(ratio(s(1.0), None), "–");
    assert_eq!(ratio(s(1.0), Some(Duration::ZERO)), "–");
}

#[test]
fn runs_rotate_the_order_of_the_allocators() {
    assert_eq!(rotation(&[1, 2, 3], 0), [1, 2, 3]);
    assert_eq!(rotation(&[1, 2, 3], 1), [2, 3, 1]);
    assert_eq!(rotation(&[1, 2, 3], 5), [3, 1, 2]);
    assert!(rotation::<u8>(&[], 3).is_empty());
}

#[test]
fn the_command_line_takes_runs_and_lists() {
    assert_eq!(
        parse_args(&args(&[
            "--runs", "3", "--alloc", "system", "ours", "--suite", "regex"
        ])),
        Ok(Options {
            runs: 3,
            allocs: args(&["system", "ours"]),
            suites: args(&["regex"]),
        })
    );
    assert_eq!(parse_args(&[]).map(|o| o.runs), Ok(5));
    assert!(parse_args(&args(&["--runs", "0"])).is_err());
    assert!(parse_args(&args(&["regex"])).is_err());
    assert!(parse_args(&args(&["--fast"])).is_err());
}

#[test]
fn test_binaries_run_in_the_suite_folder_without_the_caller_s_backtrace_settings() {
    let dir = std::path::Path::new("/suites/regex");
    let cmd = test_command(std::path::Path::new("/bin/integration"), dir);
    assert_eq!(cmd.get_current_dir(), Some(dir));
    let envs: Vec<_> = cmd.get_envs().collect();
    assert!(envs.contains(&("CARGO_MANIFEST_DIR".as_ref(), Some(dir.as_os_str()))));
    for var in ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE", "RUST_TEST_THREADS"] {
        assert!(UNSET_VARS.contains(&var));
        assert!(envs.contains(&(var.as_ref(), None)), "{var} is not removed");
    }
}
