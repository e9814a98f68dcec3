//! The per-thread cache (`ThreadCache`, over a locked free list and over the heap) and
//! `GeneralPurpose`, driven by arbitrary operations and checked by the conformance kit;
//! each input makes fresh instances, so the thread's slots are reused between them.
#![no_main]

use alloc_core::Heap;
use alloc_freelist::FreeList;
use alloc_global::{GeneralPurpose, Locked, ThreadCache};
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    let block = 16 + usize::from(input.byte());
    let count = 1 + usize::from(input.byte());
    let ops = input.ops();
    match setup % 4 {
        0 => {
            let pool = FreeList::new_in(block, count, Heap).expect("valid pool");
            let a = ThreadCache::checked(Locked::new(pool));
            check("ThreadCache<Locked<FreeList>>", &ops, run_ops_owner(&a, &ops));
        }
        1 => {
            let a = ThreadCache::new(Heap);
            check("ThreadCache<Heap>", &ops, run_ops(&a, &ops));
        }
        2 => {
            // Two instances on one thread, the first one left with cached blocks.
            let first = ThreadCache::new(Heap);
            check("ThreadCache<Heap> (first)", &ops, run_ops(&first, &ops));
            let second = ThreadCache::new(Heap);
            check("ThreadCache<Heap> (second)", &ops, run_ops(&second, &ops));
        }
        _ => {
            let a = GeneralPurpose::new();
            check("GeneralPurpose", &ops, run_ops(&a, &ops));
        }
    }
});
