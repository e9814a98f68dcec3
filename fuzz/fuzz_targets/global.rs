//! Locked (spin lock and std mutex) and the global-allocator adapter, through the
//! `Allocator` trait and through `GlobalAlloc` itself, driven by arbitrary operations and
//! checked by the conformance kit.
#![no_main]

use alloc_core::{FromGlobalAlloc, Heap};
use alloc_freelist::FreeList;
use alloc_global::{GlobalAllocator, Locked, StdMutex};
use alloc_scoped::Scoped;
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    let block = 8 + usize::from(input.byte());
    let count = 1 + usize::from(input.byte());
    let ops = input.ops();
    let pool = || FreeList::new_in(block, count, Heap).expect("valid pool");
    match setup % 5 {
        0 => {
            let a = Locked::new(pool());
            check("Locked<FreeList>", &ops, run_ops_owner(&a, &ops));
        }
        1 => {
            let a = Locked::with_lock(Scoped::new(64 * 1024).expect("64 KiB"), StdMutex::new());
            check("Locked<Scoped, StdMutex>", &ops, run_ops_owner(&a, &ops));
        }
        2 => {
            let a = GlobalAllocator::new(Locked::new(pool()));
            check(
                "GlobalAllocator<Locked<FreeList>>",
                &ops,
                run_ops_owner(&a, &ops),
            );
        }
        3 => {
            let a = GlobalAllocator::new(Locked::new(pool()));
            check(
                "GlobalAlloc for GlobalAllocator<Locked<FreeList>>",
                &ops,
                run_ops(&FromGlobalAlloc(&a), &ops),
            );
        }
        _ => {
            let a: GlobalAllocator<Locked<Scoped>> =
                GlobalAllocator::lazy(|| Scoped::new(64 * 1024).map(Locked::new));
            check(
                "GlobalAlloc for a lazy GlobalAllocator<Locked<Scoped>>",
                &ops,
                run_ops(&FromGlobalAlloc(&a), &ops),
            );
        }
    }
});

