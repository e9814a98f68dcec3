//! What [`GeneralPurpose`](super::GeneralPurpose)'s thread caches stand on: the crate's
//! [`SizeClasses`] for blocks of up to 4 KiB, `System` for anything larger or more aligned.
//!
//! Built from the public blocks on purpose (no private pool of its own): the caches take
//! batches of class blocks from `SizeClasses`, which grows by 16 KiB and 64 KiB chunks and
//! gives empty chunks back to `System`; the cache classes above 4 KiB (5 to 16 KiB) are `System`'s
//! blocks, cached like the others.

use core::alloc::Layout;
use std::alloc::System;

use alloc_core::{Allocator, AllocatorError, Block};

use crate::SizeClasses;

/// The largest request the size classes serve (their last class).
const CLASSES_MAX: usize = 4096;

/// Whether a request or block goes to the size classes: at most 4 KiB, aligned to at most
/// 16 (every cache class is; larger alignments never reach here through the cache, and
/// `System` serves them if they do).
#[inline(always)]
fn to_classes(size: usize, align: usize) -> bool {
    size <= CLASSES_MAX && align <= 16
}

/// Size classes for small blocks, `System` for the rest.
pub(crate) struct Backing {
    classes: SizeClasses<System>,
}

impl Backing {
    /// Nothing taken from `System` yet. A `const fn`.
    pub(crate) const fn new() -> Self {
        Self {
            classes: SizeClasses::new(),
        }
    }

    /// The size classes (for their counters).
    pub(crate) const fn classes(&self) -> &SizeClasses<System> {
        &self.classes
    }
}

// SAFETY: every block comes from the size classes or from `System`, chosen by its layout
// (size and alignment) alone. A block given back fits the block handed out: the same
// alignment, and a size between the requested and the returned one, which are on the same
// side of 4 KiB (the classes return at most 4 KiB for at most 4 KiB; `System` returns the
// size asked). So it takes the same route back to the allocator that made it, and both
// keep the contract; a reallocation that changes route moves the block (`move_block`).
unsafe impl Allocator for Backing {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if to_classes(layout.size(), layout.align()) {
            self.classes.allocate_raw(layout)
        } else {
            System.allocate_raw(layout)
        }
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if to_classes(block.size(), block.align()) {
            // SAFETY: forwarded from the caller: a block of the size classes (route above).
            unsafe { self.classes.deallocate_raw(block) }
        } else {
            // SAFETY: forwarded from the caller: a block of `System` (route above).
            unsafe { System.deallocate_raw(block) }
        }
    }

    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        match (
            to_classes(block.size(), block.align()),
            to_classes(new_layout.size(), new_layout.align()),
        ) {
            // SAFETY: forwarded from the caller: the block is the classes' (route above).
            (true, true) => unsafe { self.classes.reallocate_raw(block, new_layout) },
            // SAFETY: forwarded from the caller: the block is `System`'s (route above), and
            // so will the new one be (`System`'s own reallocation, which can grow in place).
            (false, false) => unsafe { System.reallocate_raw(block, new_layout) },
            // SAFETY: forwarded from the caller: the block is currently allocated by `self`.
            _ => unsafe { alloc_core::move_block(self, self, block, new_layout) },
        }
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if to_classes(layout.size(), layout.align()) {
            self.classes.allocate_zeroed_raw(layout)
        } else {
            // `System` gets fresh zeroed pages for large blocks without writing them.
            System.allocate_zeroed_raw(layout)
        }
    }

    /// The size classes' batch (one lock for the whole batch), or `System` block by block.
    #[inline]
    fn allocate_batch(&self, layout: Layout, out: &mut [Block]) -> Result<usize, AllocatorError> {
        if to_classes(layout.size(), layout.align()) {
            self.classes.allocate_batch(layout, out)
        } else {
            System.allocate_batch(layout, out)
        }
    }

    /// Each run of blocks of the same route goes back in one call (the size classes take
    /// a class's lock once per run).
    unsafe fn deallocate_batch(&self, blocks: &[Block]) {
        let mut rest = blocks;
        while let Some(first) = rest.first() {
            let classes = to_classes(first.size(), first.align());
            let run = rest
                .iter()
                .position(|b| to_classes(b.size(), b.align()) != classes)
                .unwrap_or(rest.len());
            let (now, later) = rest.split_at(run);
            if classes {
                // SAFETY: forwarded from the caller: blocks of the size classes (route).
                unsafe { self.classes.deallocate_batch(now) }
            } else {
                // SAFETY: forwarded from the caller: blocks of `System` (route).
                unsafe { System.deallocate_batch(now) }
            }
            rest = later;
        }
    }
}
