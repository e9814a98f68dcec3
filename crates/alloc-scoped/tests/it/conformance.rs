//! The conformance kit on every set-up: a fresh `Scoped`, inside nested scopes, around
//! an open scope, over a lent buffer, inside another `Scoped`, and `Buffer` itself.

use alloc_core::Allocator;
use alloc_core::testing::{Conformance, Report, run_ops_owner};
use alloc_scoped::{Buffer, Scoped};
use core::alloc::Layout;
use core::mem::MaybeUninit;

/// Big enough for most sequences (up to 100 ops of up to 4 KiB), small enough that some
/// run out, so the failure paths are exercised too.
// Smaller under Miri, where every `&mut` of the whole buffer is retagged byte by byte.
const SIZE: usize = if cfg!(miri) { 32 * 1024 } else { 128 * 1024 };

/// The kit, with shorter sequences under Miri (it already runs fewer of them there).
fn kit() -> Conformance {
    Conformance::new().max_ops(if cfg!(miri) { 40 } else { 100 })
}

fn assert_busy(report: &Report) {
    assert!(report.allocations > 0 && report.reallocations > 0 && report.deallocations > 0);
}

#[test]
fn a_fresh_scoped_passes() {
    let report = kit().check_owner(|| Scoped::new(SIZE).unwrap());
    assert_busy(&report);
}

#[test]
fn a_small_scoped_passes_while_running_out() {
    let report = kit().tests(300).check_owner(|| Scoped::new(2048).unwrap());
    assert_busy(&report);
    assert!(report.failures > 0);
}

#[test]
fn scopes_pass_at_every_depth() {
    for depth in 0..4 {
        let report = kit().tests(200).check_with(|ops| {
            let alloc = Scoped::new(SIZE).unwrap();
            // The parent holds a block across the scope, which the child must not touch.
            let outer = alloc.allocate_slice_with(16, |i| i as u8).unwrap();
            let result = nest(&alloc, depth, ops);
            assert!(outer.iter().enumerate().all(|(i, &b)| b == i as u8));
            if depth > 0 {
                // Everything the scopes allocated is reclaimed.
                assert_eq!(alloc.used(), 16);
            }
            result
        });
        assert_busy(&report);
    }
}

/// Runs the ops in a scope `depth` levels down (0: the allocator itself).
fn nest(
    alloc: &Scoped,
    depth: usize,
    ops: &[alloc_core::testing::Op],
) -> Result<Report, alloc_core::testing::Violation> {
    match depth {
        0 => run_ops_owner(alloc, ops),
        1 => alloc.scope(|a| run_ops_owner(a, ops)).unwrap(),
        2 => alloc
            .scope(|a| a.scope(|b| run_ops_owner(b, ops)).unwrap())
            .unwrap(),
        _ => alloc
            .scope(|a| {
                let _kept = a.allocate(7u32).unwrap();
                a.scope(|b| b.scope(|c| run_ops_owner(c, ops)).unwrap())
                    .unwrap()
            })
            .unwrap(),
    }
}

#[test]
fn the_parent_passes_after_scopes_and_with_live_blocks() {
    kit().tests(300).check_with(|ops| {
        let alloc = Scoped::new(SIZE).unwrap();
        let before = alloc.allocate([1u64; 4]).unwrap();
        alloc
            .scope(|s| {
                let _x = s.allocate([2u8; 100]).unwrap();
            })
            .unwrap();
        let r = run_ops_owner(&alloc, ops);
        assert_eq!(*before, [1; 4]);
        r
    });
}

#[test]
fn a_scoped_over_a_lent_buffer_passes() {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); SIZE];
    kit().tests(300).check_with(|ops| {
        let alloc = Scoped::from_buffer(&mut memory);
        run_ops_owner(&alloc, ops)
    });
}

#[test]
fn a_scoped_inside_a_scoped_passes() {
    let outer = Scoped::new(SIZE + 64).unwrap();
    kit().tests(300).check_with(|ops| {
        // 16 bytes of alignment 1 below a 16-aligned end: no padding, so freeing both in
        // reverse order rewinds the outer allocator completely.
        let _before = outer.allocate([1u8; 16]).unwrap();
        let inner = Scoped::new_in(SIZE, &outer).unwrap();
        run_ops_owner(&inner, ops)
    });
    assert_eq!(outer.used(), 0);
}

#[test]
fn buffer_passes() {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); 8192];
    kit().tests(300).check_with(|ops| {
        let buffer = Buffer::new(&mut memory);
        run_ops_owner(&buffer, ops)
    });
}

#[test]
fn a_scoped_passes_after_a_reset() {
    kit().tests(200).check_with(|ops| {
        let mut alloc = Scoped::new(SIZE).unwrap();
        let b = alloc.allocate_raw(Layout::new::<[u8; 1000]>()).unwrap();
        assert!(!b.is_empty());
        alloc.reset();
        run_ops_owner(&alloc, ops)
    });
}
