//! The conformance kit on both types, with blocks large enough for most generated
//! requests, and with small blocks (many refusals, still many successes).

use alloc_core::testing::{Conformance, run_ops_owner};
use alloc_freelist::{FreeList, SyncFreeList};
use core::alloc::Layout;

/// 4 KiB blocks aligned to 4 KiB serve every request the kit generates.
fn page_blocks() -> Layout {
    Layout::from_size_align(4096, 4096).unwrap()
}

/// The kit with fewer, shorter sequences under Miri (each allocation of a page block
/// fills and checks 4 KiB, slow in the interpreter).
fn kit_for_page_blocks() -> Conformance {
    if cfg!(miri) {
        Conformance::new().tests(4).max_ops(40)
    } else {
        Conformance::new()
    }
}

#[test]
fn free_list_with_page_blocks() {
    let report =
        kit_for_page_blocks().check_owner(|| FreeList::with_layout(page_blocks(), 64).unwrap());
    assert!(report.allocations > 0 && report.reallocations > 0 && report.deallocations > 0);
    // Only exhaustion can fail, and 64 blocks are rarely exhausted by 100 operations.
    assert!(
        report.failures * 20 < report.allocations + report.reallocations,
        "{report:?}"
    );
}

#[test]
fn free_list_with_small_blocks() {
    // 64-byte, 16-aligned blocks: 70 % of the kit's sizes and 90 % of its alignments fit.
    let report = Conformance::new().check_owner(|| FreeList::new(64, 16).unwrap());
    assert!(report.allocations > report.failures, "{report:?}");
    assert!(
        report.reallocations > 0 && report.failures > 0,
        "{report:?}"
    );
}

#[test]
fn free_list_with_odd_stride() {
    // 100-byte blocks, 4-aligned: exercises the division-free boundary test.
    let report = Conformance::new().check_owner(|| FreeList::new(100, 8).unwrap());
    // Alignments above 4 and sizes above 100 are refused; still thousands succeed.
    assert!(report.allocations * 2 > report.failures, "{report:?}");
}

#[test]
fn free_list_over_a_borrowed_parent() {
    let parent = FreeList::with_layout(Layout::from_size_align(1 << 16, 64).unwrap(), 1).unwrap();
    Conformance::new()
        .tests(200)
        .check_with(|ops| run_ops_owner(&FreeList::new_in(256, 64, &parent).unwrap(), ops));
    assert_eq!(parent.free_blocks(), 1);
}

#[test]
fn sync_free_list_with_page_blocks() {
    let report =
        kit_for_page_blocks().check_owner(|| SyncFreeList::with_layout(page_blocks(), 64).unwrap());
    assert!(report.allocations > 0 && report.reallocations > 0 && report.deallocations > 0);
}

#[test]
fn sync_free_list_with_small_blocks() {
    let report = Conformance::new().check_owner(|| SyncFreeList::new(64, 16).unwrap());
    assert!(report.allocations * 2 > report.failures, "{report:?}");
}
