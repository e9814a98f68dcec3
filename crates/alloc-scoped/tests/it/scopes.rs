//! Scopes: where they start, nesting, busy parents, and panics.

use alloc_core::{Allocator, AllocatorError, BlockOwner};
use alloc_scoped::Scoped;
use core::alloc::Layout;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn the_child_starts_where_the_parent_stands() {
    let alloc = Scoped::new(1024).unwrap();
    let a = alloc.allocate_raw(layout(24, 8)).unwrap();
    alloc
        .scope(|s| {
            assert_eq!(s.capacity(), 1000);
            let b = s.allocate_raw(layout(8, 8)).unwrap();
            // Directly below the parent's most recent block.
            assert_eq!(b.addr() + 8, a.addr());
            assert!(s.owns_block(&b) && !s.owns_block(&a));
            assert!(alloc.owns_block(&a) && !alloc.owns_block(&b));
        })
        .unwrap();
    // The scope's 8 bytes are back: the parent's next block goes where the child's was.
    let c = alloc.allocate_raw(layout(8, 8)).unwrap();
    assert_eq!(c.addr() + 8, a.addr());
    assert_eq!(alloc.used(), 32);
}

#[test]
fn the_parent_is_busy_while_a_child_is_open() {
    let alloc = Scoped::new(1024).unwrap();
    let kept = alloc.allocate_raw(layout(16, 8)).unwrap();
    let other = alloc.allocate_raw(layout(16, 8)).unwrap();
    alloc
        .scope(|s| {
            assert_eq!(alloc.allocate_raw(layout(8, 8)), Err(AllocatorError::Busy));
            assert_eq!(
                alloc.allocate_zeroed_raw(layout(8, 8)),
                Err(AllocatorError::Busy)
            );
            // Growing a block of the parent needs memory: refused.
            // SAFETY: `kept` is currently allocated by `alloc`.
            let grown = unsafe { alloc.reallocate_raw(kept, layout(64, 8)) };
            assert_eq!(grown, Err(AllocatorError::Busy));
            // SAFETY: as above; the most recent block cannot grow either.
            let grown = unsafe { alloc.reallocate_raw(other, layout(64, 8)) };
            assert_eq!(grown, Err(AllocatorError::Busy));
            // Opening a second child of the same parent is refused too.
            assert_eq!(alloc.scope(|_| ()), Err(AllocatorError::Busy));
            // Zero-size requests consume nothing, so they still succeed.
            assert!(alloc.allocate_raw(layout(0, 8)).unwrap().is_empty());
            // The child works meanwhile.
            let b = s.allocate_raw(layout(100, 4)).unwrap();
            assert!(s.owns_block(&b));
        })
        .unwrap();
    assert!(alloc.allocate_raw(layout(8, 8)).is_ok());
}

#[test]
fn a_busy_parent_can_still_free_and_shrink() {
    let alloc = Scoped::new(1024).unwrap();
    let a = alloc.allocate_raw(layout(64, 8)).unwrap();
    let b = alloc.allocate_raw(layout(64, 8)).unwrap();
    alloc
        .scope(|s| {
            let x = s.allocate_raw(layout(32, 8)).unwrap();
            // SAFETY: `b` is the most recent block of `alloc`.
            let shrunk = unsafe { alloc.reallocate_raw(b, layout(16, 8)) }.unwrap();
            assert_eq!(shrunk.addr(), b.addr());
            // SAFETY: `shrunk` is currently allocated by `alloc`.
            unsafe { alloc.deallocate_raw(shrunk) };
            // A busy parent shrinks without moving, so the tail of `b` (48 bytes) stays
            // taken; the free rewinds past the 16 bytes that remained.
            assert_eq!(alloc.used(), 64 + 48);
            // Still busy: the freed space is not handed out while the child is open.
            assert_eq!(alloc.allocate_raw(layout(8, 8)), Err(AllocatorError::Busy));
            // The child's block is intact and its own.
            assert!(s.owns_block(&x) && !alloc.owns_block(&x));
        })
        .unwrap();
    assert_eq!(alloc.used(), 64 + 48);
    let c = alloc.allocate_raw(layout(64, 8)).unwrap();
    assert_eq!(c.addr() + 64 + 48, a.addr());
}

