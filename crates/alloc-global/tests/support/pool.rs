//! `SizeClassPool`: a real (small) single-threaded size-class allocator, shared by the
//! integration tests (`tests/it`) and the global-allocator test binary (`tests/global.rs`).
//!
//! Requests up to 256 bytes (and alignment up to 256) are served from per-class free lists
//! of 16, 32, 64, 128 and 256-byte slots, carved from 16 KiB chunks taken from the parent
//! on demand; larger ones go to the parent. It uses `Cell`s, so it is not `Sync`: sharing
//! it between threads is `Locked`'s job. It counts what it does in a `Counters` it borrows
//! (atomics, so the counts can be read while the pool is locked away in a `Locked` or a
//! global allocator).

use alloc_core::{Allocator, AllocatorError, Block};
use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The slot sizes.
pub(crate) const CLASSES: [usize; 5] = [16, 32, 64, 128, 256];
/// Bytes per chunk (and its alignment is the largest class).
pub(crate) const CHUNK: usize = 16 * 1024;
const CHUNK_LAYOUT: Layout = match Layout::from_size_align(CHUNK, 256) {
    Ok(l) => l,
    Err(_) => panic!("valid chunk layout"),
};

/// What a pool did; shared, so the counts survive the pool being locked away.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    allocs: AtomicUsize,
    frees: AtomicUsize,
    pool_served: AtomicUsize,
    parent_served: AtomicUsize,
    chunks: AtomicUsize,
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Self {
            allocs: AtomicUsize::new(0),
            frees: AtomicUsize::new(0),
            pool_served: AtomicUsize::new(0),
            parent_served: AtomicUsize::new(0),
            chunks: AtomicUsize::new(0),
        }
    }
    /// Successful non-empty allocations (a reallocation that moves counts as one more).
    pub(crate) fn allocs(&self) -> usize {
        self.allocs.load(Relaxed)
    }
    /// Deallocations of non-empty blocks.
    pub(crate) fn frees(&self) -> usize {
        self.frees.load(Relaxed)
    }
    /// Allocations served from a size class.
    pub(crate) fn pool_served(&self) -> usize {
        self.pool_served.load(Relaxed)
    }
    /// Allocations passed to the parent.
    pub(crate) fn parent_served(&self) -> usize {
        self.parent_served.load(Relaxed)
    }
    /// Chunks taken from the parent.
    pub(crate) fn chunks(&self) -> usize {
        self.chunks.load(Relaxed)
    }
    /// Blocks allocated and not yet freed.
    pub(crate) fn live(&self) -> usize {
        self.allocs().wrapping_sub(self.frees())
    }
}

pub(crate) struct SizeClassPool<'c, P: Allocator> {
    parent: P,
    /// Head of each class's free list; a free slot holds the address of the next one.
    free: [Cell<Option<NonNull<u8>>>; CLASSES.len()],
    /// The most recent chunk; slot 0 of each chunk holds the address of the previous one.
    chunks: Cell<Option<NonNull<u8>>>,
    /// Slots carved from chunks, and slots on a free list.
    carved: Cell<usize>,
    free_slots: Cell<usize>,
    counters: &'c Counters,
    /// `false`: every request goes to the parent (see `pass_through`).
    classes: bool,
}

// SAFETY: the pool owns its chunks and refers to nothing tied to a thread; `Counters` is
// `Sync`. Sending it sends the parent along (used again on drop), hence `P: Send`.
unsafe impl<P: Allocator + Send> Send for SizeClassPool<'_, P> {}

/// The class serving `layout`, if any.
fn class_of(layout: Layout) -> Option<usize> {
    let need = layout.size().max(layout.align());
    CLASSES.iter().position(|&c| need <= c)
}

impl<'c, P: Allocator> SizeClassPool<'c, P> {
    pub(crate) const fn new_in(parent: P, counters: &'c Counters) -> Self {
        Self {
            parent,
            free: [const { Cell::new(None) }; CLASSES.len()],
            chunks: Cell::new(None),
            carved: Cell::new(0),
            free_slots: Cell::new(0),
            counters,
            classes: true,
        }
    }

    /// A pool that passes every request to the parent and never reuses memory itself.
    /// For the global-allocator binary under Miri only: see the note in `tests/global.rs`.
    #[allow(dead_code)] // used by `tests/global.rs` only
    pub(crate) const fn pass_through(parent: P, counters: &'c Counters) -> Self {
        let mut pool = Self::new_in(parent, counters);
        pool.classes = false;
        pool
    }

    /// The class serving `layout`, if any (none when passing through).
    fn class_for(&self, layout: Layout) -> Option<usize> {
        if self.classes { class_of(layout) } else { None }
    }

    /// A pool with one chunk for each class already taken from the parent (what a global
    /// allocator's initialiser does: a real parent allocation before first use).
    pub(crate) fn with_chunks(parent: P, counters: &'c Counters) -> Result<Self, AllocatorError> {
        let pool = Self::new_in(parent, counters);
        for i in 0..CLASSES.len() {
            pool.refill(i)?;
        }
        Ok(pool)
    }

    /// Slots ever carved, and slots free now: equal when every small block is back.
    pub(crate) fn slots(&self) -> (usize, usize) {
        (self.carved.get(), self.free_slots.get())
    }

