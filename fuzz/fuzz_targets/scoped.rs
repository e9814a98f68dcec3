//! Scoped, Scope (nested), Buffer and Scoped over a lent buffer, driven by arbitrary
//! operations and checked by the conformance kit.
#![no_main]

use alloc_core::{Allocator, Heap};
use alloc_scoped::{Buffer, Scope, Scoped};
use allocators_fuzz::{Input, check, run_ops_owner};
use core::mem::MaybeUninit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    // Up to 256 KiB: big enough for most sequences, small enough to run out.
    let capacity = usize::from(input.u16()) * 4;
    match setup % 6 {
        0 => {
            let ops = input.ops();
            let Ok(alloc) = Scoped::new_in(capacity, Heap) else {
                return;
            };
            check("Scoped", &ops, run_ops_owner(&alloc, &ops));
        }
        1 => {
            let ops = input.ops();
            let mut memory = vec![MaybeUninit::<u8>::uninit(); capacity];
            let alloc = Scoped::from_buffer(&mut memory);
            check("Scoped::from_buffer", &ops, run_ops_owner(&alloc, &ops));
        }
        2 => {
            let ops = input.ops();
            let mut memory = vec![MaybeUninit::<u8>::uninit(); capacity % 8192];
            let buffer = Buffer::new(&mut memory);
            check("Buffer", &ops, run_ops_owner(&buffer, &ops));
        }
        3 => nested(&mut input, capacity, setup),
        4 => {
            // A Scoped inside a Scoped: the inner one's buffer is a block of the outer.
            let outer = Scoped::new_in(capacity, Heap).unwrap_or_else(|_| unreachable!());
            let first = input.ops_up_to(32);
            check("outer Scoped", &first, run_ops_owner(&outer, &first));
            let inner_capacity = usize::from(input.u16());
            let ops = input.ops();
            let Ok(inner) = Scoped::new_in(inner_capacity, &outer) else {
                return;
            };
            check("Scoped in Scoped", &ops, run_ops_owner(&inner, &ops));
        }
        _ => {
            // Reuse after `reset`, and after running out.
            let Ok(mut alloc) = Scoped::new_in(capacity, Heap) else {
                return;
            };
            let first = input.ops_up_to(64);
            check("Scoped before reset", &first, run_ops_owner(&alloc, &first));
            alloc.reset();
            assert_eq!(alloc.used(), 0);
            let ops = input.ops();
            check("Scoped after reset", &ops, run_ops_owner(&alloc, &ops));
        }
    }
});

/// Ops in scopes nested `depth` deep while the parent holds a block; then the parent
/// must be intact, have reclaimed everything, and still pass on the remaining ops.
fn nested(input: &mut Input<'_>, capacity: usize, setup: u8) {
    let depth = usize::from(setup >> 4) % 4 + 1;
    let held = usize::from(input.byte());
    let Ok(alloc) = Scoped::new_in(capacity.max(held), Heap) else {
        return;
    };
    let outer = alloc
        .allocate_slice_with(held, |i| i as u8)
        .unwrap_or_else(|e| panic!("{held} bytes in a {} B Scoped: {e}", alloc.capacity()));
    let used = alloc.used();
    let ops = input.ops_up_to(128);
    alloc
        .scope(|s| in_scope(s, depth - 1, &ops))
        .expect("the parent is not busy");
    assert!(
        outer.iter().enumerate().all(|(i, &b)| b == i as u8),
        "parent block changed"
    );
    assert_eq!(alloc.used(), used, "the scopes' memory was not reclaimed");
    drop(outer);
    let rest = input.ops();
    check("Scoped after scopes", &rest, run_ops_owner(&alloc, &rest));
}

fn in_scope(scope: &Scope<'_>, depth: usize, ops: &[alloc_core::testing::Op]) {
    if depth == 0 {
        check("Scope", ops, run_ops_owner(scope, ops));
        return;
    }
    // The scope holds a block across its child scope.
    let held = scope.allocate_slice_with(8, |i| !(i as u8));
    scope
        .scope(|s| in_scope(s, depth - 1, ops))
        .expect("the scope is not busy");
    if let Ok(held) = held {
        assert!(
            held.iter().enumerate().all(|(i, &b)| b == !(i as u8)),
            "scope block changed"
        );
    }
}
