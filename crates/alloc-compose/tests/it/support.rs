//! Small but real allocators to compose in the tests (a leaf crate may not use the other
//! leaves): [`Pool`], fixed-size slots, and [`Bump`], a bump allocator. Both take their
//! memory from `Heap`, keep the whole contract, are exact `BlockOwner`s, and panic on a
//! block they did not hand out. The conformance kit checks them first.

use alloc_core::testing::Conformance;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap, move_block};
use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

/// Up to 64 slots of `slot` bytes (a power of two), each aligned to `slot`, in one heap
/// buffer; a bit per slot in use. Returns the whole slot (more than requested, to
/// exercise "fits"); grows and shrinks in place within a slot, fails beyond it.
#[derive(Debug)]
pub(crate) struct Pool {
    /// Start of the buffer of `slot * slots` bytes, aligned to `slot`.
    base: NonNull<u8>,
    slot: usize,
    slots: usize,
    /// Bit `i` set: slot `i` is allocated.
    used: Cell<u64>,
}

impl Pool {
    pub(crate) fn new(slot: usize, slots: usize) -> Self {
        assert!(slot.is_power_of_two() && (1..=64).contains(&slots));
        let buffer = Heap.allocate_raw(Self::buffer_layout(slot, slots)).unwrap();
        Self {
            base: buffer.ptr(),
            slot,
            slots,
            used: Cell::new(0),
        }
    }

    fn buffer_layout(slot: usize, slots: usize) -> Layout {
        Layout::from_size_align(slot * slots, slot).unwrap()
    }

    /// Slots in use.
    pub(crate) fn live(&self) -> usize {
        self.used.get().count_ones() as usize
    }

    fn index(&self, block: &Block) -> usize {
        (block.addr() - self.base.as_ptr().addr()) / self.slot
    }

    fn check(&self, block: &Block, what: &str) -> usize {
        assert!(
            self.owns_block(block),
            "Pool::{what}: foreign block {block:?}"
        );
        let i = self.index(block);
        assert!(
            self.used.get() & (1 << i) != 0,
            "Pool::{what}: double free of {block:?}"
        );
        i
    }

    fn slot_block(&self, ptr: NonNull<u8>, align: usize) -> Block {
        Block::from_raw_parts(ptr, Layout::from_size_align(self.slot, align).unwrap())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let buffer = Block::from_raw_parts(self.base, Self::buffer_layout(self.slot, self.slots));
        // SAFETY: allocated by `Heap` in `new` with this layout.
        unsafe { Heap.deallocate_raw(buffer) };
    }
}

// SAFETY: each slot is handed out at most once at a time (its bit), aligned to `slot`
// (hence to any alignment up to `slot`), valid for `slot` bytes; the buffer lives on the
// heap, outside the struct; empty blocks for zero-size requests.
unsafe impl Allocator for Pool {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        if layout.align() > self.slot {
            return Err(AllocatorError::UnsupportedAlignment);
        }
        if layout.size() > self.slot {
            return Err(AllocatorError::TooLarge);
        }
        let i = (!self.used.get()).trailing_zeros() as usize;
        if i >= self.slots {
            return Err(AllocatorError::OutOfMemory);
        }
        self.used.set(self.used.get() | 1 << i);
        // SAFETY: `i < slots`: the slot lies inside the buffer.
        let ptr = unsafe { self.base.add(i * self.slot) };
        Ok(self.slot_block(ptr, layout.align()))
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let i = self.check(&block, "deallocate_raw");
        self.used.set(self.used.get() & !(1 << i));
    }

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        self.check(&block, "reallocate_raw");
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        if new_layout.align() > self.slot {
            return Err(AllocatorError::UnsupportedAlignment);
        }
        if new_layout.size() > self.slot {
            return Err(AllocatorError::TooLarge);
        }
        // In place: the slot is aligned to `slot` >= the new alignment.
        Ok(self.slot_block(block.ptr(), new_layout.align()))
    }
}

// SAFETY: claims exactly the blocks that start on a slot boundary inside the buffer: all
// live blocks, and no memory it never handed out.
unsafe impl BlockOwner for Pool {
    fn owns_block(&self, block: &Block) -> bool {
        let start = self.base.as_ptr().addr();
        !block.is_empty()
            && block.is_inside(start, self.slot * self.slots)
            && (block.addr() - start) % self.slot == 0
    }
}

