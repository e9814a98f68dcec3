//! Fluent chaining: chains read left to right, their types can be written down, and they
//! nest to any depth.

use alloc_compose::{AllocatorExt, Counters, Event, Fallback, NoLog, Null, Proxy, Trace};
use alloc_core::{Allocator, BlockOwner, Heap};

use crate::support::{Bump, Pool, kit};

/// The type of a chain, written out: a pool, then a bump allocator, then the heap, with
/// a counting proxy around the whole and a trace on the bump allocator.
type AppAlloc = Proxy<Fallback<Fallback<Pool, Proxy<Bump, Trace>>, Heap>, Counters>;

/// A chain in a struct field.
struct App {
    alloc: AppAlloc,
}

impl App {
    fn new() -> Self {
        Self {
            alloc: Pool::new(64, 2)
                .with_fallback(Bump::new(256).proxy(Trace::new()))
                .with_fallback(Heap)
                .proxy(Counters::new()),
        }
    }
}

#[test]
fn a_chain_is_nameable_and_routes_each_request_to_the_right_part() {
    let app = App::new();
    let a = app.alloc.allocate(1u64).unwrap();
    let b = app.alloc.allocate(2u64).unwrap();
    let c = app.alloc.allocate(3u64).unwrap(); // the pool is full: the bump allocator
    let d = app.alloc.allocate([4u8; 300]).unwrap(); // too large for both: the heap
    let pool_and_bump = app.alloc.inner().main();
    assert!(pool_and_bump.main().owns(&a) && pool_and_bump.main().owns(&b));
    assert!(pool_and_bump.fallback().owns(&c));
    assert!(!pool_and_bump.owns(&d));
    assert_eq!((*a, *b, *c, d[299]), (1, 2, 3, 4));
    drop((a, b, c, d));
    // `c` in and out, and the 300-byte request the bump allocator could not serve.
    let trace = pool_and_bump.fallback().logger().take();
    assert_eq!(trace.len(), 3);
    assert!(matches!(trace[1], Event::AllocationFailed { layout, .. } if layout.size() == 300));
    let counts = app.alloc.logger().counts();
    assert_eq!(
        (counts.allocations, counts.deallocations, counts.bytes_live),
        (4, 4, 0)
    );
    assert_eq!(counts.peak_bytes, 8 * 3 + 300);
}

#[test]
fn chains_pass_the_conformance_kit() {
    let r = kit(300).check(|| App::new().alloc);
    assert_eq!(r.failures, 0, "{r:?}");
    kit(300).check_owner(|| {
        Pool::new(32, 2)
            .proxy(NoLog)
            .with_fallback(Pool::new(128, 2).with_fallback(Bump::new(1024)))
            .proxy(Counters::new())
            .with_fallback(Null)
    });
}

#[test]
fn borrowed_parts_chain_without_being_given_away() {
    let mut pool = Pool::new(64, 1);
    {
        let alloc = (&mut pool).with_fallback(Heap).proxy(NoLog);
        let a = alloc.allocate(1u8).unwrap();
        let b = alloc.allocate(2u8).unwrap();
        let pool = alloc.inner().main();
        assert!(pool.owns(&a) && !pool.owns(&b));
        assert_eq!(pool.live(), 1);
    }
    assert_eq!(pool.live(), 0);
    // The same pool serves another chain afterwards.
    let alloc = Fallback::new(&mut pool, Null);
    assert_eq!(*alloc.allocate(3u8).unwrap(), 3);
}

#[test]
fn null_alone_passes_and_fails_everything_but_zero_size() {
    let r = kit(200).check_owner(|| Null);
    assert!(r.failures > 0, "{r:?}");
    assert_eq!(
        r.reallocations + r.allocations,
        r.deallocations + r.reallocations
    );
}
