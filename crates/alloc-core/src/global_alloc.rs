//! [`FromGlobalAlloc`]: any `GlobalAlloc` as an [`Allocator`].

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::NonNull;

use crate::{Allocator, AllocatorError, Block};

/// Any [`GlobalAlloc`] (mimalloc's `MiMalloc`, a `#[global_allocator]` of your own, an
/// `alloc_global::GlobalAllocator`) as an [`Allocator`], by reference: as the parent of
/// our allocators, under the conformance kit, or under a collection.
///
/// It turns null into `OutOfMemory`, answers zero-size requests with [`Block::empty`]
/// without calling the `GlobalAlloc` (which must not see them), grows and shrinks with
/// `realloc` while the alignment stays the same, and moves the block otherwise. Blocks
/// have exactly the requested size. [`Heap`](crate::Heap) and `std::alloc::System` are
/// `Allocator`s through this same code.
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, FromGlobalAlloc};
/// use std::alloc::System;
///
/// static GLOBAL: System = System; // say, the program's `#[global_allocator]`
/// let alloc = FromGlobalAlloc(&GLOBAL);
/// let words = alloc.allocate_slice_copy(&[1u64, 2, 3]).unwrap();
/// assert_eq!(words.iter().sum::<u64>(), 6);
/// ```
pub struct FromGlobalAlloc<'a, G: ?Sized>(pub &'a G);

impl<G: ?Sized> Clone for FromGlobalAlloc<'_, G> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G: ?Sized> Copy for FromGlobalAlloc<'_, G> {}

impl<G: ?Sized> fmt::Debug for FromGlobalAlloc<'_, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromGlobalAlloc")
    }
}

// SAFETY: non-empty blocks come from the `GlobalAlloc` with the requested layout, which it
// promises are valid, aligned, sized exactly and disjoint from other live blocks; they live
// until deallocated, in the `GlobalAlloc`, independently of this handle (a reference, so
// moving or copying it changes nothing); zero-size requests never reach the `GlobalAlloc`;
// blocks go back with the layout they were allocated or reallocated with.
unsafe impl<G: GlobalAlloc + ?Sized> Allocator for FromGlobalAlloc<'_, G> {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        too_large(layout)?;
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { self.0.alloc(layout) };
        NonNull::new(ptr)
            .map(|ptr| Block::from_raw_parts(ptr, layout))
            .ok_or(AllocatorError::OutOfMemory)
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        too_large(layout)?;
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        NonNull::new(ptr)
            .map(|ptr| Block::from_raw_parts(ptr, layout))
            .ok_or(AllocatorError::OutOfMemory)
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if !block.is_empty() {
            // SAFETY: the caller gives back a non-empty block currently allocated here;
            // blocks have exact sizes, so the layout is the one used.
            unsafe { self.0.dealloc(block.as_ptr(), block.layout()) }
        }
    }

    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() || new_layout.size() == 0 || block.align() != new_layout.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { crate::move_block(self, self, block, new_layout) };
        }
        too_large(new_layout)?;
        // SAFETY: `block` is a non-empty block currently allocated here with
        // `block.layout()` (caller); the new size is non-zero and, being the size of a
        // `Layout` with the same alignment, does not overflow `isize` when rounded up.
        let ptr = unsafe {
            self.0
                .realloc(block.as_ptr(), block.layout(), new_layout.size())
        };
        NonNull::new(ptr)
            .map(|ptr| Block::from_raw_parts(ptr, new_layout))
            .ok_or(AllocatorError::OutOfMemory)
    }
}

/// Refuses sizes no block can describe ([`Block::MAX_SIZE`], 2^58 bytes on 64-bit
/// targets) before the `GlobalAlloc` is asked: no real allocation is that large, and an
/// optimiser that elides an unused allocation may "succeed" at any size.
#[inline(always)]
fn too_large(layout: Layout) -> Result<(), AllocatorError> {
    if layout.size() > Block::MAX_SIZE {
        Err(AllocatorError::OutOfMemory)
    } else {
        Ok(())
    }
}
