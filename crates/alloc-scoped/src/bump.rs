//! [`Bump`]: the non-generic engine behind [`Scoped`](crate::Scoped) and
//! [`Scope`](crate::Scope): a downward bump pointer over one region of a buffer, plus
//! the busy flag that a child scope sets on its parent.
//!
//! Everything here is compiled once, whatever the parent allocator of a `Scoped` is (the
//! generic outer type wraps this non-generic inner one).

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr::{self, NonNull};

use alloc_core::{AllocatorError, Block};

use crate::{MAX_ALIGN, Scope};

/// The value of [`Bump::limit`] while a child scope is open: no address is at or above
/// it, so every allocation of the fast path fails and the slow path reports
/// [`AllocatorError::Busy`].
const BUSY: usize = usize::MAX;

/// A downward bump allocator over the region `start..end` of a buffer.
///
/// Blocks are handed out from `end` towards `start`: the live blocks of this allocator
/// all lie in `ptr..end`, the free space is `start..ptr`.
pub(crate) struct Bump {
    /// The bump pointer: the lowest byte handed out (or `end` when nothing is). Always in
    /// `start..=end`. It carries the provenance of the whole buffer, so every block is
    /// derived from it.
    ptr: Cell<NonNull<u8>>,
    /// Allocations must start at or above this address: `start`, or [`BUSY`] while a
    /// child scope is open. It is the one bound the fast path compares against.
    limit: Cell<usize>,
    /// Lowest address of the region (the start of the buffer).
    start: usize,
    /// One past the highest address of the region: the end of the buffer for a
    /// `Scoped`, the parent's bump pointer at the time a child `Scope` was opened.
    end: usize,
}

