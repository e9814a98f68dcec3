//! `Guard`: the conformance kit over several inner allocators, each check's panic
//! message, fill patterns, leaks, the table under many blocks, and guarded chains.

use std::cell::Cell;

use alloc_compose::{AllocatorExt, Bucketizer, Guard, Null};
use alloc_core::testing::Conformance;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;
use core::ptr::NonNull;

use crate::support::{Bump, Pool, kit};

#[test]
fn guarded_allocators_pass_as_owners() {
    let r = kit(500).check_owner(|| Heap.guarded());
    assert_eq!(r.failures, 0, "{r:?}");
    // Pools of 128-byte slots: blocks of up to 96 bytes (with the fences) fit. (Under
    // Miri, fewer sequences: the heap above already ran the guard's code paths.)
    let fewer = Conformance::new().tests(if cfg!(miri) { 2 } else { 300 });
    let r = fewer.check_owner(|| Pool::new(128, 8).guarded());
    assert!(r.allocations > 0, "{r:?}");
    fewer.check_owner(|| Bump::new(16 * 1024).guarded_in(std::alloc::System));
}

#[test]
fn fresh_zeroed_and_freed_memory_show_their_patterns() {
    let bump = Bump::new(1024);
    let alloc = Guard::new(&bump);
    let layout = Layout::new::<[u8; 24]>();
    let fresh = alloc.allocate_raw(layout).unwrap();
    let zeroed = alloc.allocate_zeroed_raw(layout).unwrap();
    // SAFETY: both blocks are valid for 24 initialised bytes.
    let (f, z) = unsafe {
        (
            core::slice::from_raw_parts(fresh.as_ptr(), 24).to_vec(),
            core::slice::from_raw_parts(zeroed.as_ptr(), 24).to_vec(),
        )
    };
    assert!(f.iter().all(|&b| b == 0xAA), "{f:x?}");
    assert!(z.iter().all(|&b| b == 0), "{z:x?}");
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(fresh) };
    // The memory is the bump allocator's buffer, which is still allocated: reading it
    // shows what the guard left there.
    // SAFETY: the buffer is alive; the bytes were written by the guard.
    let freed = unsafe { core::slice::from_raw_parts(fresh.as_ptr(), 24) };
    assert!(freed.iter().all(|&b| b == 0xDD), "{freed:x?}");
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(zeroed) };
    assert_eq!(bump.live(), 0);
}

#[test]
fn blocks_are_aligned_and_exactly_the_requested_size() {
    let alloc = Heap.guarded();
    for align in [1, 8, 16, 64, 4096] {
        let layout = Layout::from_size_align(3, align).unwrap();
        let b = alloc.allocate_raw(layout).unwrap();
        assert_eq!((b.size(), b.align(), b.addr() % align), (3, align, 0));
        assert!(alloc.owns_block(&b));
        // SAFETY: currently allocated by `alloc`.
        unsafe { alloc.deallocate_raw(b) };
        assert!(!alloc.owns_block(&b));
    }
}

/// Allocates a 16-byte block and calls `damage` with its start.
fn damaged(damage: impl FnOnce(*mut u8)) {
    let alloc = Heap.guarded();
    let block = alloc.allocate_raw(Layout::new::<[u8; 16]>()).unwrap();
    damage(block.as_ptr());
    // SAFETY: currently allocated by `alloc`; the guard checks it first and panics.
    unsafe { alloc.deallocate_raw(block) };
}

#[test]
#[should_panic(
    expected = "Guard: buffer overflow found by deallocate_raw: the byte 3 after the end"
)]
fn writing_past_the_end_is_a_buffer_overflow() {
    // SAFETY: none, on purpose: 3 bytes past the block, inside the fence (so inside the
    // inner allocation: no undefined behaviour, only a broken canary).
    damaged(|p| unsafe { p.add(16 + 3).write(0) });
}

#[test]
#[should_panic(expected = "Guard: buffer underflow found by deallocate_raw: the byte 1 before")]
fn writing_before_the_start_is_a_buffer_underflow() {
    // SAFETY: none, on purpose: one byte before the block, inside the front fence.
    damaged(|p| unsafe { p.sub(1).write(0) });
}

#[test]
#[should_panic(expected = "Guard: buffer overflow found by check")]
fn check_finds_damage_without_a_free() {
    let alloc = Heap.guarded();
    let _fine = alloc.allocate([0u8; 40]).unwrap();
    let block = alloc.allocate_raw(Layout::new::<[u8; 5]>()).unwrap();
    // SAFETY: none, on purpose: one byte past the block, inside the fence.
    unsafe { block.as_ptr().add(5).write(1) };
    alloc.check();
}

#[test]
#[should_panic(expected = "Guard: double free: deallocate_raw of Block")]
fn freeing_twice_is_a_double_free() {
    let alloc = Heap.guarded();
    let block = alloc.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    // SAFETY: none, on purpose: the guard finds the block freed and panics first.
    unsafe { alloc.deallocate_raw(block) };
}

#[test]
#[should_panic(expected = "Guard: double free: reallocate_raw of Block")]
fn reallocating_a_freed_block_is_caught_too() {
    let alloc = Heap.guarded();
    let block = alloc.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    // SAFETY: none, on purpose.
    let _ = unsafe { alloc.reallocate_raw(block, Layout::new::<u128>()) };
}

#[test]
#[should_panic(expected = "Guard: deallocate_raw of a foreign block")]
fn freeing_a_block_of_another_allocator_is_caught() {
    let alloc = Heap.guarded();
    let _mine = alloc.allocate(1u8).unwrap();
    let mut memory = [0u64; 2];
    let foreign =
        Block::from_raw_parts(NonNull::from(&mut memory).cast(), Layout::new::<[u64; 2]>());
    assert!(!alloc.owns_block(&foreign));
    // SAFETY: none, on purpose: the guard does not know it and panics before using it.
    unsafe { alloc.deallocate_raw(foreign) };
}

