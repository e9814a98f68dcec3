//! The faults themselves: a child process (this test binary, run again on one test) uses a
//! freed `Protected` block, or writes one byte past a block's end, and the parent checks
//! that the child was killed by `SIGSEGV` (or `SIGBUS`, which some systems send for a
//! `PROT_NONE` page).
//!
//! Unix and native only: Miri cannot spawn processes (and its fallback has no guard
//! pages: Miri reports these accesses itself, as undefined behaviour).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use alloc_pages::{Allocator, Protected};

use crate::layout;

/// Set in the child's environment: run the faulty access instead of spawning.
const CHILD: &str = "ALLOC_PAGES_FAULT_CHILD";

/// Runs `test` (its name in this binary) in a child process with [`CHILD`] set and
/// asserts that a memory-protection signal killed it.
fn assert_child_faults(test: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("child: about to fault"),
        "the child did not reach the faulty access:\n{stdout}\n{stderr}"
    );
    let signal = out.status.signal();
    assert!(
        signal == Some(libc::SIGSEGV) || signal == Some(libc::SIGBUS),
        "expected the child to be killed by SIGSEGV or SIGBUS, got {:?}\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn a_use_after_free_faults() {
    if std::env::var_os(CHILD).is_none() {
        return assert_child_faults("fault::a_use_after_free_faults");
    }
    let fence = Protected::new();
    let block = fence.allocate_raw(layout(64, 8)).unwrap();
    // SAFETY: valid for 64 bytes.
    unsafe { block.as_ptr().write_bytes(1, 64) };
    // SAFETY: currently allocated by `fence`.
    unsafe { fence.deallocate_raw(block) };
    println!("child: about to fault");
    // SAFETY: none: a read of freed memory on purpose, in a child process that is meant to
    // die of it (the page is mapped `PROT_NONE`: the read faults before it returns).
    let byte = unsafe { block.as_ptr().read_volatile() };
    println!("child: read {byte} from a freed block without a fault");
}

#[test]
fn a_write_one_byte_past_the_end_faults() {
    if std::env::var_os(CHILD).is_none() {
        return assert_child_faults("fault::a_write_one_byte_past_the_end_faults");
    }
    let fence = Protected::new();
    let block = fence.allocate_raw(layout(100, 4)).unwrap();
    // SAFETY: valid for `size()` bytes.
    unsafe { block.as_ptr().write_bytes(1, block.size()) };
    println!("child: about to fault");
    // SAFETY: none: one byte past the block on purpose, into the guard page, in a child
    // process that is meant to die of it.
    unsafe { block.as_ptr().add(block.size()).write_volatile(0) };
    println!("child: wrote past the end without a fault");
}
