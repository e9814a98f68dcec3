//! The growing `Scoped`: the conformance kit (plain and re-entrant) over growing arenas and
//! their scopes, chunks across scope ends, resets that keep memory, limits, refusing
//! parents, guards and checkpoints.

use alloc_core::testing::{Conformance, Reentry, Report, run_ops_owner, run_ops_owner_reentrant};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use alloc_scoped::{Retain, Scope, Scoped};
use core::alloc::Layout;
use core::cell::Cell;

/// A heap that counts what it holds and how often it is asked, and refuses once `budget`
/// requests were served.
#[derive(Default)]
pub(crate) struct Counting {
    pub(crate) live: Cell<usize>,
    pub(crate) calls: Cell<usize>,
    pub(crate) budget: Cell<Option<usize>>,
}

// SAFETY: forwards to `Heap`, which keeps the contract; refusing changes nothing.
unsafe impl Allocator for Counting {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if let Some(b) = self.budget.get() {
            if b == 0 {
                return Err(AllocatorError::OutOfMemory);
            }
            self.budget.set(Some(b - 1));
        }
        let block = Heap.allocate_raw(layout)?;
        self.calls.set(self.calls.get() + 1);
        self.live.set(self.live.get() + block.size());
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.set(self.live.get() - block.size());
        // SAFETY: forwarded from the caller.
        unsafe { Heap.deallocate_raw(block) }
    }
}

fn kit() -> Conformance {
    Conformance::new().max_ops(if cfg!(miri) { 40 } else { 100 })
}

fn assert_busy(report: &Report) {
    assert!(report.allocations > 0 && report.reallocations > 0 && report.deallocations > 0);
}

#[test]
fn a_growing_scoped_passes() {
    for initial in [0, 64, 4096] {
        let report = kit()
            .tests(300)
            .check_owner(|| Scoped::growable(initial).unwrap());
        assert_busy(&report);
    }
}

#[test]
fn a_growing_scoped_with_a_limit_passes_while_refusing() {
    let report = kit().tests(300).check_owner(|| {
        let arena = Scoped::growable(256).unwrap();
        // Small enough that the few sequences run under Miri reach it too.
        arena.set_limit(Some(4 * 1024));
        arena
    });
    assert_busy(&report);
    assert!(report.failures > 0);
}

#[test]
fn a_growing_scoped_over_a_refusing_parent_passes() {
    kit().tests(300).check_with(|ops| {
        let parent = Counting::default();
        parent.budget.set(Some(3));
        let arena = Scoped::growable_in(128, &parent).unwrap();
        let report = run_ops_owner(&arena, ops);
        drop(arena);
        assert_eq!(parent.live.get(), 0, "a chunk leaked");
        report
    });
}

#[test]
fn a_growing_scoped_passes_with_every_retain_policy_after_resets() {
    for retain in [Retain::Largest, Retain::All] {
        kit().tests(200).check_with(|ops| {
            let mut arena = Scoped::growable(64).unwrap();
            arena.set_retain(retain);
            for i in 0..50u64 {
                core::mem::forget(arena.allocate([i; 8]).unwrap());
            }
            arena.reset();
            run_ops_owner(&arena, ops)
        });
    }
}

/// Runs the ops in a scope `depth` levels down, each level holding a block and crossing a
/// chunk boundary first.
fn nest(
    scope: &Scope<'_>,
    depth: usize,
    ops: &[alloc_core::testing::Op],
) -> Result<Report, alloc_core::testing::Violation> {
    if depth == 0 {
        return run_ops_owner(scope, ops);
    }
    let held = scope.allocate_slice_with(300, |i| i as u8).unwrap();
    let result = scope.scope(|s| nest(s, depth - 1, ops)).unwrap();
    assert!(
        held.iter().enumerate().all(|(i, &b)| b == i as u8),
        "a scope's block changed"
    );
    result
}

#[test]
fn scopes_of_a_growing_scoped_pass_across_chunks() {
    for depth in 0..3 {
        let parent = Counting::default();
        let arena = Scoped::growable_in(256, &parent).unwrap();
        let report = kit().tests(200).check_with(|ops| {
            let outer = arena.allocate_slice_with(100, |i| i as u8).unwrap();
            let before = arena.stats();
            let result = arena.scope(|s| nest(s, depth, ops)).unwrap();
            assert!(outer.iter().enumerate().all(|(i, &b)| b == i as u8));
            let after = arena.stats();
            assert_eq!(
                after.allocated, before.allocated,
                "the scopes' memory is back"
            );
            assert_eq!(after.chunks, before.chunks);
            // At most one spare chunk is kept (`Retain::Largest`).
            assert!(after.spare_chunks <= 1);
            drop(outer);
            result
        });
        assert_busy(&report);
        drop(arena);
        assert_eq!(parent.live.get(), 0);
    }
}