/// A bump allocator over a heap buffer of `capacity` bytes: blocks of exactly the
/// requested size; freeing the last block takes it back, and the buffer is reused from
/// the start when no block is live. The last block grows and shrinks in place.
#[derive(Debug)]
pub(crate) struct Bump {
    /// Start of the buffer, aligned to 16.
    base: NonNull<u8>,
    capacity: usize,
    /// Offset of the first free byte; `top <= capacity`.
    top: Cell<usize>,
    /// Non-empty blocks live.
    live: Cell<usize>,
}

impl Bump {
    pub(crate) fn new(capacity: usize) -> Self {
        let buffer = Heap
            .allocate_raw(Layout::from_size_align(capacity, 16).unwrap())
            .unwrap();
        Self {
            base: buffer.ptr(),
            capacity,
            top: Cell::new(0),
            live: Cell::new(0),
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live.get()
    }

    /// Offset of `block` in the buffer.
    fn offset(&self, block: &Block) -> usize {
        block.addr() - self.base.as_ptr().addr()
    }

    /// A new block of `layout` at the top, if it fits.
    fn bump(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let base = self.base.as_ptr().addr();
        let start = (base + self.top.get())
            .checked_next_multiple_of(layout.align())
            .ok_or(AllocatorError::SizeOverflow)?
            - base;
        let end = start
            .checked_add(layout.size())
            .ok_or(AllocatorError::SizeOverflow)?;
        if end > self.capacity {
            return Err(AllocatorError::OutOfMemory);
        }
        self.top.set(end);
        self.live.set(self.live.get() + 1);
        // SAFETY: `start <= end <= capacity`: inside the buffer (checked before forming
        // the pointer).
        let ptr = unsafe { self.base.add(start) };
        Ok(Block::from_raw_parts(ptr, layout))
    }
}

impl Drop for Bump {
    fn drop(&mut self) {
        let buffer = Block::from_raw_parts(
            self.base,
            Layout::from_size_align(self.capacity, 16).unwrap(),
        );
        // SAFETY: allocated by `Heap` in `new` with this layout.
        unsafe { Heap.deallocate_raw(buffer) };
    }
}

// SAFETY: blocks are carved from `[top, capacity)` which no live block overlaps (`top`
// only moves back over the last block when it is freed or resized, and to 0 when none is
// live); the buffer lives on the heap, outside the struct.
unsafe impl Allocator for Bump {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.bump(layout)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        assert!(
            self.owns_block(&block),
            "Bump::deallocate_raw: foreign block {block:?}"
        );
        let live = self.live.get() - 1;
        self.live.set(live);
        if live == 0 {
            self.top.set(0);
        } else if self.offset(&block) + block.size() == self.top.get() {
            self.top.set(self.offset(&block));
        }
    }

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        assert!(
            self.owns_block(&block),
            "Bump::reallocate_raw: foreign block {block:?}"
        );
        let offset = self.offset(&block);
        let is_last = offset + block.size() == self.top.get();
        if new_layout.size() != 0
            && is_last
            && block.addr() % new_layout.align() == 0
            && new_layout.size() <= self.capacity - offset
        {
            self.top.set(offset + new_layout.size());
            return Ok(Block::from_raw_parts(block.ptr(), new_layout));
        }
        // SAFETY: forwarded from the caller.
        unsafe { move_block(self, self, block, new_layout) }
    }
}

// SAFETY: claims exactly the non-empty blocks inside its buffer, all of which it handed
// out at some point; never memory outside it.
unsafe impl BlockOwner for Bump {
    fn owns_block(&self, block: &Block) -> bool {
        !block.is_empty() && block.is_inside(self.base.as_ptr().addr(), self.capacity)
    }
}

/// The conformance kit with `n` sequences, or a handful under Miri (where this binary
/// runs a dozen nested compositions through it: each stays short).
pub(crate) fn kit(n: u64) -> Conformance {
    Conformance::new().tests(if cfg!(miri) { 6 } else { n })
}

/// The test allocators are real: they pass the conformance kit on their own.
#[test]
fn test_allocators_pass_the_conformance_kit() {
    let r = kit(300).check_owner(|| Pool::new(64, 8));
    assert!(r.allocations > 0 && r.failures > 0, "{r:?}");
    let r = kit(300).check_owner(|| Bump::new(8192));
    assert!(r.allocations > 0 && r.reallocations > 0, "{r:?}");
}

#[test]
#[should_panic(expected = "Pool::deallocate_raw: double free")]
fn pool_detects_double_free() {
    let pool = Pool::new(16, 2);
    let b = pool.allocate_raw(Layout::new::<u64>()).unwrap();
    // SAFETY: allocated just above.
    unsafe { pool.deallocate_raw(b) };
    // SAFETY: not safe on purpose: the pool must detect it (its slot bit is clear).
    unsafe { pool.deallocate_raw(b) };
}
