//! `Tlsf` as this binary's `#[global_allocator]`, the way an embedded or WASM program uses
//! it: one static arena, no parent (`Tlsf<NoParent>`), behind `Locked` (a spin lock) and
//! `GlobalAllocator`. Several threads build and drop `Vec`s, `String`s, `BTreeMap`s and
//! `HashMap`s at once, check their contents, and the test checks that their memory came
//! from the arena.
//!
//! Under Miri the `#[global_allocator]` is left out (the binary then runs on `System`): a
//! global allocator that recycles freed memory trips a known false positive of Miri's
//! protectors (see `alloc-global/tests/global.rs`). The same threads then run against a
//! `Locked<Tlsf>` through the `Allocator` API instead, so Miri still checks the heap
//! under threads.
#![cfg(feature = "std")]
// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::collections::{BTreeMap, HashMap};
use std::mem::MaybeUninit;

use allocators::{Allocator, BlockOwner, GlobalAllocator, InitError, Locked, Tlsf};
use core::alloc::Layout;
use test_rng::Rng;

/// The arena: 64 MiB of zero-initialised static memory (untouched pages cost nothing).
const ARENA_BYTES: usize = if cfg!(miri) { 1 << 20 } else { 64 << 20 };
static mut ARENA: [MaybeUninit<u8>; ARENA_BYTES] = [MaybeUninit::uninit(); ARENA_BYTES];

type Heap = Locked<Tlsf>;

/// Builds the heap over the arena, on the first allocation.
fn init() -> Result<Heap, InitError> {
    let heap = Tlsf::new();
    let arena = &raw mut ARENA;
    // SAFETY: `init` runs once (`GlobalAllocator::lazy` calls it once), so this is the
    // only reference to the arena ever made.
    let arena: &'static mut [MaybeUninit<u8>] = unsafe { &mut *arena };
    heap.add_static(arena);
    Ok(Locked::new(heap))
}

#[cfg_attr(not(miri), global_allocator)]
static GLOBAL: GlobalAllocator<Heap> = GlobalAllocator::lazy(init);

/// One thread's work: collections built, checked and dropped, many times.
fn workload(seed: u64, rounds: usize) {
    let mut rng = Rng::new(seed);
    let mut keep: Vec<Vec<u64>> = Vec::new();
    for round in 0..rounds {
        let n = rng.range(1..2000);
        let v: Vec<u64> = (0..n as u64).collect();
        let mut s = String::new();
        for i in 0..rng.range(1..200) {
            s.push_str(&i.to_string());
        }
        let map: BTreeMap<usize, String> =
            (0..rng.range(1..100)).map(|i| (i, i.to_string())).collect();
        let hash: HashMap<u64, u64> = (0..rng.range(1..300) as u64).map(|i| (i, i * i)).collect();
        assert_eq!(v.iter().sum::<u64>(), (n as u64) * (n as u64 - 1) / 2);
        assert!(s.starts_with('0'));
        assert!(map.iter().all(|(k, v)| *v == k.to_string()));
        assert!(hash.iter().all(|(k, v)| *v == k * k));
        if round % 3 == 0 {
            keep.push(v);
        }
        if keep.len() > 20 {
            let i = rng.below(keep.len());
            keep.swap_remove(i);
        }
    }
    for v in &keep {
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
    }
}

#[test]
fn threads_build_and_drop_collections_on_the_tlsf_heap() {
    let rounds = if cfg!(miri) { 3 } else { 300 };
    let threads: Vec<_> = (0..4)
        .map(|t| std::thread::spawn(move || workload(t + 1, rounds)))
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    if cfg!(miri) {
        return;
    }
    // The collections really live in the arena.
    let v: Vec<u8> = vec![1; 1000];
    let heap = GLOBAL
        .get()
        .expect("the heap was built by the first allocation");
    let block = allocators::Block::from_raw_parts(
        core::ptr::NonNull::new(v.as_ptr().cast_mut()).unwrap(),
        Layout::new::<[u8; 1000]>(),
    );
    assert!(
        heap.owns_block(&block),
        "a Vec's buffer is not in the Tlsf arena"
    );
}

#[test]
fn a_locked_tlsf_shared_by_threads_through_the_allocator_api() {
    let heap = Locked::new(Tlsf::new_in(allocators::Heap, 1 << 16).unwrap());
    let heap = &heap;
    let rounds = if cfg!(miri) { 20 } else { 20_000 };
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            scope.spawn(move || {
                let mut rng = Rng::new(t + 10);
                let mut live = Vec::new();
                for _ in 0..rounds {
                    if live.len() < 50 && rng.below(3) != 0 {
                        let size = rng.range(8..4096);
                        let b = heap
                            .allocate_raw(Layout::from_size_align(size, 8).unwrap())
                            .unwrap();
                        // SAFETY: the block is valid for `size` bytes.
                        unsafe { b.as_ptr().write_bytes(t as u8, size) };
                        live.push((b, size));
                    } else if let Some((b, size)) = live.pop() {
                        // SAFETY: `b` is currently allocated by `heap`, filled with `t`.
                        unsafe {
                            assert!(
                                std::slice::from_raw_parts(b.as_ptr(), size)
                                    .iter()
                                    .all(|&x| x == t as u8)
                            );
                            heap.deallocate_raw(b);
                        }
                    }
                }
                for (b, _) in live {
                    // SAFETY: `b` is currently allocated by `heap`.
                    unsafe { heap.deallocate_raw(b) };
                }
            });
        }
    });
}
