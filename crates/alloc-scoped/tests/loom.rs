//! `SharedArena` under the loom model checker: two threads allocate (and one frees) at
//! once, across a chunk boundary, in every interleaving loom explores. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p alloc-scoped --test loom --release`.
#![cfg(loom)]

use alloc_core::{Allocator, Block};
use alloc_scoped::SharedArena;
use core::alloc::Layout;
use loom::sync::Arc;
use loom::thread;

/// Blocks of one thread must not overlap those of another, and hold what was written.
fn check(a: &[Block], b: &[Block]) {
    for x in a {
        for y in b {
            let apart = x.addr() + x.size() <= y.addr() || y.addr() + y.size() <= x.addr();
            assert!(apart, "{x:?} overlaps {y:?}");
        }
    }
}

fn allocate_some(arena: &SharedArena, tag: u8, n: usize) -> Vec<Block> {
    // 1500 bytes: two fit in the first (4 KiB) chunk, the third makes a thread grow.
    let layout = Layout::from_size_align(1500, 8).unwrap();
    (0..n)
        .map(|_| {
            let block = arena.allocate_raw(layout).unwrap();
            // SAFETY: a fresh block of 1500 writable bytes.
            unsafe { block.as_ptr().write_bytes(tag, block.size()) };
            block
        })
        .collect()
}

#[test]
fn two_threads_allocate_and_grow() {
    loom::model(|| {
        let arena = Arc::new(SharedArena::new(0));
        let other = Arc::clone(&arena);
        let t = thread::spawn(move || allocate_some(&other, 1, 2));
        let mine = allocate_some(&arena, 2, 2);
        let theirs = t.join().unwrap();
        check(&mine, &theirs);
        for (blocks, tag) in [(&mine, 2u8), (&theirs, 1u8)] {
            for b in blocks {
                // SAFETY: live blocks of 1500 bytes written above.
                let bytes = unsafe { core::slice::from_raw_parts(b.as_ptr(), b.size()) };
                assert!(bytes.iter().all(|&x| x == tag));
            }
        }
    });
}

#[test]
fn a_free_races_an_allocation() {
    loom::model(|| {
        let arena = Arc::new(SharedArena::new(0));
        let first = allocate_some(&arena, 1, 1);
        let other = Arc::clone(&arena);
        let t = thread::spawn(move || allocate_some(&other, 3, 1));
        // SAFETY: `first[0]` is live and freed once.
        unsafe { arena.deallocate_raw(first[0]) };
        let mine = allocate_some(&arena, 2, 1);
        let theirs = t.join().unwrap();
        check(&mine, &theirs);
    });
}
