//! FreeList and SyncFreeList of any block layout and count, driven by arbitrary
//! operations and checked by the conformance kit.
#![no_main]

use alloc_core::{Heap, testing::Op};
use alloc_freelist::{FreeList, SyncFreeList, region_layout};
use allocators_fuzz::{Input, check, run_ops_owner};
use core::alloc::Layout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    let size = usize::from(input.u16()) % 4097;
    let align = 1usize << (input.byte() % 13);
    let count = usize::from(input.u16()) % 600;
    let Ok(block) = Layout::from_size_align(size, align) else {
        return;
    };
    let ops = input.ops();
    match setup % 3 {
        0 => run(
            FreeList::with_layout_in(block, count, Heap),
            block,
            count,
            &ops,
        ),
        1 => run(
            SyncFreeList::with_layout_in(block, count, Heap),
            block,
            count,
            &ops,
        ),
        _ => run(FreeList::new_in(size, count, Heap), block, count, &ops),
    }
});

trait Pool: alloc_core::BlockOwner {
    fn capacity(&self) -> usize;
    fn free_blocks(&self) -> usize;
}

impl Pool for FreeList {
    fn capacity(&self) -> usize {
        FreeList::capacity(self)
    }
    fn free_blocks(&self) -> usize {
        FreeList::free_blocks(self)
    }
}

impl Pool for SyncFreeList {
    fn capacity(&self) -> usize {
        SyncFreeList::capacity(self)
    }
    fn free_blocks(&self) -> usize {
        SyncFreeList::free_blocks(self)
    }
}

fn run<P: Pool>(
    pool: Result<P, alloc_core::InitError>,
    block: Layout,
    count: usize,
    ops: &[Op],
) {
    let pool = match pool {
        Ok(pool) => pool,
        Err(e) => {
            // Refused only for the documented reasons, consistently with `region_layout`.
            assert!(
                block.size() < size_of::<usize>()
                    || count == 0
                    || region_layout(block, count).is_err(),
                "{block:?} x {count} refused: {e}"
            );
            return;
        }
    };
    assert_eq!(pool.capacity(), count);
    check("free list", ops, run_ops_owner(&pool, ops));
    // Every block came back.
    assert_eq!(pool.free_blocks(), count);
}
