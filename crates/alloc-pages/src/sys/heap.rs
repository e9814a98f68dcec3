//! The fallback under Miri, which has no `mprotect` and rejects an `munmap` of part of a
//! mapping (it does emulate anonymous `mmap` and `mremap`): "pages" from the global heap,
//! allocated with page alignment. The logic above this module (rounding, over-alignment,
//! reallocation, the records of `Protected`) is the same as natively; what differs is
//! said at each function.

use alloc::alloc::{Layout, alloc, dealloc};
use core::ptr::NonNull;

use super::page_size;

/// Miri's pages are 4 KiB, as on most native targets.
pub(crate) fn os_page_size() -> usize {
    4096
}

fn layout(len: usize, align: usize) -> Layout {
    // The callers pass the length and alignment the block was allocated with: valid.
    Layout::from_size_align(len, align).expect("alloc_pages (Miri fallback): bad layout")
}

/// Heap memory of `len` bytes aligned to `align` (no over-mapping needed).
pub(crate) fn map_aligned(len: usize, align: usize) -> Option<NonNull<u8>> {
    let layout = Layout::from_size_align(len, align).ok()?;
    // SAFETY: `len` is not zero (the callers' rule).
    NonNull::new(unsafe { alloc(layout) })
}

/// Gives back a block of [`map_aligned`]: needs the alignment it was allocated with.
///
/// # Safety
///
/// `ptr`, `len` and `align` are those of a `map_aligned` block, no longer used.
pub(crate) unsafe fn unmap_aligned(ptr: NonNull<u8>, len: usize, align: usize) {
    // SAFETY: forwarded from the caller: allocated with this layout.
    unsafe { dealloc(ptr.as_ptr(), layout(len, align)) }
}

/// Heap blocks cannot be remapped: reallocations that change the page count move.
pub(crate) const CAN_REMAP: bool = false;

/// Never called ([`CAN_REMAP`] is false).
///
/// # Safety
///
/// As the native versions'.
pub(crate) unsafe fn remap(_ptr: NonNull<u8>, _old: usize, _new: usize) -> Option<NonNull<u8>> {
    None
}

/// A heap block cannot give back its tail: shrinking moves.
///
/// # Safety
///
/// As the native versions'.
pub(crate) unsafe fn shrink(_ptr: NonNull<u8>, _old: usize, _new: usize) -> bool {
    false
}

/// Heap memory is not zeroed.
pub(crate) const FRESH_IS_ZERO: bool = false;

/// `len` bytes and **no** guard page: Miri reports any access past the end as out of
/// bounds, which is what the guard page's fault is natively.
pub(crate) fn map_guarded(len: usize) -> Option<NonNull<u8>> {
    map_aligned(len, page_size())
}

/// Deallocates at once: Miri then reports any later access as a use-after-free (natively,
/// the pages are made inaccessible and stay reserved). The heap may hand the address out
/// again; the records of `Protected` then describe the new block.
///
/// # Safety
///
/// `ptr..ptr + len` is a `map_guarded` block, no longer used.
pub(crate) unsafe fn retire(ptr: NonNull<u8>, len: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { dealloc(ptr.as_ptr(), layout(len, page_size())) }
}

/// Deallocates a live `map_guarded` block; a retired one is already gone.
///
/// # Safety
///
/// `ptr` and `len` are those of a `map_guarded` block, no longer used, retired exactly
/// when `retired`.
pub(crate) unsafe fn unmap_guarded(ptr: NonNull<u8>, len: usize, retired: bool) {
    if !retired {
        // SAFETY: forwarded from the caller: allocated by `map_guarded`, not retired.
        unsafe { dealloc(ptr.as_ptr(), layout(len, page_size())) }
    }
}