impl Bump {
    /// A bump allocator over `len` bytes at `base`, with nothing allocated.
    ///
    /// # Safety
    ///
    /// `base..base + len` is valid for reads and writes, and stays so (and is used by
    /// nobody else) for as long as the `Bump` or any block it hands out is in use. For
    /// `len == 0`, `base` may be dangling (it is then never dereferenced).
    #[inline]
    pub(crate) unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        // SAFETY: `base..base + len` is one allocation (caller), so one past its end is
        // in bounds for `add`.
        let end = unsafe { base.add(len) };
        let start = base.as_ptr().addr();
        Self {
            ptr: Cell::new(end),
            limit: Cell::new(start),
            start,
            end: end.as_ptr().addr(),
        }
    }

    /// Allocates `layout`: the fast path, inlined into the caller. On the bump pointer's
    /// dependency chain there are only a subtraction and a mask (two cycles per
    /// allocation in a loop); the checks beside it are predictable branches, and those
    /// on the layout alone (zero size, alignment) fold away for constant layouts or are
    /// hoisted out of loops. Zero-size requests get an empty block; the reason for any
    /// other failure comes from the cold slow path.
    #[inline(always)]
    pub(crate) fn alloc(&self, layout: Layout) -> Result<Block, AllocatorError> {
        // Checks on the layout alone first, as their own branch: constant for typed
        // allocations, loop-invariant in loops (where the optimiser hoists them).
        if layout.size() != 0 && layout.align() <= MAX_ALIGN {
            let ptr = self.ptr.get();
            if let Some(new) = down(ptr.as_ptr().addr(), layout) {
                if new >= self.limit.get() {
                    // SAFETY: `new >= limit >= start >= 1` (`start` is the address of a
                    // `NonNull`), so the pointer is not null.
                    let new_ptr = unsafe { NonNull::new_unchecked(ptr.as_ptr().with_addr(new)) };
                    self.ptr.set(new_ptr);
                    // `new..new + size` lies in `start..ptr`: free space of the buffer,
                    // now the lowest live block, aligned by `down`.
                    return Ok(Block::from_raw_parts(new_ptr, layout));
                }
            }
        } else if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        Err(self.failure(layout))
    }

    /// Why a non-empty request for `layout` cannot be served now: the slow path of
    /// [`alloc`](Self::alloc), out of line and cold, returning a plain one-byte value (in
    /// a register) that the caller wraps in `Err`. (A `Result<Block, _>` returned from an
    /// out-of-line function travels through memory, and the caller's fast path then
    /// stored its own block there too: see ARCHITECTURE.md, "Performance rules".)
    #[cold]
    #[inline(never)]
    fn failure(&self, layout: Layout) -> AllocatorError {
        if self.is_busy() {
            AllocatorError::Busy
        } else if layout.align() > MAX_ALIGN {
            AllocatorError::UnsupportedAlignment
        } else if layout.size() > self.capacity() {
            AllocatorError::TooLarge
        } else {
            AllocatorError::OutOfMemory
        }
    }

    /// Gives `block` back: rewinds the bump pointer if it is the most recent block,
    /// does nothing otherwise.
    ///
    /// # Safety
    ///
    /// `block` fits a block currently allocated by this `Bump`, or is empty. A block that
    /// lies outside `ptr..end` (foreign, freed twice, or from a scope that has ended) is
    /// detected and causes a panic; other violations are not detected.
    ///
    /// # Panics
    ///
    /// If `block` is not empty and does not lie in `ptr..end`.
    #[inline(always)]
    pub(crate) unsafe fn dealloc(&self, block: Block) {
        let ptr = self.ptr.get();
        let addr = ptr.as_ptr().addr();
        if block.addr() == addr {
            // The most recent block (or an empty block that happens to sit at the bump
            // pointer: rewinding by zero bytes is harmless). `addr <= end` (invariant).
            if block.size() > self.end - addr {
                not_allocated(&block, "deallocate_raw");
            }
            // SAFETY: `addr + size <= end`: inside the buffer or one past its end.
            self.ptr.set(unsafe { ptr.add(block.size()) });
        } else if !block.is_empty() && !block.is_inside(addr, self.end - addr) {
            not_allocated(&block, "deallocate_raw");
        }
    }

    /// Reallocates `block` to `new_layout`. The most recent block is moved within the
    /// space from `limit` to its own end (growing downward into the free space, or
    /// shrinking towards its end, which gives the rest back) with one overlapping copy;
    /// another block keeps its address when it shrinks and is copied to a new block when
    /// it grows.
    ///
    /// # Safety
    ///
    /// As [`dealloc`](Self::dealloc).
    ///
    /// # Errors
    ///
    /// As [`alloc`](Self::alloc); the block is unchanged then.
    ///
    /// # Panics
    ///
    /// As [`dealloc`](Self::dealloc).
    //
    // Out of line on purpose: growth is rare next to the pushes around it (a `Vec`
    // doubles), and inlining this body into a push loop costs registers in the loop:
    // measured 30 % slower pushes in `benches/benches/scoped.rs` when inlined.
    #[inline(never)]
    pub(crate) unsafe fn realloc(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.layout() == new_layout {
            return Ok(block);
        }
        if block.is_empty() {
            // Nothing to copy and nothing to give back.
            return self.alloc(new_layout);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.dealloc(block) };
            return Ok(Block::empty(new_layout));
        }
        let ptr = self.ptr.get();
        let addr = ptr.as_ptr().addr();
        if block.addr() == addr {
            // The most recent block: all of `limit..addr + size` is available to it.
            if block.size() > self.end - addr {
                not_allocated(&block, "reallocate_raw");
            }
            let top = addr + block.size();
            let served = new_layout.align() <= MAX_ALIGN;
            if let Some(new) = down(top, new_layout).filter(|&n| served && n >= self.limit.get()) {
                // SAFETY: `new >= limit >= start >= 1`: not null.
                let new_ptr = unsafe { NonNull::new_unchecked(ptr.as_ptr().with_addr(new)) };
                let len = block.size().min(new_layout.size());
                // SAFETY: the old block (`addr..top`) and the new one (`new..new + len`,
                // with `new + new_size <= top`) both lie in `start..end`, valid for reads
                // and writes; `ptr::copy` allows them to overlap. Nothing else lives in
                // `limit..top` but the old block.
                unsafe { ptr::copy(block.as_ptr(), new_ptr.as_ptr(), len) };
                self.ptr.set(new_ptr);
                return Ok(Block::from_raw_parts(new_ptr, new_layout));
            }
        } else if !block.is_inside(addr, self.end - addr) {
            not_allocated(&block, "reallocate_raw");
        }
        self.realloc_elsewhere(block, new_layout)
    }

    /// The rest of `realloc`: a block that is not the most recent one (or a most recent
    /// one that cannot move, because the space is exhausted or a child scope is open).
    #[inline(never)]
    fn realloc_elsewhere(&self, block: Block, new_layout: Layout) -> Result<Block, AllocatorError> {
        if new_layout.size() <= block.size() && block.addr() % new_layout.align() == 0 {
            // Shrink in place: same address, the tail stays unused until the space is
            // reclaimed (a reset, or the end of the scope).
            return Ok(Block::from_raw_parts(block.ptr(), new_layout));
        }
        let new = self.alloc(new_layout)?;
        // SAFETY: `block` is valid for reads of its size (caller), `new` for writes of at
        // least `new_layout.size()` bytes; `new` is freshly allocated while `block` is
        // live, so they do not overlap. The old block needs no freeing: it is not the
        // most recent one any more.
        unsafe {
            ptr::copy_nonoverlapping(
                block.as_ptr(),
                new.as_ptr(),
                block.size().min(new_layout.size()),
            );
        }
        Ok(new)
    }

    /// Whether `block` lies among this allocator's live blocks (`ptr..end`).
    #[inline]
    pub(crate) fn owns_block(&self, block: &Block) -> bool {
        let addr = self.ptr.get().as_ptr().addr();
        block.is_inside(addr, self.end - addr)
    }

    /// Opens a child scope over the free space `start..ptr`, runs `f` with it and closes
    /// it again (also when `f` panics: the child's `Drop` clears the busy flag).
    pub(crate) fn scope<R>(&self, f: impl FnOnce(&Scope<'_>) -> R) -> Result<R, AllocatorError> {
        if self.is_busy() {
            return Err(AllocatorError::Busy);
        }
        let top = self.ptr.get();
        let child = Scope {
            bump: Self {
                ptr: Cell::new(top),
                limit: Cell::new(self.start),
                start: self.start,
                end: top.as_ptr().addr(),
            },
            parent: self,
        };
        self.limit.set(BUSY);
        Ok(f(&child))
    }

    /// Clears the busy flag: called when the child scope closes. The parent's bump
    /// pointer never moved down while the child was open, so the child's blocks are
    /// reclaimed with it.
    #[inline]
    pub(crate) fn end_scope(&self) {
        self.limit.set(self.start);
    }

    /// Forgets every block: the whole region is free again.
    #[inline]
    pub(crate) fn reset(&mut self) {
        let ptr = self.ptr.get_mut();
        let addr = ptr.as_ptr().addr();
        // SAFETY: `ptr <= end`, both in (or one past) the same buffer.
        *ptr = unsafe { ptr.add(self.end - addr) };
    }

    /// Bytes between the bump pointer and the end of the region.
    #[inline]
    pub(crate) fn used(&self) -> usize {
        self.end - self.ptr.get().as_ptr().addr()
    }

    /// Bytes between the start of the region and the bump pointer.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.ptr.get().as_ptr().addr() - self.start
    }

    /// Size of the region.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.end - self.start
    }

    /// Whether a child scope is open.
    #[inline]
    pub(crate) fn is_busy(&self) -> bool {
        self.limit.get() == BUSY
    }

    /// Formats the fields every public type shows in its `Debug` output.
    pub(crate) fn debug_fields<'a, 'b>(
        &self,
        d: &'a mut fmt::DebugStruct<'a, 'b>,
    ) -> &'a mut fmt::DebugStruct<'a, 'b> {
        d.field("capacity", &self.capacity())
            .field("used", &self.used())
            .field("busy", &self.is_busy())
    }
}

