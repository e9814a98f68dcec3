//! [`Heap`]: the global allocator as an [`Allocator`].

use crate::{Allocator, AllocatorError, Block, FromGlobalAlloc};
use alloc::alloc as global;
use core::alloc::{GlobalAlloc, Layout};

/// The global heap (`alloc::alloc`, the `#[global_allocator]`, usually the system
/// allocator) as an [`Allocator`]: the default parent of every other allocator.
///
/// It is a zero-size, `Copy` handle: moving or copying it never affects its blocks.
/// It returns blocks of exactly the requested size, grows and shrinks them with
/// `realloc`, and answers zero-size requests with [`Block::empty`] without touching the
/// global allocator. It cannot tell which blocks are its own, so it is not a
/// [`BlockOwner`](crate::BlockOwner): use it as the fallback side of a composite.
///
/// With the `std` feature, [`std::alloc::System`] implements [`Allocator`] the same way:
/// use it as the parent of an allocator that is itself the `#[global_allocator]`, where
/// `Heap` would call back into it.
///
/// # Examples
///
/// ```
/// use alloc_core::{Allocator, Heap};
///
/// let numbers = Heap.allocate_slice_with(4, |i| i as u32 * 10).unwrap();
/// assert_eq!(&*numbers, &[0, 10, 20, 30]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Heap;

// SAFETY: forwards to the `#[global_allocator]` through `alloc::alloc`, with the caller's
// promises passed on unchanged.
unsafe impl GlobalAlloc for Heap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller (non-zero size).
        unsafe { global::alloc(layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller (non-zero size).
        unsafe { global::alloc_zeroed(layout) }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller (a block of the global allocator).
        unsafe { global::dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { global::realloc(ptr, layout, new_size) }
    }
}

/// Implements [`Allocator`] for a zero-size `GlobalAlloc` handle by forwarding to
/// [`FromGlobalAlloc`], the one implementation over `GlobalAlloc`.
macro_rules! allocator_over_global_alloc {
    ($ty:ty) => {
        // SAFETY: every method forwards to `FromGlobalAlloc(self)`, an `Allocator` over the
        // same `GlobalAlloc`; its blocks live in the `GlobalAlloc`, independently of this
        // handle, which is a zero-size `Copy` value.
        unsafe impl Allocator for $ty {
            #[inline]
            fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                FromGlobalAlloc(self).allocate_raw(layout)
            }

            #[inline]
            fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
                FromGlobalAlloc(self).allocate_zeroed_raw(layout)
            }

            #[inline]
            unsafe fn deallocate_raw(&self, block: Block) {
                // SAFETY: forwarded from the caller (the same `GlobalAlloc`).
                unsafe { FromGlobalAlloc(self).deallocate_raw(block) }
            }

            #[inline]
            unsafe fn reallocate_raw(
                &self,
                block: Block,
                new_layout: Layout,
            ) -> Result<Block, AllocatorError> {
                // SAFETY: forwarded from the caller (the same `GlobalAlloc`).
                unsafe { FromGlobalAlloc(self).reallocate_raw(block, new_layout) }
            }
        }
    };
}

allocator_over_global_alloc!(Heap);
#[cfg(feature = "std")]
allocator_over_global_alloc!(std::alloc::System);

#[cfg(test)]
mod tests {
    use super::Heap;
    use crate::Allocator;
    use core::alloc::Layout;

    #[test]
    fn zero_size_is_aligned_and_free() {
        for align in [1, 2, 8, 64, 4096] {
            let layout = Layout::from_size_align(0, align).unwrap();
            let b = Heap.allocate_raw(layout).unwrap();
            assert!(b.is_empty());
            assert_eq!(b.addr() % align, 0);
            // SAFETY: empty blocks may always be deallocated.
            unsafe { Heap.deallocate_raw(b) };
        }
    }

    #[test]
    fn over_aligned_requests_are_honoured() {
        let layout = Layout::from_size_align(100, 4096).unwrap();
        let b = Heap.allocate_raw(layout).unwrap();
        assert_eq!(b.addr() % 4096, 0);
        // SAFETY: allocated just above.
        let grown = unsafe { Heap.reallocate_raw(b, Layout::from_size_align(9000, 4096).unwrap()) }
            .unwrap();
        assert_eq!(grown.addr() % 4096, 0);
        // SAFETY: `grown` is currently allocated by `Heap`.
        let shrunk =
            unsafe { Heap.reallocate_raw(grown, Layout::from_size_align(0, 4096).unwrap()) }
                .unwrap();
        assert!(shrunk.is_empty());
    }

    #[test]
    fn system_is_an_allocator_too() {
        let system = std::alloc::System;
        let b = system.allocate_slice_copy(&[1u32, 2, 3]).unwrap();
        assert_eq!(&*b, &[1, 2, 3]);
        let block = system
            .allocate_zeroed_raw(Layout::new::<[u8; 64]>())
            .unwrap();
        // SAFETY: `block` is currently allocated by `System`.
        let grown = unsafe { system.reallocate_raw(block, Layout::new::<[u8; 4096]>()) }.unwrap();
        // SAFETY: `grown` is currently allocated by `System`.
        unsafe { system.deallocate_raw(grown) };
    }

    #[test]
    fn zero_size_types_in_boxes() {
        let unit = Heap.allocate(()).unwrap();
        assert_eq!(*unit, ());
        let empty = Heap.allocate_slice_copy::<u64>(&[]).unwrap();
        assert!(empty.is_empty());
    }
}