#[test]
#[should_panic(expected = "Guard: wrong layout: deallocate_raw of Block")]
fn freeing_with_another_size_is_caught() {
    let alloc = Heap.guarded();
    let block = alloc.allocate_raw(Layout::new::<[u8; 32]>()).unwrap();
    let smaller = Block::from_raw_parts(block.ptr(), Layout::new::<[u8; 31]>());
    // SAFETY: none, on purpose: 31 bytes does not fit a 32-byte block of a guard.
    unsafe { alloc.deallocate_raw(smaller) };
}

#[test]
#[should_panic(expected = "Guard: 2 block(s) of 12 bytes in all leaked")]
fn dropping_with_live_blocks_reports_the_leak() {
    let alloc = Heap.guarded();
    core::mem::forget(alloc.allocate(1u32).unwrap());
    core::mem::forget(alloc.allocate(2u64).unwrap());
    drop(alloc);
}

#[test]
fn leaked_blocks_go_back_to_the_inner_allocator() {
    let pool = Pool::new(64, 4);
    let alloc = Guard::new(&pool).ignore_leaks();
    core::mem::forget(alloc.allocate(1u32).unwrap());
    core::mem::forget(alloc.allocate_str("leak").unwrap());
    assert_eq!(
        (pool.live(), alloc.live_blocks(), alloc.live_bytes()),
        (2, 2, 8)
    );
    drop(alloc); // no panic
    assert_eq!(pool.live(), 0);
    // Without `ignore_leaks`, the blocks go back too, before the panic.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let alloc = Guard::new(&pool);
        core::mem::forget(alloc.allocate(1u8).unwrap());
    }));
    assert!(result.is_err());
    assert_eq!(pool.live(), 0);
}

#[test]
fn the_table_grows_and_forgets_freed_blocks() {
    let alloc = Heap.guarded();
    let n = if cfg!(miri) { 100 } else { 5000 };
    let mut blocks: Vec<_> = (0..n)
        .map(|i| {
            alloc
                .allocate_raw(Layout::from_size_align(1 + i % 50, 8).unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(alloc.live_blocks(), n);
    alloc.check();
    for round in 0..3 {
        // Free every other block and allocate as many again: freed slots pile up until the
        // table is rebuilt without them.
        for i in (round % 2..blocks.len()).step_by(2) {
            // SAFETY: currently allocated by `alloc`.
            unsafe { alloc.deallocate_raw(blocks[i]) };
            blocks[i] = alloc.allocate_raw(Layout::new::<[u64; 3]>()).unwrap();
        }
        assert_eq!(alloc.live_blocks(), n);
        assert!(blocks.iter().all(|b| alloc.owns_block(b)));
    }
    alloc.check();
    for b in blocks {
        // SAFETY: currently allocated by `alloc`.
        unsafe { alloc.deallocate_raw(b) };
    }
    assert_eq!((alloc.live_blocks(), alloc.live_bytes()), (0, 0));
}

#[test]
fn a_guard_can_lead_a_fallback_and_guard_a_whole_chain() {
    // A guard is an owner whatever it wraps: it can be the main side of a `Fallback`.
    let r = kit(300).check(|| Pool::new(64, 4).guarded().with_fallback(Heap));
    assert_eq!(r.failures, 0, "{r:?}");
    // Or wrap a whole small-object chain.
    let chain = Bucketizer::<_, 3>::powers_of_two(32, |size| Ok(Pool::new(size, 8)))
        .unwrap()
        .with_fallback(Heap)
        .guarded();
    let mut v = allocator_api2_02::vec::Vec::<u32, _>::new_in(&chain);
    v.extend(0..1000);
    assert_eq!(v.iter().sum::<u32>(), 499_500);
    assert_eq!(chain.live_blocks(), 1);
    drop(v);
    assert_eq!(chain.live_blocks(), 0);
    kit(300).check_owner(|| {
        Bucketizer::<_, 3>::powers_of_two(64, |size| Ok(Pool::new(size, 8)))
            .unwrap()
            .guarded()
            .with_fallback(Null)
    });
}

/// Breaks the contract on purpose: hands out the same buffer every time.
struct SameBlock {
    buffer: Cell<[u64; 16]>,
}

// SAFETY: none: this allocator is broken on purpose, to show the guard catches it (the
// guard only writes into the buffer, which stays valid, and panics on the second block).
unsafe impl Allocator for SameBlock {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() > 128 || layout.align() > 8 {
            return Err(AllocatorError::TooLarge);
        }
        Ok(Block::from_raw_parts(
            NonNull::new(self.buffer.as_ptr().cast()).unwrap(),
            layout,
        ))
    }
    unsafe fn deallocate_raw(&self, _block: Block) {}
}

#[test]
#[should_panic(expected = "Guard: the inner allocator handed out")]
fn an_inner_allocator_that_hands_out_a_live_block_again_is_caught() {
    let inner = SameBlock {
        buffer: Cell::new([0; 16]),
    };
    let alloc = Guard::new(&inner);
    let _a = alloc.allocate(1u8).unwrap();
    let _b = alloc.allocate(2u8).unwrap();
}

#[test]
fn a_guard_is_send_but_not_sync() {
    static_assertions::assert_impl_all!(Guard<Heap>: Send);
    static_assertions::assert_not_impl_any!(Guard<Heap>: Sync);
}
