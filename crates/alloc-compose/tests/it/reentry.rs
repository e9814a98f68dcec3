//! The conformance kit's re-entrancy mode over every composite of this crate: hostile code
//! runs inside the calls each composite makes into its parts (instances, parents, inner
//! allocators, loggers, factories, callbacks) and allocates, frees and reallocates through
//! the very composite that is in the middle of the call.

use alloc_compose::{AllocatorList, ProxyLogger};
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
