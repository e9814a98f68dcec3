//! [`Pages`]: page-granular memory straight from the operating system.

use core::alloc::Layout;
use core::ptr::NonNull;

use alloc_core::{Allocator, AllocatorError, Block, move_block};

use crate::sys;

/// Page-granular memory straight from the operating system: every block is a mapping of
/// its own (`mmap` on unix, `VirtualAlloc` on Windows), given back with `munmap` /
/// `VirtualFree`. The parent of choice for allocators that take big chunks (a `Tlsf`, a
/// growing `Scoped`, a pool) and the large-block side of a composition
/// (`Segregator<1 << 16, Small, Pages>`).
///
/// - **Sizes** are rounded up to whole pages ([`Pages::page_size`], 4 KiB on most
///   systems), and the block reports the whole rounded size, which the caller may use
///   (as other allocators report their usable size).
/// - **Alignment**: blocks are page-aligned; a larger alignment is served by mapping
///   `alignment - page` bytes more and unmapping the excess before and after the aligned
///   part (on Windows, by reserving again at the aligned address).
/// - **Zeroed** allocations cost nothing more: fresh pages read as zero.
/// - **Huge pages**: on Linux a mapping of 2 MiB or more asks for transparent huge pages
///   (`madvise(MADV_HUGEPAGE)`), so a large block is not faulted in 4 KiB at a time; a
///   hint the system may ignore.
/// - **Reallocation**: in place when the page count does not change; on Linux (and
///   Android) growing or shrinking a page-aligned block is one `mremap` with
///   `MREMAP_MAYMOVE`, which moves page table entries rather than bytes; elsewhere
///   shrinking unmaps the tail in place (unix) and anything else moves.
/// - **Errors**: a size that overflows when rounded to pages (or with the alignment's
///   excess) or exceeds `isize::MAX` is `SizeOverflow`, a size a [`Block`] cannot
///   describe (2^58 bytes on 64-bit targets) `TooLarge`, and a refusal of the system
///   `OutOfMemory`.
///
/// A unit struct: `Copy`, zero-size, and any value is as good as another (blocks of one
/// may be given back to another). It is **not** a [`BlockOwner`](alloc_core::BlockOwner):
/// telling whether a block is a mapping of its own would need a table (or a system call),
/// not an O(1) answer. It calls no user code, so the conformance kit's re-entrancy mode
/// has nothing to check.
///
/// Every request is a system call (a few microseconds), and fresh pages are faulted in
/// when first written: use it for large blocks, as the parent of an allocator that carves
/// small blocks out of large ones, or behind a `Recycler` (alloc-compose) that keeps freed
/// blocks for the next request.
///
/// # Examples
///
/// ```
/// use alloc_pages::{Allocator, Pages};
/// use core::alloc::Layout;
///
/// let page = Pages::page_size();
/// let block = Pages.allocate_raw(Layout::from_size_align(100, 8).unwrap()).unwrap();
/// assert_eq!(block.size(), page); // the whole page is the caller's
/// assert_eq!(block.addr() % page, 0);
/// // SAFETY: `block` is currently allocated by `Pages` and not used afterwards.
/// unsafe { Pages.deallocate_raw(block) };
///
/// let big = Pages.allocate_slice_with(1 << 16, |i| i as u8).unwrap();
/// assert_eq!(big[1000], (1000 % 256) as u8);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pages;

impl Pages {
    /// The size of a page (the unit of every block's size), asked of the system once and
    /// cached: usually 4 KiB; 16 KiB on Apple silicon, 64 KiB on some ARM and POWER
    /// Linux kernels. Always a power of two.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_pages::Pages;
    ///
    /// let page = Pages::page_size();
    /// assert!(page.is_power_of_two() && page >= 4096);
    /// ```
    #[inline]
    #[must_use]
    pub fn page_size() -> usize {
        sys::page_size()
    }
}

/// `size` rounded up to whole pages of `page` bytes (a power of two): `SizeOverflow` if it
/// overflows or exceeds `isize::MAX`, `TooLarge` if a [`Block`] cannot describe it.
#[inline]
pub(crate) fn round_to_pages(size: usize, page: usize) -> Result<usize, AllocatorError> {
    let rounded = match size.checked_add(page - 1) {
        Some(s) => s & !(page - 1),
        None => return Err(AllocatorError::SizeOverflow),
    };
    if rounded > isize::MAX as usize {
        Err(AllocatorError::SizeOverflow)
    } else if rounded > Block::MAX_SIZE {
        Err(AllocatorError::TooLarge)
    } else {
        Ok(rounded)
    }
}

/// The block of `len` bytes at `ptr` with alignment `align`.
#[inline]
fn make_block(ptr: NonNull<u8>, len: usize, align: usize) -> Block {
    // `len` passed `round_to_pages` (at most `Block::MAX_SIZE` and `isize::MAX`), `ptr` is
    // aligned to `align` (a `Layout`'s alignment) and maps `len` bytes, so `len` rounded
    // up to `align` does not pass the end of the address space: a valid `Layout`.
    match Layout::from_size_align(len, align) {
        // SAFETY: `len <= Block::MAX_SIZE` (checked by `round_to_pages`).
        Ok(layout) => unsafe { Block::from_raw_parts_unchecked(ptr, layout) },
        Err(_) => unreachable!("alloc_pages: a rounded size that passed the checks"),
    }
}

