//! Property-test volume: the conformance kit's default run (10,000 generated sequences of up
//! to 100 operations, checked against a model; 20 under Miri) for every allocator and
//! composite whose own crate runs fewer, so that each one gets at least 10,000 sequences in
//! a normal `cargo test`. (`Heap`, `Scoped`, `FreeList`, `SyncFreeList`, `Locked` and
//! `GlobalAllocator` get theirs in their own crates' tests.)

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use allocators::testing::{Conformance, Report, run_ops_owner};
use allocators::{
    AllocatorList, Bucketizer, Buffer, Counters, Fallback, FreeList, Guard, Heap, Null, Proxy,
    Scoped, Segregator,
};
use core::mem::MaybeUninit;

/// The default volume (10,000 sequences). Under Miri, a handful of short ones: these
/// allocators already run through the kit under Miri in their own crates' tests.
fn kit() -> Conformance {
    if cfg!(miri) {
        Conformance::new().tests(4).max_ops(30)
    } else {
        Conformance::new()
    }
}

fn busy(name: &str, r: &Report) {
    assert!(
        r.allocations > 0 && r.deallocations > 0,
        "{name}: nothing happened: {r:?}"
    );
}

#[test]
fn scope() {
    let r = kit().check_with(|ops| {
        let scoped = Scoped::new(128 * 1024).unwrap();
        scoped.scope(|s| run_ops_owner(s, ops)).unwrap()
    });
    busy("Scope", &r);
}

#[test]
fn buffer() {
    let r = kit().check_with(|ops| {
        let mut memory = [MaybeUninit::<u8>::uninit(); 8192];
        run_ops_owner(&Buffer::new(&mut memory), ops)
    });
    busy("Buffer", &r);
}

#[test]
fn null() {
    // Only zero-size requests succeed.
    let r = kit().check_owner(|| Null);
    assert!(r.failures > 0, "{r:?}");
}

#[test]
fn fallback() {
    let r = kit().check(|| Fallback::new(FreeList::new(64, 16).unwrap(), Heap));
    busy("Fallback<FreeList, Heap>", &r);
    let r = kit()
        .check_owner(|| Fallback::new(Scoped::new(8192).unwrap(), FreeList::new(256, 32).unwrap()));
    busy("Fallback<Scoped, FreeList>", &r);
}

#[test]
fn proxy() {
    let r = kit().check_with(|ops| {
        let proxy = Proxy::new(FreeList::new(128, 32).unwrap(), Counters::new());
        let report = run_ops_owner(&proxy, ops)?;
        assert_eq!(proxy.logger().counts().bytes_live, 0);
        Ok(report)
    });
    busy("Proxy<FreeList, Counters>", &r);
}

#[test]
fn segregator() {
    let r = kit().check_owner(|| {
        Segregator::<64, _, _>::new(
            FreeList::new(64, 32).unwrap(),
            Scoped::new(64 * 1024).unwrap(),
        )
    });
    busy("Segregator<64, FreeList, Scoped>", &r);
}

#[test]
fn bucketizer() {
    let r = kit().check_owner(|| {
        Bucketizer::<_, 8>::powers_of_two(16, |size| FreeList::new(size, 16)).unwrap()
    });
    busy("Bucketizer<FreeList, 8>", &r);
}

#[test]
fn allocator_list() {
    let r = kit().check_owner(|| AllocatorList::new(|| Scoped::new(4096)));
    busy("AllocatorList<Scoped>", &r);
}

#[test]
fn guard() {
    let r = kit().check(|| Guard::new(Heap));
    busy("Guard<Heap>", &r);
}

/// The re-entrancy mode (issue 13) over compositions of the leaves: the hostile code runs
/// inside the calls the composites make into `FreeList`s, `SyncFreeList`s, `Scoped`
/// arenas and the heap, and allocates, frees and reallocates through the outermost
/// composite.
mod reentrancy {
    use super::kit;
    use allocators::testing::Reentry;
    use allocators::{
        AllocatorExt, AllocatorList, Bucketizer, Fallback, FreeList, Guard, Heap, Proxy, Scoped,
        Segregator, Stats, SyncFreeList,
    };

    #[test]
    fn a_growing_small_object_allocator_of_hostile_free_lists() {
        let r = kit().check_reentrant(|reentry: &Reentry| {
            let r1 = reentry.clone();
            Segregator::<256, _, _>::new(
                Bucketizer::<_, 5>::powers_of_two(16, move |size| {
                    let r2 = r1.clone();
                    Ok(AllocatorList::new(move || {
                        Ok(r2.wrap(FreeList::new(size, 8)?))
                    }))
                })
                .unwrap(),
                reentry.wrap(Heap),
            )
        });
        assert!(r.reentrant > 0, "{r:?}");
    }

    #[test]
    fn a_guarded_fallback_from_a_hostile_arena_to_a_hostile_pool() {
        let r = kit().check_owner_reentrant(|reentry: &Reentry| {
            Guard::new(Fallback::new(
                reentry.wrap(Scoped::new(1 << 12).unwrap()),
                reentry.wrap(SyncFreeList::new(4096, 16).unwrap()),
            ))
        });
        assert!(r.reentrant > 0, "{r:?}");
    }

    #[test]
    fn a_counted_chain_whose_every_part_reenters() {
        let r = kit().check_reentrant(|reentry: &Reentry| {
            reentry
                .wrap(FreeList::new(64, 16).unwrap())
                .with_fallback(Proxy::new(reentry.wrap(Heap), Stats::new()))
                .proxy(Stats::new())
        });
        assert!(r.reentrant > 0, "{r:?}");
    }
}