#[test]
fn the_growing_scoped_passes_the_reentrancy_mode() {
    let report = kit().check_owner_reentrant(|reentry: &Reentry| {
        Scoped::growable_in(64, reentry.wrap(Heap)).unwrap()
    });
    assert!(report.reentrant > 0);
    let report = kit()
        .tests(2000)
        .check_owner_reentrant(|reentry: &Reentry| {
            let arena = Scoped::growable_in(0, reentry.wrap(Heap)).unwrap();
            arena.set_limit(Some(32 * 1024));
            arena
        });
    assert!(report.reentrant > 0);
    // Miri runs too few and too short sequences to reach the limit.
    assert!(report.failures > 0 || cfg!(miri));
}

#[test]
fn scopes_of_a_growing_scoped_pass_the_reentrancy_mode() {
    let reentry = Reentry::new();
    let arena = Scoped::growable_in(64, reentry.wrap(Heap)).unwrap();
    let report = kit().tests(2000).check_reentrant_with(|ops, hostile| {
        arena
            .scope(|outer| {
                let _kept = outer.allocate([1u8; 100]).unwrap();
                outer
                    .scope(|inner| run_ops_owner_reentrant(inner, &reentry, ops, hostile))
                    .unwrap()
            })
            .unwrap()
    });
    assert!(report.reentrant > 0);
}

#[test]
fn a_scope_gives_its_chunks_back_keeping_one() {
    let parent = Counting::default();
    let arena = Scoped::growable_in(1024, &parent).unwrap();
    let held = parent.live.get();
    for _ in 0..10 {
        arena
            .scope(|s| {
                for _ in 0..100 {
                    core::mem::forget(s.allocate([0u8; 100]).unwrap());
                }
                assert!(s.stats().chunks >= 2);
            })
            .unwrap();
        assert_eq!(arena.stats().chunks, 1);
        assert_eq!(arena.stats().spare_chunks, 1);
    }
    // One spare chunk: the largest the scope took (the 10 KB it allocated fit in it).
    let spare = parent.live.get() - held;
    assert!((8 * 1024..=32 * 1024).contains(&spare), "{spare}");
    // The spare chunk serves the next scopes without asking the parent.
    let calls = parent.calls.get();
    for _ in 0..10 {
        arena
            .scope(|s| {
                for _ in 0..60 {
                    core::mem::forget(s.allocate([0u8; 100]).unwrap());
                }
            })
            .unwrap();
    }
    assert_eq!(parent.calls.get(), calls);
    drop(arena);
    assert_eq!(parent.live.get(), 0);
}

#[test]
fn reset_keeps_the_largest_chunk_or_all() {
    for retain in [Retain::Largest, Retain::All] {
        let parent = Counting::default();
        let mut arena = Scoped::growable_in(512, &parent).unwrap();
        arena.set_retain(retain);
        // Under Miri fewer (still several chunks: 512 bytes first, doubling).
        let count = if cfg!(miri) { 400 } else { 2000 };
        let fill = |arena: &Scoped<&Counting>| {
            for i in 0..count {
                core::mem::forget(arena.allocate(i).unwrap());
            }
        };
        fill(&arena);
        let chunks = arena.stats().chunks;
        let held = parent.live.get();
        arena.reset();
        assert_eq!(arena.used(), 0);
        match retain {
            Retain::Largest => {
                assert_eq!(arena.stats().chunks, 1);
                assert!(parent.live.get() < held);
            }
            Retain::All => {
                assert_eq!(arena.stats().spare_chunks, chunks - 1);
                assert_eq!(parent.live.get(), held);
            }
        }
        // A loop that resets reuses memory: the parent is asked again at most once (the
        // largest chunk of `Largest` may be too small for a whole fill).
        let calls = parent.calls.get();
        for _ in 0..if cfg!(miri) { 3 } else { 10 } {
            fill(&arena);
            arena.reset();
        }
        assert!(
            parent.calls.get() <= calls + 1,
            "{} calls",
            parent.calls.get() - calls
        );
        drop(arena);
        assert_eq!(parent.live.get(), 0);
    }
}

#[test]
fn large_requests_get_a_chunk_of_their_own() {
    let arena = Scoped::growable(1024).unwrap();
    let big = arena.allocate_slice_with(100_000, |i| i as u8).unwrap();
    let small = arena.allocate(7u8).unwrap();
    assert_eq!((big[99_999], *small), (159, 7));
    assert!(arena.stats().chunks >= 2);
    let aligned = arena
        .allocate_raw(Layout::from_size_align(5000, alloc_scoped::MAX_ALIGN).unwrap())
        .unwrap();
    assert_eq!(aligned.addr() % alloc_scoped::MAX_ALIGN, 0);
    assert!(arena.owns_block(&aligned));
}

