//! Locked (spin lock and std mutex) and the global-allocator adapter, through the
//! `Allocator` trait and through `GlobalAlloc` itself, driven by arbitrary operations and
//! checked by the conformance kit.
#![no_main]

use alloc_core::{Allocator, AllocatorError, Block, Heap, move_block};
use alloc_freelist::FreeList;
use alloc_global::{GlobalAllocator, Locked, StdMutex};
use alloc_scoped::Scoped;
use allocators_fuzz::{Input, check, run_ops, run_ops_owner};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
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
                run_ops(&ViaGlobalAlloc(&a), &ops),
            );
        }
        _ => {
            let a: GlobalAllocator<Locked<Scoped>> =
                GlobalAllocator::lazy(|| Scoped::new(64 * 1024).map(Locked::new));
            check(
                "GlobalAlloc for a lazy GlobalAllocator<Locked<Scoped>>",
                &ops,
                run_ops(&ViaGlobalAlloc(&a), &ops),
            );
        }
    }
});

/// Drives a `GlobalAlloc` through the `Allocator` trait, so the kit can check it: zero-size
/// requests (which `GlobalAlloc` must not see) get empty blocks, and reallocations that
/// `GlobalAlloc::realloc` cannot express (another alignment, size zero, an empty block)
/// move the block.
struct ViaGlobalAlloc<'a, G>(&'a G);

// SAFETY: every non-empty block comes from `G::alloc`/`alloc_zeroed`/`realloc` with the
// requested layout, which `GlobalAlloc` promises is valid, aligned and disjoint from other
// live blocks; blocks are given back with the layout they were allocated with.
unsafe impl<G: GlobalAlloc> Allocator for ViaGlobalAlloc<'_, G> {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        // SAFETY: the size is not zero.
        let ptr = unsafe { self.0.alloc(layout) };
        NonNull::new(ptr)
            .map(|p| Block::from_raw_parts(p, layout))
            .ok_or(AllocatorError::OutOfMemory)
    }

    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        // SAFETY: the size is not zero.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        NonNull::new(ptr)
            .map(|p| Block::from_raw_parts(p, layout))
            .ok_or(AllocatorError::OutOfMemory)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if !block.is_empty() {
            // SAFETY: allocated by `alloc` with this layout (the kit gives back live blocks).
            unsafe { self.0.dealloc(block.as_ptr(), block.layout()) }
        }
    }

    unsafe fn reallocate_raw(&self, block: Block, new: Layout) -> Result<Block, AllocatorError> {
        if block.is_empty() || new.size() == 0 || new.align() != block.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { move_block(self, self, block, new) };
        }
        // SAFETY: a live block with its layout; the new size is not zero and, with the
        // same alignment, a valid layout.
        let ptr = unsafe { self.0.realloc(block.as_ptr(), block.layout(), new.size()) };
        NonNull::new(ptr)
            .map(|p| Block::from_raw_parts(p, new))
            .ok_or(AllocatorError::OutOfMemory)
    }
}
