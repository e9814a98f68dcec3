//! Tests of the kit itself: operations shrink to valid smaller ones, shrunk sequences
//! still run, and the default volumes.

use super::model::layout;
use super::{Conformance, Op, run_ops};
use crate::Heap;
use alloc::vec::Vec;
use quickcheck::{Arbitrary, Gen};

/// Every shrink candidate of an operation is a different, valid operation (its layout
/// can be built), no larger in any field, and of the same kind or simpler (a
/// reallocation may become an allocation of its layout, never the reverse): shrinking
/// terminates and stays valid.
#[test]
fn op_shrink_candidates_are_valid_and_smaller() {
    let mut g = Gen::new(100);
    for _ in 0..if cfg!(miri) { 20 } else { 2_000 } {
        let op = Op::arbitrary(&mut g);
        for candidate in op.shrink().take(64) {
            assert_ne!(candidate, op);
            match (op, candidate) {
                (
                    Op::Alloc {
                        size, align_log2, ..
                    },
                    Op::Alloc {
                        size: s,
                        align_log2: a,
                        ..
                    },
                ) => {
                    assert!(s <= size && a <= align_log2, "{op:?} -> {candidate:?}");
                    let _ = layout(s, a);
                }
                (Op::Free { index }, Op::Free { index: i }) => assert!(i <= index),
                (
                    Op::Realloc {
                        size, align_log2, ..
                    },
                    Op::Alloc {
                        size: s,
                        align_log2: a,
                        zeroed: false,
                    },
                ) => assert!(s == size && a == align_log2, "{op:?} -> {candidate:?}"),
                (
                    Op::Realloc {
                        index,
                        size,
                        align_log2,
                    },
                    Op::Realloc {
                        index: i,
                        size: s,
                        align_log2: a,
                    },
                ) => {
                    assert!(i <= index && s <= size && a <= align_log2);
                    let _ = layout(s, a);
                }
                _ => panic!("shrinking changed the kind of {op:?} to {candidate:?}"),
            }
        }
    }
}

/// Every shrunk sequence (fewer operations, or smaller ones) still runs: frees and
/// reallocations of blocks that are gone pick a live block modulo the count.
#[test]
fn shrunk_sequences_stay_valid() {
    let mut g = Gen::new(40);
    for _ in 0..if cfg!(miri) { 2 } else { 100 } {
        let ops = Vec::<Op>::arbitrary(&mut g);
        for candidate in ops.shrink().take(if cfg!(miri) { 3 } else { 40 }) {
            assert!(candidate.len() <= ops.len());
            run_ops(&Heap, &candidate).unwrap();
        }
    }
}

#[test]
fn the_default_volume_is_ten_thousand_sequences() {
    let kit = Conformance::new();
    let expected = if cfg!(miri) {
        super::MIRI_TESTS
    } else {
        10_000
    };
    assert_eq!(kit.tests, expected);
    assert_eq!(
        Conformance::new().tests(50).tests,
        if cfg!(miri) { super::MIRI_TESTS } else { 50 }
    );
    assert_eq!(
        Conformance::new().max_ops(60).max_ops,
        if cfg!(miri) { super::MIRI_MAX_OPS } else { 60 }
    );
}