// SAFETY: every block is a mapping of its own of at least the requested size (rounded up
// to pages), aligned as asked (page-aligned, or over-mapped and trimmed to the alignment),
// valid until it is unmapped by `deallocate_raw` or a reallocation; mappings are disjoint
// by construction (the system hands out unused address space), and they live outside the
// `Pages` value, which has no state at all. Failures change nothing.
unsafe impl Allocator for Pages {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let page = sys::page_size();
        let len = round_to_pages(layout.size(), page)?;
        let map_align = layout.align().max(page);
        // The over-mapping for a large alignment must not overflow either: checked here so
        // that it is reported as the size problem it is, not as exhaustion.
        if len
            .checked_add(map_align - page)
            .is_none_or(|t| t > isize::MAX as usize)
        {
            return Err(AllocatorError::SizeOverflow);
        }
        match sys::map_aligned(len, map_align) {
            Some(ptr) => Ok(make_block(ptr, len, layout.align())),
            None => Err(AllocatorError::OutOfMemory),
        }
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = self.allocate_raw(layout)?;
        if !sys::FRESH_IS_ZERO {
            // SAFETY: a block just allocated, valid for writes of `size()` bytes.
            unsafe { block.as_ptr().write_bytes(0, block.size()) };
        }
        Ok(block)
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let page = sys::page_size();
        // A block that fits one of ours has a size between the requested and the rounded
        // one: it rounds to the mapping's length. The rounding cannot fail for it.
        let len = round_to_pages(block.size(), page)
            .expect("Pages::deallocate_raw: the block is larger than any block of Pages");
        // SAFETY: the caller gives back a block of `Pages` (the contract): a mapping of
        // `len` bytes at `block.ptr()`, made with `map_align`, no longer used.
        unsafe { sys::unmap_aligned(block.ptr(), len, block.align().max(page)) };
    }

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() || new_layout.size() == 0 {
            // SAFETY: forwarded from the caller; `move_block` allocates (an empty block
            // needs no copy) or frees and returns an empty block.
            return unsafe { move_block(self, self, block, new_layout) };
        }
        let page = sys::page_size();
        let old_len = round_to_pages(block.size(), page)
            .expect("Pages::reallocate_raw: the block is larger than any block of Pages");
        let new_len = round_to_pages(new_layout.size(), page)?;
        // In place only when the mapping's alignment is unchanged (the same for every
        // alignment up to a page): the address then suits the new alignment, and the
        // mapping is given back later with the alignment it was made with (the Miri
        // fallback's heap needs it).
        let map_align = new_layout.align().max(page);
        if block.align().max(page) == map_align {
            if new_len == old_len {
                return Ok(make_block(block.ptr(), new_len, new_layout.align()));
            }
            if sys::CAN_REMAP && map_align == page {
                // SAFETY: `block` is a mapping of `old_len` bytes (the caller's contract);
                // on success only the returned mapping is used from now on.
                return match unsafe { sys::remap(block.ptr(), old_len, new_len) } {
                    Some(ptr) => Ok(make_block(ptr, new_len, new_layout.align())),
                    None => Err(AllocatorError::OutOfMemory),
                };
            }
            // SAFETY: a mapping of `old_len` bytes (the caller's contract); the caller
            // keeps only the first `new_len < old_len` bytes, the new block's.
            if new_len < old_len && unsafe { sys::shrink(block.ptr(), old_len, new_len) } {
                return Ok(make_block(block.ptr(), new_len, new_layout.align()));
            }
        }
        // SAFETY: forwarded from the caller: `block` is currently allocated by `Pages`.
        unsafe { move_block(self, self, block, new_layout) }
    }

    #[inline]
    fn good_size(&self, layout: Layout) -> usize {
        round_to_pages(layout.size(), sys::page_size()).unwrap_or(layout.size())
    }
}

alloc_core::impl_allocator_api2!(impl[] for Pages);

#[cfg(test)]
mod tests {
    use super::round_to_pages;
    use alloc_core::AllocatorError::{SizeOverflow, TooLarge};
    use alloc_core::Block;

    #[test]
    fn rounding_to_pages() {
        assert_eq!(round_to_pages(1, 4096), Ok(4096));
        assert_eq!(round_to_pages(4096, 4096), Ok(4096));
        assert_eq!(round_to_pages(4097, 4096), Ok(8192));
        assert_eq!(round_to_pages(usize::MAX, 4096), Err(SizeOverflow));
        assert_eq!(round_to_pages(isize::MAX as usize, 4096), Err(SizeOverflow));
        if Block::MAX_SIZE < isize::MAX as usize {
            assert_eq!(round_to_pages(Block::MAX_SIZE, 4096), Err(TooLarge));
        }
    }
}