#[test]
fn bad_requests_fail_leak_nothing_and_leave_the_arena_usable() {
    let parent = Counting::default();
    let arena = Scoped::growable_in(256, &parent).unwrap();
    let held = parent.live.get();
    for (size, align) in [
        (isize::MAX as usize, 1),
        (isize::MAX as usize - 8191, 4096),
        (isize::MAX as usize - 7, 8),
    ] {
        let layout = Layout::from_size_align(size, align).unwrap();
        if cfg!(miri) && size != isize::MAX as usize {
            continue; // Miri stops the program at a request the real heap refuses.
        }
        // Too large for a chunk layout, or refused by the heap.
        let error = arena.allocate_raw(layout).unwrap_err();
        assert!(matches!(
            error,
            AllocatorError::TooLarge | AllocatorError::OutOfMemory
        ));
        assert_eq!(parent.live.get(), held);
    }
    let max = Layout::from_size_align(isize::MAX as usize, 1).unwrap();
    assert_eq!(arena.allocate_raw(max), Err(AllocatorError::TooLarge));
    // Larger than the heap can give: the heap's refusal.
    // (Miri stops the program at a request the real heap refuses.)
    if !cfg!(miri) {
        let huge = Layout::from_size_align(isize::MAX as usize / 2, 16).unwrap();
        assert_eq!(arena.allocate_raw(huge), Err(AllocatorError::OutOfMemory));
    }
    let too_aligned = Layout::from_size_align(8, 2 * alloc_scoped::MAX_ALIGN).unwrap();
    assert_eq!(
        arena.allocate_raw(too_aligned),
        Err(AllocatorError::UnsupportedAlignment)
    );
    assert_eq!(parent.live.get(), held);
    assert_eq!(*arena.allocate(5u64).unwrap(), 5);
    // A parent that refuses: its error, and the arena is usable again once it gives.
    parent.budget.set(Some(0));
    let mut values = Vec::new();
    let error = loop {
        match arena.allocate([0u8; 64]) {
            Ok(v) => values.push(v),
            Err((e, _)) => break e,
        }
    };
    assert_eq!(error, AllocatorError::OutOfMemory);
    parent.budget.set(None);
    assert_eq!(*arena.allocate(6u8).unwrap(), 6);
    drop(values);
    drop(arena);
    assert_eq!(parent.live.get(), 0);
}

#[test]
fn a_limit_refuses_with_out_of_memory_and_too_large() {
    let parent = Counting::default();
    let arena = Scoped::growable_in(1024, &parent).unwrap();
    arena.set_limit(Some(10_000));
    assert_eq!(
        arena.allocate_raw(Layout::new::<[u8; 20_000]>()),
        Err(AllocatorError::TooLarge)
    );
    let mut n = 0;
    while arena.allocate_raw(Layout::new::<[u8; 100]>()).is_ok() {
        n += 1;
    }
    assert!(n >= 80, "{n}");
    assert!(parent.live.get() <= 10_000);
    assert_eq!(
        arena.allocate_raw(Layout::new::<[u8; 100]>()),
        Err(AllocatorError::OutOfMemory)
    );
    arena.set_limit(None);
    assert!(arena.allocate_raw(Layout::new::<[u8; 100]>()).is_ok());
}

#[test]
fn a_guard_ends_its_scope_when_dropped() {
    let arena = Scoped::growable(128).unwrap();
    let kept = arena.allocate(1u32).unwrap();
    for round in 0..5u8 {
        let guard = arena.scope_guard().unwrap();
        assert!(matches!(
            arena.allocate(0u8),
            Err((AllocatorError::Busy, 0))
        ));
        assert_eq!(arena.scope_guard().unwrap_err(), AllocatorError::Busy);
        let v = guard.allocate_slice_with(1000, |_| round).unwrap();
        assert_eq!(v[999], round);
        drop(v);
        drop(guard);
        assert_eq!(arena.used(), 4);
    }
    assert_eq!(*kept, 1);
}

/// A parent that remembers the blocks it handed out, so that a test can give back what a
/// leak left behind once it has checked the leak (valgrind and Miri then see none).
#[derive(Default)]
struct Remembering {
    counting: Counting,
    blocks: core::cell::RefCell<Vec<Block>>,
}

