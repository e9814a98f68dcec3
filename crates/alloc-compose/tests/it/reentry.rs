//! The conformance kit's re-entrancy mode over every composite of this crate: hostile code
//! runs inside the calls each composite makes into its parts (instances, parents, inner
//! allocators, loggers, factories, callbacks) and allocates, frees and reallocates through
//! the very composite that is in the middle of the call.

use alloc_compose::{
    AllocatorExt, AllocatorList, Bucketizer, Fallback, Guard, Proxy, ProxyLogger, Segregator, Stats,
};
use alloc_core::testing::{Conformance, Reentry};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;

use crate::support::{Bump, Pool};

/// The volume of the re-entrancy runs: the usual 10,000 sequences natively, a handful
/// under Miri.
fn kit() -> Conformance {
    Conformance::new().tests(if cfg!(miri) { 8 } else { 10_000 })
}

/// Calls `list.for_each_instance` after every operation, with a callback that runs the
/// hostile code: a box of the list dropped inside the walk, as a user's callback may.
struct Walking<L> {
    list: L,
    reentry: Reentry,
}

// SAFETY: forwards every operation to the list.
unsafe impl<F, P> Allocator for Walking<AllocatorList<F, P>>
where
    F: alloc_compose::AllocatorFactory,
    F::Output: BlockOwner,
    P: Allocator,
{
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let r = self.list.allocate_raw(layout);
        self.list.for_each_instance(|_| self.reentry.hook());
        r
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.list.deallocate_raw(block) };
        self.list.for_each_instance(|_| self.reentry.hook());
    }
}

// SAFETY: forwards to the list.
unsafe impl<F, P> BlockOwner for Walking<AllocatorList<F, P>>
where
    F: alloc_compose::AllocatorFactory,
    F::Output: BlockOwner,
    P: Allocator,
{
    fn owns_block(&self, block: &Block) -> bool {
        self.list.owns_block(block)
    }
}

#[test]
fn allocator_list_instances_that_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        let reentry = reentry.clone();
        AllocatorList::new(move || Ok(reentry.wrap(Pool::new(64, 2))))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn allocator_list_factory_and_parent_that_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        let r2 = reentry.clone();
        AllocatorList::new_in(
            move || {
                r2.hook();
                Ok(Bump::new(512))
            },
            reentry.wrap(Heap),
        )
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn allocator_list_for_each_instance_callbacks_that_reenter() {
    let r = kit().check_owner_reentrant(|reentry| Walking {
        list: {
            let reentry = reentry.clone();
            AllocatorList::new(move || Ok(reentry.wrap(Pool::new(64, 2))))
        },
        reentry: reentry.clone(),
    });
    assert!(r.reentrant > 0, "{r:?}");
}

/// A logger that runs the hostile code on every event.
struct HostileLogger(Reentry);

impl ProxyLogger for HostileLogger {
    fn log(&self, _event: &alloc_compose::Event) {
        self.0.hook();
    }
}

#[test]
fn allocator_list_of_proxies_whose_loggers_reenter() {
    // Issue 13's second case: the instances are `Proxy<Pool, logger>`, and the logger
    // (safe user code, run inside the instance's call) frees and allocates through the
    // list.
    let r = kit().check_owner_reentrant(|reentry| {
        let reentry = reentry.clone();
        AllocatorList::new(move || {
            Ok(alloc_compose::Proxy::new(
                Pool::new(64, 2),
                HostileLogger(reentry.clone()),
            ))
        })
    });
    assert!(r.reentrant > 0, "{r:?}");
}

/// Sequences the re-entrancy mode found against the `AllocatorList` of before issue 13's
/// fix (instances that re-enter the list from inside their calls; a walk whose callback
/// frees): the list freed a node it still held (as the walk's current node, or as the
/// `prev` of a later relink), then used it. Natively they showed as live blocks the list
/// no longer owned, later as a corrupted list (a cycle: an allocation looping forever) or
/// a crash; under Miri as use-after-free.
mod found_before_the_fix {
    use super::*;
    use alloc_core::testing::{Op, run_ops_owner_reentrant};

