//! Segregator, Bucketizer, AllocatorList, Guard and a Proxy with the Stats logger, alone
//! and composed, driven by arbitrary operations and checked by the conformance kit.
#![no_main]

use alloc_compose::{AllocatorList, Bucketizer, Guard, Proxy, Segregator, Stats};
use alloc_core::Heap;
use alloc_freelist::FreeList;
use alloc_scoped::Scoped;
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    // Small pools and bumps, so requests run out, spill over and grow lists.
    let count = 1 + usize::from(input.byte() % 32);
    let capacity = usize::from(input.u16()) % 16_384;
    let ops = input.ops();
    let pool = |size: usize| FreeList::new_in(size.max(8), count, Heap);
    let bump = || Scoped::new_in(capacity, Heap).expect("small buffer");
    match setup % 7 {
        0 => {
            let a = Segregator::<64, _, _>::new(pool(64).unwrap(), bump());
            check(
                "Segregator<64, FreeList, Scoped>",
                &ops,
                run_ops_owner(&a, &ops),
            );
        }
        1 => {
            // A small side whose blocks are larger than the threshold (capped).
            let a = Segregator::<48, _, _>::new(pool(128).unwrap(), Heap);
            check(
                "Segregator<48, FreeList(128), Heap>",
                &ops,
                run_ops(&a, &ops),
            );
        }
        2 => {
            let a = Bucketizer::<_, 6>::powers_of_two(8, pool).unwrap();
            check("Bucketizer<FreeList, 6>", &ops, run_ops_owner(&a, &ops));
        }
        3 => {
            let a = Bucketizer::<_, 3>::with_sizes([24, 100, 1000], pool).unwrap();
            check(
                "Bucketizer<FreeList> [24, 100, 1000]",
                &ops,
                run_ops_owner(&a, &ops),
            );
        }
        4 => {
            let a = AllocatorList::new(|| pool(256));
            check("AllocatorList<FreeList>", &ops, run_ops_owner(&a, &ops));
        }
        5 => {
            let a = AllocatorList::new(|| Scoped::new_in(capacity.max(64), Heap));
            check("AllocatorList<Scoped>", &ops, run_ops_owner(&a, &ops));
        }
        _ => {
            let stats = Stats::new();
            let guarded = Guard::new(Segregator::<256, _, _>::new(
                Bucketizer::<_, 4>::powers_of_two(32, pool).unwrap(),
                AllocatorList::new(|| Scoped::new_in(4096 + capacity, Heap)),
            ));
            let a = Proxy::new(&guarded, &stats);
            check(
                "Proxy<Guard<Segregator<Bucketizer, AllocatorList>>, Stats>",
                &ops,
                run_ops(&a, &ops),
            );
            assert_eq!(guarded.live_blocks(), 0);
        }
    }
});