/// `top - layout.size()` rounded down to `layout.align()`, or `None` if the subtraction
/// underflows. The result is never above `top - size`, so the block `new..new + size`
/// ends at or below `top`.
#[inline(always)]
fn down(top: usize, layout: Layout) -> Option<usize> {
    top.checked_sub(layout.size())
        .map(|unaligned| unaligned & !(layout.align() - 1))
}

/// The panic for a block that is not among the live blocks of the allocator.
#[cold]
#[inline(never)]
#[track_caller]
fn not_allocated(block: &Block, method: &str) -> ! {
    panic!(
        "alloc_scoped: {method} was given {block:?}, which is not currently allocated by \
         this allocator (a double free, a block of another allocator, or a block of a \
         scope that has ended)"
    )
}

#[cfg(test)]
mod tests {
    use super::down;
    use core::alloc::Layout;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn down_subtracts_and_aligns() {
        assert_eq!(down(0x1000, layout(16, 8)), Some(0x0ff0));
        assert_eq!(down(0x1000, layout(3, 1)), Some(0x0ffd));
        assert_eq!(down(0x1003, layout(8, 8)), Some(0x0ff8));
        assert_eq!(down(0x1000, layout(1, 4096)), Some(0));
        assert_eq!(down(0x2001, layout(1, 4096)), Some(0x2000));
        assert_eq!(down(0x1000, layout(0, 64)), Some(0x1000));
    }

    #[test]
    fn down_refuses_sizes_that_do_not_fit_below_top() {
        assert_eq!(down(0x1000, layout(0x1000, 1)), Some(0));
        assert_eq!(down(0x1000, layout(0x1001, 1)), None);
        assert_eq!(down(1, layout(2, 1)), None);
        assert_eq!(down(0x1000, layout(isize::MAX as usize, 1)), None);
        assert_eq!(
            down(usize::MAX, layout(isize::MAX as usize, 1)),
            Some(1 << (usize::BITS - 1))
        );
    }

    #[test]
    fn down_never_exceeds_top_minus_size() {
        for top in [1usize, 2, 7, 8, 4095, 4096, usize::MAX] {
            for size in [0usize, 1, 2, 3, 8, 100, 4096] {
                for align in [1usize, 2, 8, 64, 4096] {
                    if let Some(new) = down(top, layout(size, align)) {
                        assert_eq!(new % align, 0);
                        assert!(new + size <= top, "{top} {size} {align}");
                        assert!(top - size - new < align, "{top} {size} {align}");
                    } else {
                        assert!(size > top);
                    }
                }
            }
        }
    }
}