    const fn alloc(size: usize, zeroed: bool) -> Op {
        Op::Alloc {
            size,
            align_log2: 0,
            zeroed,
        }
    }
    const fn free(index: usize) -> Op {
        Op::Free { index }
    }
    const fn realloc(index: usize, size: usize) -> Op {
        Op::Realloc {
            index,
            size,
            align_log2: 0,
        }
    }

    fn list_of_hostile_pools(
        reentry: &Reentry,
    ) -> AllocatorList<
        impl alloc_compose::AllocatorFactory<Output = alloc_core::testing::Hostile<Pool>>,
    > {
        let reentry = reentry.clone();
        AllocatorList::new(move || Ok(reentry.wrap(Pool::new(64, 2))))
    }

    #[test]
    fn an_instance_frees_through_the_list_inside_its_allocation() {
        let reentry = Reentry::new();
        let list = list_of_hostile_pools(&reentry);
        let ops = [alloc(1, false), alloc(65, false)];
        let hostile = [
            realloc(0, 0),
            alloc(1, false),
            alloc(1, false),
            alloc(0, false),
            free(0),
            realloc(3, 1),
            alloc(1, false),
            alloc(1, false),
        ];
        let r = run_ops_owner_reentrant(&list, &reentry, &ops, &hostile).unwrap();
        assert!(r.reentrant > 0, "{r:?}");
    }

    #[test]
    fn an_instance_frees_twice_through_the_list_inside_its_allocation() {
        let reentry = Reentry::new();
        let list = list_of_hostile_pools(&reentry);
        let ops = [alloc(1, false), alloc(1, true)];
        let hostile = [
            free(0),
            free(0),
            realloc(0, 0),
            alloc(65, false),
            alloc(1, false),
            alloc(0, false),
            alloc(1, true),
            free(0),
            alloc(1, false),
        ];
        let r = run_ops_owner_reentrant(&list, &reentry, &ops, &hostile).unwrap();
        assert!(r.reentrant > 0, "{r:?}");
    }

    #[test]
    fn a_walk_whose_callback_frees() {
        let reentry = Reentry::new();
        let walking = Walking {
            list: list_of_hostile_pools(&reentry),
            reentry: reentry.clone(),
        };
        let ops = [alloc(1, true)];
        let hostile = [
            alloc(1, false),
            alloc(1, false),
            alloc(1, false),
            free(0),
            alloc(1, true),
        ];
        let r = run_ops_owner_reentrant(&walking, &reentry, &ops, &hostile).unwrap();
        assert!(r.reentrant > 0, "{r:?}");
    }
}

