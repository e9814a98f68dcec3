//! Null, Fallback and Proxy (with counting loggers), alone and nested, driven by arbitrary
//! operations and checked by the conformance kit; the loggers' counts must match what the
//! kit did.
#![no_main]

use alloc_compose::{
    AtomicCounters, Counters, Counts, Event, Fallback, FnLogger, NoLog, Null, Proxy,
};
use alloc_core::Heap;
use alloc_core::testing::Report;
use alloc_freelist::FreeList;
use alloc_scoped::Scoped;
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    // A small pool and a small bump, so requests spill over to the fallback.
    let block = 8 + usize::from(input.byte());
    let count = 1 + usize::from(input.byte() % 64);
    let capacity = usize::from(input.u16()) % 16_384;
    let ops = input.ops();
    let pool = || FreeList::new_in(block, count, Heap).expect("valid pool");
    let bump = || Scoped::new_in(capacity, Heap).expect("small buffer");
    match setup % 7 {
        0 => {
            // Null hands out empty blocks only: a logger sees every success.
            let a = Proxy::new(
                Null,
                FnLogger(|e: &Event| match e {
                    Event::Allocated { block, .. } | Event::Reallocated { new: block, .. } => {
                        assert!(block.is_empty(), "Null handed out {block:?}");
                    }
                    _ => {}
                }),
            );
            check("Null", &ops, run_ops_owner(&a, &ops));
        }
        1 => {
            let a = Fallback::new(pool(), Heap);
            check("Fallback<FreeList, Heap>", &ops, run_ops(&a, &ops));
        }
        2 => {
            let a = Fallback::new(bump(), pool());
            check("Fallback<Scoped, FreeList>", &ops, run_ops_owner(&a, &ops));
        }
        3 => {
            let a = Proxy::new(pool(), Counters::new());
            let r = check("Proxy<FreeList, Counters>", &ops, run_ops_owner(&a, &ops));
            counts_match(&a.logger().counts(), &r);
        }
        4 => {
            let a = Proxy::new(Fallback::new(pool(), bump()), AtomicCounters::new());
            let r = check(
                "Proxy<Fallback<FreeList, Scoped>>",
                &ops,
                run_ops_owner(&a, &ops),
            );
            counts_match(&a.logger().counts(), &r);
        }
        5 => {
            // Nested three deep: a proxied pool, then a bump, then the heap.
            let a = Fallback::new(Proxy::new(pool(), NoLog), Fallback::new(bump(), Heap));
            check(
                "Fallback<Proxy<FreeList>, Fallback<Scoped, Heap>>",
                &ops,
                run_ops(&a, &ops),
            );
        }
        _ => {
            // A fallback whose main allocator only ever serves zero-size requests.
            let a = Fallback::new(Null, pool());
            check("Fallback<Null, FreeList>", &ops, run_ops_owner(&a, &ops));
        }
    }
});

/// The logger saw exactly what the kit did, and every byte came back.
fn counts_match(c: &Counts, r: &Report) {
    assert_eq!(c.allocations, r.allocations, "{c:?} {r:?}");
    assert_eq!(c.reallocations, r.reallocations, "{c:?} {r:?}");
    assert_eq!(c.deallocations, r.deallocations, "{c:?} {r:?}");
    assert_eq!(c.failures, r.failures, "{c:?} {r:?}");
    assert_eq!(c.bytes_live, 0, "{c:?} {r:?}");
}