    /// Takes a chunk from the parent and puts its slots (but slot 0) on class `i`'s list.
    #[cold]
    fn refill(&self, i: usize) -> Result<(), AllocatorError> {
        let chunk = self.parent.allocate_raw(CHUNK_LAYOUT)?.ptr();
        self.counters.chunks.fetch_add(1, Relaxed);
        // SAFETY: slot 0 is inside the chunk, aligned for a pointer.
        unsafe { chunk.cast::<Option<NonNull<u8>>>().write(self.chunks.get()) };
        self.chunks.set(Some(chunk));
        let class = CLASSES[i];
        let count = CHUNK / class;
        for s in 1..count {
            // SAFETY: `s * class < CHUNK`: the slot is inside the chunk.
            let slot = unsafe { chunk.add(s * class) };
            self.push(i, slot);
        }
        self.carved.set(self.carved.get() + count - 1);
        Ok(())
    }

    fn push(&self, i: usize, slot: NonNull<u8>) {
        // SAFETY: the slot is a free slot of class `i`, at least 16 bytes, aligned to its
        // class (a multiple of 16).
        unsafe { slot.cast::<Option<NonNull<u8>>>().write(self.free[i].get()) };
        self.free[i].set(Some(slot));
        self.free_slots.set(self.free_slots.get() + 1);
    }

    fn pop(&self, i: usize) -> Option<NonNull<u8>> {
        let slot = self.free[i].get()?;
        // SAFETY: a free slot holds the address of the next one.
        self.free[i].set(unsafe { slot.cast::<Option<NonNull<u8>>>().read() });
        self.free_slots.set(self.free_slots.get() - 1);
        Some(slot)
    }

    /// The slot at `block`'s address, with the provenance of its chunk rather than the
    /// caller's pointer: a pointer given back may carry a narrower permission (under
    /// Stacked Borrows, a `Box<[u8; 24]>` freed into a 32-byte slot may access 24 bytes
    /// only), and the slot will be handed out whole again.
    ///
    /// # Panics
    ///
    /// If no chunk of the pool contains the block: a foreign block.
    fn reclaim(&self, block: &Block) -> NonNull<u8> {
        let mut next = self.chunks.get();
        while let Some(chunk) = next {
            if block.is_inside(chunk.as_ptr().addr(), CHUNK) {
                return chunk.with_addr(block.ptr().addr());
            }
            // SAFETY: slot 0 of a chunk holds the previous chunk's address.
            next = unsafe { chunk.cast::<Option<NonNull<u8>>>().read() };
        }
        panic!("SizeClassPool: block {block:?} is not in any chunk of this pool (foreign block)")
    }

    fn class_block(ptr: NonNull<u8>, i: usize, layout: Layout) -> Block {
        let layout = Layout::from_size_align(CLASSES[i], layout.align()).expect("class layout");
        Block::from_raw_parts(ptr, layout)
    }
}

impl<P: Allocator> Drop for SizeClassPool<'_, P> {
    fn drop(&mut self) {
        let mut next = self.chunks.get();
        while let Some(chunk) = next {
            // SAFETY: slot 0 of a chunk holds the previous chunk's address.
            next = unsafe { chunk.cast::<Option<NonNull<u8>>>().read() };
            // SAFETY: allocated from the parent with `CHUNK_LAYOUT` in `refill`.
            unsafe {
                self.parent
                    .deallocate_raw(Block::from_raw_parts(chunk, CHUNK_LAYOUT))
            };
        }
    }
}

// SAFETY: a slot is on one free list or handed out, never both; slots of class `c` are `c`
// bytes at `c`-aligned offsets of a 256-aligned chunk from the parent, which lives until
// the pool drops; larger requests are the parent's blocks; zero-size requests get empty
// blocks. `class_of` maps every block that fits a small allocation to the same class.
unsafe impl<P: Allocator> Allocator for SizeClassPool<'_, P> {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let block = match self.class_for(layout) {
            Some(i) => {
                let slot = match self.pop(i) {
                    Some(slot) => slot,
                    None => {
                        self.refill(i)?;
                        self.pop(i).ok_or(AllocatorError::OutOfMemory)?
                    }
                };
                self.counters.pool_served.fetch_add(1, Relaxed);
                Self::class_block(slot, i, layout)
            }
            None => {
                let block = self.parent.allocate_raw(layout)?;
                self.counters.parent_served.fetch_add(1, Relaxed);
                block
            }
        };
        self.counters.allocs.fetch_add(1, Relaxed);
        Ok(block)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        self.counters.frees.fetch_add(1, Relaxed);
        match self.class_for(block.layout()) {
            Some(i) => self.push(i, self.reclaim(&block)),
            // SAFETY: a block too large for a class came from the parent.
            None => unsafe { self.parent.deallocate_raw(block) },
        }
    }

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if !block.is_empty() && new_layout.size() != 0 {
            match (self.class_for(block.layout()), self.class_for(new_layout)) {
                // Same class: the slot already fits (it is aligned to its class size).
                (Some(i), Some(j)) if i == j => {
                    return Ok(Self::class_block(self.reclaim(&block), i, new_layout));
                }
                // SAFETY: both large: the block is the parent's.
                (None, None) => return unsafe { self.parent.reallocate_raw(block, new_layout) },
                _ => {}
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { alloc_core::move_block(self, self, block, new_layout) }
    }
}