#[test]
fn scopes_nest() {
    let alloc = Scoped::new(4096).unwrap();
    let total = alloc
        .scope(|one| {
            let a = one.allocate(1u64).unwrap();
            let inner = one
                .scope(|two| {
                    let b = two.allocate(2u64).unwrap();
                    assert_eq!(one.allocate(0u8).unwrap_err().0, AllocatorError::Busy);
                    two.scope(|three| {
                        let c = three.allocate(3u64).unwrap();
                        assert_eq!(two.scope(|_| ()), Err(AllocatorError::Busy));
                        assert_eq!(three.capacity(), 4096 - 16);
                        *b + *c
                    })
                    .unwrap()
                })
                .unwrap();
            assert_eq!(one.used(), 8);
            // The inner scopes are closed: `one` allocates again.
            let d = one.allocate(4u64).unwrap();
            *a + inner + *d
        })
        .unwrap();
    assert_eq!(total, 10);
    assert_eq!(alloc.used(), 0);
}

#[test]
fn many_scopes_in_a_loop_reuse_the_same_memory() {
    let alloc = Scoped::new(1024).unwrap();
    let mut first = None;
    let rounds = if cfg!(miri) { 20 } else { 1000 };
    for round in 0..rounds {
        let addr = alloc
            .scope(|s| {
                let v = s.allocate_slice_with(100, |i| i as u32 + round).unwrap();
                assert_eq!(v[99], 99 + round);
                alloc_core::AllocBox::as_ptr(&v).cast::<u8>().addr()
            })
            .unwrap();
        assert_eq!(*first.get_or_insert(addr), addr);
    }
    assert_eq!(alloc.used(), 0);
}

#[test]
fn a_panic_in_a_scope_leaves_the_parent_usable() {
    let alloc = Scoped::new(1024).unwrap();
    let kept = alloc.allocate(7u64).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        alloc
            .scope(|s| {
                let _x = s.allocate([1u8; 100]).unwrap();
                panic!("inside the scope");
            })
            .unwrap();
    }));
    assert!(result.is_err());
    // Not busy any more, and the child's memory is reclaimed.
    assert_eq!(alloc.used(), 8);
    let after = alloc.allocate(8u64).unwrap();
    assert_eq!((*kept, *after), (7, 8));
    assert_eq!(alloc.scope(|s| s.remaining()), Ok(1024 - 16));
}

#[test]
fn a_panic_in_a_nested_scope_unwinds_every_level() {
    let alloc = Scoped::new(1024).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        alloc.scope(|one| {
            let _a = one.allocate(1u32).unwrap();
            one.scope(|two| {
                let _b = two.allocate(2u32).unwrap();
                panic!("two levels down");
            })
        })
    }));
    assert!(result.is_err());
    assert_eq!(alloc.used(), 0);
    // Caught one level down, the outer scope goes on.
    let r = alloc.scope(|one| {
        let a = one.allocate(1u32).unwrap();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            one.scope(|_| panic!("inner")).unwrap();
        }));
        assert!(caught.is_err());
        let b = one.allocate(2u32).unwrap();
        *a + *b
    });
    assert_eq!(r, Ok(3));
}

#[test]
#[should_panic(expected = "not currently allocated")]
fn a_block_of_an_ended_scope_is_detected() {
    let alloc = Scoped::new(1024).unwrap();
    let _a = alloc.allocate(1u64).unwrap();
    let stale = alloc
        .scope(|s| s.allocate_raw(layout(16, 8)).unwrap())
        .unwrap();
    // The parent never handed it out: it lies below the parent's live blocks.
    // SAFETY: none: this is the misuse being detected (nothing is touched).
    unsafe { alloc.deallocate_raw(stale) };
}

#[test]
#[should_panic(expected = "not currently allocated")]
fn a_parent_block_freed_in_the_child_is_detected() {
    let alloc = Scoped::new(1024).unwrap();
    let a = alloc.allocate_raw(layout(16, 8)).unwrap();
    alloc
        .scope(|s| {
            // SAFETY: none: the misuse being detected.
            unsafe { s.deallocate_raw(a) };
        })
        .unwrap();
}