impl Remembering {
    /// Gives every block still out back to the heap.
    ///
    /// # Safety
    ///
    /// Nothing uses those blocks any more (their owner is gone).
    unsafe fn reclaim(&self) {
        for block in self.blocks.take() {
            // SAFETY: handed out by `counting` and never given back (it is still recorded);
            // unused (caller).
            unsafe { self.counting.deallocate_raw(block) };
        }
    }
}

// SAFETY: forwards to `Counting`, which keeps the contract.
unsafe impl Allocator for Remembering {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = self.counting.allocate_raw(layout)?;
        self.blocks.borrow_mut().push(block);
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.blocks.borrow_mut().retain(|b| *b != block);
        // SAFETY: forwarded from the caller.
        unsafe { self.counting.deallocate_raw(block) }
    }
}

#[test]
fn a_forgotten_guard_leaves_the_arena_busy_until_reset() {
    let parent = Remembering::default();
    let mut arena = Scoped::growable_in(128, &parent).unwrap();
    let guard = arena.scope_guard().unwrap();
    // The scope takes a chunk of its own, which leaks with the forgotten guard.
    let _ = guard
        .allocate_raw(Layout::from_size_align(1000, 1).unwrap())
        .unwrap();
    core::mem::forget(guard);
    assert_eq!(
        arena.allocate_raw(Layout::new::<u8>()),
        Err(AllocatorError::Busy)
    );
    assert_eq!(arena.scope(|_| ()), Err(AllocatorError::Busy));
    arena.reset();
    assert_eq!(*arena.allocate(3u8).unwrap(), 3);
    drop(arena);
    // The scope's own chunk leaked with it; the arena's were given back.
    let leaked = parent.counting.live.get();
    assert!(leaked > 1000 && leaked < 4096, "{leaked}");
    assert_eq!(parent.blocks.borrow().len(), 1);
    // SAFETY: the arena is gone, and the leaked chunk was reachable only from the guard.
    unsafe { parent.reclaim() };
    assert_eq!(parent.counting.live.get(), 0);
}

#[test]
fn checkpoints_give_back_chunks_and_check_their_origin() {
    let parent = Counting::default();
    let mut arena = Scoped::growable_in(256, &parent).unwrap();
    let first = arena.allocate_raw(Layout::new::<[u8; 200]>()).unwrap();
    let checkpoint = arena.checkpoint();
    let used = arena.used();
    for i in 0..1000u64 {
        core::mem::forget(arena.allocate(i).unwrap());
    }
    let held = parent.live.get();
    assert!(arena.stats().chunks > 2);
    arena.reset_to(checkpoint);
    assert_eq!((arena.used(), arena.stats().chunks), (used, 1));
    assert!(parent.live.get() < held);
    assert!(arena.owns_block(&first));
    // Again from the same checkpoint.
    for i in 0..1000u64 {
        core::mem::forget(arena.allocate(i).unwrap());
    }
    arena.reset_to(checkpoint);
    assert_eq!(arena.used(), used);
}

#[test]
#[should_panic(expected = "is not a position of this arena")]
fn a_checkpoint_of_another_arena_panics() {
    let other = Scoped::growable(64).unwrap();
    let mut arena = Scoped::growable(64).unwrap();
    arena.reset_to(other.checkpoint());
}

#[test]
fn a_vec_grows_across_chunks() {
    use alloc_scoped::api2_02::vec::Vec as ApiVec;
    let arena = Scoped::growable(64).unwrap();
    let mut v: ApiVec<u64, &Scoped> = ApiVec::new_in(&arena);
    for i in 0..10_000 {
        v.push(i);
    }
    assert!(v.iter().copied().eq(0..10_000));
    assert!(arena.stats().chunks > 1);
}

#[test]
fn stats_add_up() {
    let arena = Scoped::growable(100).unwrap();
    let mut rng = test_rng::Rng::new(7);
    for _ in 0..500 {
        let size = rng.below(300) + 1;
        let block = arena.allocate_raw(Layout::from_size_align(size, 8).unwrap());
        assert!(block.is_ok());
        let s = arena.stats();
        assert_eq!(s.capacity, s.allocated + s.remaining + s.wasted);
        assert!(s.held > s.capacity);
        assert_eq!(s.allocated, arena.used());
        assert_eq!(s.capacity, arena.capacity());
    }
}

#[test]
#[should_panic(expected = "is not currently allocated by this allocator")]
fn freeing_a_block_of_another_growing_arena_panics() {
    let arena = Scoped::growable(64).unwrap();
    for i in 0..100u64 {
        core::mem::forget(arena.allocate(i).unwrap());
    }
    let other = Scoped::growable(64).unwrap();
    let foreign = other.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: none: the violation being detected; the arena panics before any use.
    unsafe { arena.deallocate_raw(foreign) };
}