#[test]
fn guard_whose_inner_allocator_reenters() {
    let r = kit().check_owner_reentrant(|reentry| Guard::new(reentry.wrap(Heap)));
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn guard_whose_table_parent_reenters() {
    // The table's parent is a logging proxy that re-enters the same `Guard` (issue 13's
    // suspect: a live block could drop out of the table while it is rebuilt).
    let r = kit().check_owner_reentrant(|reentry| {
        Guard::new_in(Heap, Proxy::new(Heap, HostileLogger(reentry.clone())))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn guard_whose_parts_both_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        Guard::new_in(reentry.wrap(Pool::new(256, 16)), reentry.wrap(Heap))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn fallback_whose_parts_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        Fallback::new(
            reentry.wrap(Pool::new(64, 4)),
            reentry.wrap(Bump::new(1 << 16)),
        )
    });
    assert!(r.reentrant > 0, "{r:?}");
    let r = kit().check_reentrant(|reentry| {
        Fallback::new(reentry.wrap(Pool::new(64, 4)), reentry.wrap(Heap))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn segregator_whose_sides_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        Segregator::<64, _, _>::new(
            reentry.wrap(Pool::new(64, 8)),
            reentry.wrap(Bump::new(1 << 16)),
        )
    });
    assert!(r.reentrant > 0, "{r:?}");
    let r = kit().check_reentrant(|reentry| {
        Segregator::<64, _, _>::new(reentry.wrap(Heap), reentry.wrap(Heap))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn bucketizer_whose_classes_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        Bucketizer::<_, 4>::powers_of_two(16, |size| Ok(reentry.wrap(Pool::new(size, 8)))).unwrap()
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn proxy_whose_inner_allocator_and_logger_reenter() {
    let r = kit().check_owner_reentrant(|reentry| {
        Proxy::new(
            reentry.wrap(Pool::new(64, 8)),
            HostileLogger(reentry.clone()),
        )
    });
    assert!(r.reentrant > 0, "{r:?}");
    let r = kit().check_reentrant(|reentry| {
        Proxy::new(Heap, (Stats::new(), HostileLogger(reentry.clone())))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn chains_whose_every_part_reenters() {
    // A list of guarded pools behind a segregator, falling back to a proxied heap: user
    // code at every level.
    let r = kit().check_reentrant(|reentry| {
        let r1 = reentry.clone();
        Segregator::<64, _, _>::new(
            AllocatorList::new(move || Ok(Guard::new(r1.wrap(Pool::new(64, 4))))),
            Guard::new(Proxy::new(
                reentry.wrap(Heap),
                HostileLogger(reentry.clone()),
            )),
        )
        .with_fallback(reentry.wrap(Heap))
    });
    assert!(r.reentrant > 0, "{r:?}");
}

/// Found by the re-entrancy mode against the `Guard` of before issue 13's fix: a table
/// parent (or inner allocator) that allocates through the guard while the guard rebuilds
/// its table made a live block drop out of the table ("foreign block" when it was freed);
/// an inner allocator that re-used freed memory at once made the guard report a live block
/// handed out twice.
mod guard_found_before_the_fix {
    use super::*;
    use alloc_core::testing::{Op, run_ops_owner_reentrant};

    const ONE_BYTE: Op = Op::Alloc {
        size: 1,
        align_log2: 0,
        zeroed: false,
    };

    #[test]
    fn the_table_parent_allocates_through_the_guard_during_a_rebuild() {
        let reentry = Reentry::new();
        let guard = Guard::new_in(Heap, Proxy::new(Heap, HostileLogger(reentry.clone())));
        run_ops_owner_reentrant(&guard, &reentry, &[ONE_BYTE], &[ONE_BYTE]).unwrap();
        assert_eq!(guard.live_blocks(), 0);
    }

    #[test]
    fn both_parts_allocate_through_the_guard() {
        let reentry = Reentry::new();
        let guard = Guard::new_in(reentry.wrap(Pool::new(256, 16)), reentry.wrap(Heap));
        run_ops_owner_reentrant(&guard, &reentry, &[ONE_BYTE], &[ONE_BYTE]).unwrap();
        assert_eq!(guard.live_blocks(), 0);
    }

    #[test]
    fn the_inner_allocator_hands_freed_memory_out_again_inside_the_free() {
        // The hooks run before and after each inner call: the fourth hostile step runs
        // right after the inner heap took the freed block back, and asks for the same
        // size, which the heap's cache hands out again at once.
        let reentry = Reentry::new();
        let guard = Guard::new(reentry.wrap(Heap));
        let nothing = Op::Alloc {
            size: 0,
            align_log2: 0,
            zeroed: false,
        };
        let ops = [ONE_BYTE, Op::Free { index: 0 }];
        let hostile = [nothing, nothing, nothing, ONE_BYTE];
        let r = run_ops_owner_reentrant(&guard, &reentry, &ops, &hostile).unwrap();
        assert_eq!((r.reentrant, guard.live_blocks()), (4, 0));
    }
}
