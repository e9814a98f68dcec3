//! The size-class pools behind [`GeneralPurpose`](super::GeneralPurpose)'s thread caches:
//! one spin-locked pool per class that carves 64 KiB chunks from `System` and keeps its
//! freed blocks on a list; anything else goes to `System`.
//!
//! A stand-in, private on purpose: the thread caches in front take its lock once per
//! block of a batch only when the depot is empty or full, so a simple pool is enough
//! until the lock-free, size-aligned class pools replace it.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use std::alloc::System;

use alloc_core::{Allocator, AllocatorError, Block, RawLock, SpinLock};

use crate::cache::{ALIGN, NUM_CLASSES, class_of, class_size};

/// A chunk's header: the link to the next chunk of the same pool (16 bytes keep blocks
/// 16-aligned).
const HEADER: usize = 16;
/// The usual chunk size.
const CHUNK: usize = 64 * 1024;

/// The size of class `c`'s chunks: 64 KiB, or room for 8 blocks for the largest classes.
const fn chunk_size(c: usize) -> usize {
    let eight = HEADER + 8 * class_size(c);
    if eight > CHUNK { eight } else { CHUNK }
}

/// The layout of class `c`'s chunks.
const fn chunk_layout(c: usize) -> Layout {
    // SAFETY: at most 16 + 8 * 16 KiB, and 16 is a power of two.
    unsafe { Layout::from_size_align_unchecked(chunk_size(c), ALIGN) }
}

/// One class's state. Accessed only with its pool's lock held (or `&mut`).
struct PoolState {
    /// Freed blocks, linked through their first word; null when empty.
    free: *mut u8,
    /// The next unused byte of the newest chunk (null before the first chunk).
    bump: *mut u8,
    /// Bytes left after `bump` in the newest chunk.
    left: usize,
    /// The newest chunk; each chunk's header links to the previous one.
    chunks: *mut u8,
    /// How many chunks.
    chunk_count: usize,
}

/// One class.
struct Pool {
    lock: SpinLock,
    state: UnsafeCell<PoolState>,
}

/// The class pools.
pub(crate) struct Pools {
    pools: [Pool; NUM_CLASSES],
}

// SAFETY: the raw pointers are memory of `System` owned by the pools, touched only with a
// pool's lock held (or `&mut self`); nothing is tied to a thread.
unsafe impl Send for Pools {}
// SAFETY: as for `Send`.
unsafe impl Sync for Pools {}

impl Pools {
    /// Empty pools; no memory until the first request.
    pub(crate) const fn new() -> Self {
        Self {
            pools: [const {
                Pool {
                    lock: SpinLock::new(),
                    state: UnsafeCell::new(PoolState {
                        free: ptr::null_mut(),
                        bump: ptr::null_mut(),
                        left: 0,
                        chunks: ptr::null_mut(),
                        chunk_count: 0,
                    }),
                }
            }; NUM_CLASSES],
        }
    }

    /// Chunks held and their bytes.
    pub(crate) fn chunks(&self) -> (usize, usize) {
        let mut chunks = 0;
        let mut bytes = 0;
        for (c, pool) in self.pools.iter().enumerate() {
            let _guard = pool.lock.lock();
            // SAFETY: the lock is held.
            let n = unsafe { (*pool.state.get()).chunk_count };
            chunks += n;
            bytes += n * chunk_size(c);
        }
        (chunks, bytes)
    }

    /// A class-`c` block, or `None` if `System` refuses a chunk.
    fn allocate_class(&self, c: usize) -> Option<NonNull<u8>> {
        let pool = &self.pools[c];
        let _guard = pool.lock.lock();
        // SAFETY: the lock is held: no other access to the state.
        let state = unsafe { &mut *pool.state.get() };
        if let Some(block) = NonNull::new(state.free) {
            // SAFETY: a freed block of this pool, linked through its first word.
            state.free = unsafe { block.as_ptr().cast::<*mut u8>().read() };
            return Some(block);
        }
        let size = class_size(c);
        if state.left < size {
            // SAFETY: the chunk layout is not zero-sized. `System` never calls back into
            // these pools, so holding the lock over it cannot deadlock.
            let chunk = unsafe { System.alloc(chunk_layout(c)) };
            if chunk.is_null() {
                return None;
            }
            // SAFETY: the chunk is new, 16-aligned, and longer than its header.
            unsafe { chunk.cast::<*mut u8>().write(state.chunks) };
            state.chunks = chunk;
            state.chunk_count += 1;
            // SAFETY: the header is inside the chunk.
            state.bump = unsafe { chunk.add(HEADER) };
            state.left = chunk_size(c) - HEADER;
        }
        let block = state.bump;
        // SAFETY: `size <= left`: the block and the new `bump` are inside the chunk.
        state.bump = unsafe { block.add(size) };
        state.left -= size;
        NonNull::new(block)
    }
}

// SAFETY: class blocks are disjoint `class_size`-byte pieces of chunks, 16-aligned (chunks
// are 16-aligned, the header and every class size are multiples of 16), handed out once
// until freed; chunks live until the pools are dropped. Other requests are `System`'s.
unsafe impl Allocator for Pools {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let size = layout.size();
        if size.wrapping_sub(1) < class_size(NUM_CLASSES - 1) && layout.align() <= ALIGN {
            let c = class_of(size);
            let block = self.allocate_class(c).ok_or(AllocatorError::OutOfMemory)?;
            // SAFETY: at most 16 KiB.
            let layout =
                unsafe { Layout::from_size_align_unchecked(class_size(c), layout.align()) };
            return Ok(Block::from_raw_parts(block, layout));
        }
        System.allocate_raw(layout)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        let size = block.size();
        if size.wrapping_sub(1) < class_size(NUM_CLASSES - 1) && block.align() <= ALIGN {
            let pool = &self.pools[class_of(size)];
            let _guard = pool.lock.lock();
            // SAFETY: the lock is held: no other access to the state.
            let state = unsafe { &mut *pool.state.get() };
            // SAFETY: the caller gives back a block of this class, ours and unused.
            unsafe { block.as_ptr().cast::<*mut u8>().write(state.free) };
            state.free = block.as_ptr();
        } else {
            // SAFETY: forwarded from the caller: such blocks are `System`'s.
            unsafe { System.deallocate_raw(block) }
        }
    }
}

impl Drop for Pools {
    fn drop(&mut self) {
        for (c, pool) in self.pools.iter_mut().enumerate() {
            let mut chunk = pool.state.get_mut().chunks;
            while !chunk.is_null() {
                // SAFETY: a chunk of this pool; its header holds the previous chunk.
                let previous = unsafe { chunk.cast::<*mut u8>().read() };
                // SAFETY: allocated from `System` with this layout, freed once.
                unsafe { System.dealloc(chunk, chunk_layout(c)) };
                chunk = previous;
            }
        }
    }
}
