//! The growing `Scoped` (with limits, retain policies, resets, checkpoints and scopes that
//! cross chunk boundaries) and the `SharedArena`, driven by arbitrary operations and
//! checked by the conformance kit.
#![no_main]

use alloc_core::Allocator;
use alloc_scoped::{Retain, Scope, Scoped, SharedArena};
use allocators_fuzz::{Input, check, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    // A small first chunk, so that most sequences grow.
    let initial = usize::from(input.u16() % 4096);
    let limit = match input.byte() {
        0..=191 => None,
        b => Some(usize::from(b) * 1024),
    };
    let retain = if setup & 0x80 == 0 { Retain::Largest } else { Retain::All };
    match setup % 4 {
        0 => {
            let Ok(arena) = Scoped::growable(initial) else {
                return;
            };
            arena.set_limit(limit);
            arena.set_retain(retain);
            let ops = input.ops();
            check("growing Scoped", &ops, run_ops_owner(&arena, &ops));
        }
        1 => {
            // Reuse after a reset and after `reset_to`.
            let Ok(mut arena) = Scoped::growable(initial) else {
                return;
            };
            arena.set_retain(retain);
            let first = input.ops_up_to(64);
            check("before reset", &first, run_ops_owner(&arena, &first));
            arena.reset();
            assert_eq!(arena.used(), 0);
            let checkpoint = arena.checkpoint();
            let second = input.ops_up_to(64);
            check("after reset", &second, run_ops_owner(&arena, &second));
            arena.reset_to(checkpoint);
            assert_eq!(arena.used(), 0);
            let rest = input.ops();
            check("after reset_to", &rest, run_ops_owner(&arena, &rest));
        }
        2 => {
            let Ok(arena) = Scoped::growable(initial) else {
                return;
            };
            arena.set_limit(limit);
            arena.set_retain(retain);
            let depth = usize::from(setup >> 4) % 3 + 1;
            let ops = input.ops_up_to(128);
            let before = arena.stats();
            {
                let guard = arena.scope_guard().expect("not busy");
                in_scope(&guard, depth - 1, &ops);
            }
            let after = arena.stats();
            assert_eq!(after.allocated, before.allocated, "the scopes' memory is back");
            assert_eq!(after.chunks, before.chunks, "the scopes' chunks are back");
            let rest = input.ops();
            check("growing Scoped after scopes", &rest, run_ops_owner(&arena, &rest));
        }
        _ => {
            let mut arena = SharedArena::new(initial);
            arena.set_limit(limit);
            let ops = input.ops();
            check("SharedArena", &ops, run_ops_owner(&arena, &ops));
        }
    }
});

fn in_scope(scope: &Scope<'_>, depth: usize, ops: &[alloc_core::testing::Op]) {
    if depth == 0 {
        check("Scope of a growing Scoped", ops, run_ops_owner(scope, ops));
        return;
    }
    // The scope holds a block across its child scope (large enough to cross chunks).
    let held = scope.allocate_slice_with(700, |i| i as u8);
    scope
        .scope(|s| in_scope(s, depth - 1, ops))
        .expect("the scope is not busy");
    if let Ok(held) = held {
        assert!(
            held.iter().enumerate().all(|(i, &b)| b == i as u8),
            "scope block changed"
        );
    }
}
