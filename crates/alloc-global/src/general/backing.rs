//! What [`GeneralPurpose`](super::GeneralPurpose)'s thread caches stand on: the crate's
//! [`SizeClasses`] for blocks of up to 4 KiB, `System` for anything larger or more aligned.
//!
//! Built from the public blocks on purpose (no private pool of its own): the caches take
//! batches of class blocks from `SizeClasses`, which grows by 64 KiB chunks and gives empty
//! chunks back to `System`; the cache classes above 4 KiB (5 to 16 KiB) are `System`'s
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

    /// The chunks the size classes hold now, and their bytes.
    pub(crate) fn chunks(&self) -> (usize, usize) {
        let chunks = self.classes.chunks();
        (chunks, chunks * SizeClasses::<System>::CHUNK_SIZE)
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
}
