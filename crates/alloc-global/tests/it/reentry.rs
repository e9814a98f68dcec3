//! The conformance kit's re-entrancy mode over alloc-global's composites: `Locked` whose
//! inner allocator calls back into the same `Locked` (a clear "re-entrant call" panic in
//! every build with `std`, never a deadlock or undefined behaviour), also when the
//! re-entry comes from a pool's parent, and `GlobalAllocator` around a hostile allocator.

use alloc_core::testing::{Conformance, Op, Reentry, run_ops_reentrant};
use alloc_core::{Allocator, AllocatorError, Block, Heap};
use alloc_global::{GlobalAllocator, Locked};
use core::alloc::Layout;
use core::cell::RefCell;

use crate::pool::{Counters, SizeClassPool};

/// The heap, giving back on drop every block still out: a run that ends in a violation (the
/// re-entry panics below) leaves its live blocks allocated, as the kit documents, and
/// those would otherwise be leaks that valgrind reports.
#[derive(Default)]
struct Reclaiming {
    out: RefCell<Vec<Block>>,
}

// SAFETY: forwards to `Heap`; a block given back is forgotten, so it is freed once.
unsafe impl Allocator for Reclaiming {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = Heap.allocate_raw(layout)?;
        self.out.borrow_mut().push(block);
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.out.borrow_mut().retain(|b| *b != block);
        // SAFETY: forwarded from the caller.
        unsafe { Heap.deallocate_raw(block) }
    }
}

impl Drop for Reclaiming {
    fn drop(&mut self) {
        for block in self.out.take() {
            // SAFETY: handed out by `Heap` and never given back; the allocator built over
            // this one is being dropped (it owns it), so nothing uses the block any more.
            unsafe { Heap.deallocate_raw(block) };
        }
    }
}

fn kit() -> Conformance {
    Conformance::new().tests(if cfg!(miri) { 8 } else { 10_000 })
}

#[test]
fn locked_whose_inner_allocator_reenters_the_same_locked_panics_clearly() {
    let found = kit()
        .quicktest_reentrant(|ops, hostile| {
            let reentry = Reentry::new();
            let locked = Locked::new(reentry.wrap(Reclaiming::default()));
            run_ops_reentrant(&locked, &reentry, ops, hostile)
        })
        .expect_err("re-entry into the same Locked must be refused");
    assert!(
        found.violation.message.contains("re-entrant call"),
        "{found}"
    );
    // Shrunk to one step of each: the smallest re-entry there is.
    assert!(found.ops.len() <= 1 && found.hostile.len() <= 2, "{found}");
}

#[test]
fn a_size_class_pool_behind_locked_with_a_hostile_parent() {
    // The pool's parent re-enters: it is called while the Locked is held, so the
    // re-entry is refused with the clear panic, not a deadlock.
    let counters = Counters::new();
    let found = kit()
        .quicktest_reentrant(|ops, hostile| {
            let reentry = Reentry::new();
            let locked = Locked::new(SizeClassPool::new_in(
                reentry.wrap(Reclaiming::default()),
                &counters,
            ));
            run_ops_reentrant(&locked, &reentry, ops, hostile)
        })
        .expect_err("re-entry into the same Locked must be refused");
    assert!(
        found.violation.message.contains("re-entrant call"),
        "{found}"
    );
}

#[test]
fn global_allocator_around_a_hostile_allocator() {
    // `GlobalAllocator::new` adds no state that user code could corrupt: the hostile code
    // re-enters through the adapter, and everything the kit checks holds.
    let r = kit().check_reentrant(|reentry| GlobalAllocator::new(reentry.wrap(Heap)));
    assert!(r.reentrant > 0, "{r:?}");
}

#[test]
fn a_hand_written_reentry_into_locked() {
    let reentry = Reentry::new();
    let locked = Locked::new(reentry.wrap(Reclaiming::default()));
    let one = Op::Alloc {
        size: 8,
        align_log2: 3,
        zeroed: false,
    };
    let v = run_ops_reentrant(&locked, &reentry, &[one], &[one]).unwrap_err();
    assert!(v.message.contains("re-entrant call"), "{v}");
}

/// A lazy initialiser that uses the very allocator it initialises (as an initialiser that
/// logs or collects into a `Vec` from the `#[global_allocator]` would): the inner use is
/// refused with an error naming the problem, and the initialisation itself completes.
#[test]
fn a_lazy_initialiser_that_uses_its_own_allocator_is_refused_clearly() {
    use alloc_core::{Allocator, AllocatorError};
    use std::alloc::System;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static INNER_ERRORS: AtomicUsize = AtomicUsize::new(0);
    static SELF_USING: GlobalAllocator<System> = GlobalAllocator::lazy(|| {
        let layout = core::alloc::Layout::new::<u64>();
        // Through the allocator: the one-byte error.
        match SELF_USING.allocate_raw(layout) {
            Err(AllocatorError::Other) => {
                INNER_ERRORS.fetch_add(1, Ordering::Relaxed);
            }
            other => panic!("the re-entrant use was not refused: {other:?}"),
        }
        // Through `get_or_init`: the error with its message.
        match SELF_USING.get_or_init() {
            Err(e) if e.to_string().contains("initialiser allocated") => {
                INNER_ERRORS.fetch_add(1, Ordering::Relaxed)
            }
            Err(e) => panic!("the wrong error: {e}"),
            Ok(_) => panic!("a re-entrant get_or_init returned an allocator being built"),
        };
        Ok(System)
    });

    let allocator = SELF_USING
        .get_or_init()
        .expect("initialised despite the inner uses");
    let _: &System = allocator;
    assert_eq!(INNER_ERRORS.load(Ordering::Relaxed), 2);
    let b = SELF_USING.allocate(7u32).unwrap();
    assert_eq!(*b, 7);
}
