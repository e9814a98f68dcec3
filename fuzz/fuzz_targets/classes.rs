//! SizeClasses (growable size classes) and SharedFreeList, driven by arbitrary operations
//! and checked by the conformance kit: with a parent that refuses after an arbitrary
//! budget, with every empty chunk given back or some kept, and through the batch interface.
//! At the end every chunk is back in the parent.
#![no_main]

use alloc_core::testing::Op;
use alloc_core::{Allocator, AllocatorError, Block, Heap};
use alloc_global::{SharedFreeList, SizeClasses};
use allocators_fuzz::{Input, check, run_ops_owner};
use core::alloc::Layout;
use core::cell::Cell;
use libfuzzer_sys::fuzz_target;

/// `Heap`, refusing once `budget` bytes are live, counting what is live.
struct Budget {
    live: Cell<usize>,
    budget: usize,
}

// SAFETY: forwards to `Heap` and only counts.
unsafe impl Allocator for Budget {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if self.live.get() + layout.size() > self.budget {
            return Err(AllocatorError::OutOfMemory);
        }
        let block = Heap.allocate_raw(layout)?;
        self.live.set(self.live.get() + block.size());
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.set(self.live.get() - block.size());
        // SAFETY: a block of `Heap` (caller).
        unsafe { Heap.deallocate_raw(block) }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let setup = input.byte();
    // 0 to about 1 MiB: from refusing the first chunk to a dozen chunks and map nodes.
    let budget = usize::from(input.u16()) * 16;
    let max_empty = usize::from(input.byte() % 3);
    let parent = Budget { live: Cell::new(0), budget };
    match setup % 3 {
        0 => {
            let ops = input.ops();
            let classes = SizeClasses::new_in(&parent).with_max_empty_chunks(max_empty);
            check("SizeClasses", &ops, run_ops_owner(&classes, &ops));
            drop(classes);
        }
        1 => {
            // The batch interface: refill and flush a magazine between kit operations.
            let layout = input.layout();
            let ops = input.ops();
            let classes = SizeClasses::new_in(&parent).with_max_empty_chunks(max_empty);
            let mut magazine = [Block::empty(layout); 16];
            let n = match classes.allocate_batch(layout, &mut magazine) {
                Ok(n) => n,
                Err(_) => 0,
            };
            check("SizeClasses with a batch live", &ops, run_ops_owner(&classes, &ops));
            check_distinct(&magazine[..n]);
            // SAFETY: the first `n` blocks were allocated above, each freed once.
            unsafe { classes.deallocate_batch(&magazine[..n]) };
            drop(classes);
        }
        _ => {
            let size = 1 + usize::from(input.u16()) % 512;
            let count = 1 + usize::from(input.byte());
            let ops: Vec<Op> = input.ops();
            if let Ok(list) = SharedFreeList::new_in(size, count, &parent) {
                check("SharedFreeList", &ops, run_ops_owner(&list, &ops));
            }
        }
    }
    assert_eq!(parent.live.get(), 0, "memory not given back to the parent");
});

/// Panics if two blocks of a batch overlap.
fn check_distinct(blocks: &[Block]) {
    let mut spans: Vec<(usize, usize)> = blocks.iter().map(|b| (b.addr(), b.size())).collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0, "batch blocks overlap: {pair:?}");
    }
}
