//! [`Affix`]: a typed prefix and suffix stored with every block (D's `AffixAllocator`).

use core::alloc::Layout;
use core::fmt;
use core::marker::PhantomData;
use core::mem::{align_of, needs_drop, size_of};
use core::ptr::{self, NonNull};

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

/// Wraps an allocator and stores a value of type `P` (the prefix) before and a value of
/// type `S` (the suffix) after every block it hands out: a size header, a reference
/// count, a tag. `()` (the default of both) stores nothing.
///
/// Each affix is built with `Default` when the block is allocated, moved along when the
/// block moves (a reallocation), and dropped when the block is given back, **before** the
/// memory goes back to the inner allocator. [`prefix`](Self::prefix) and
/// [`suffix`](Self::suffix) reach the affixes of a live block in O(1), from the block alone.
///
/// # Layout
///
/// For a request of `size` bytes aligned to `align`, the inner allocator is asked for one
/// block aligned to `max(align, align_of::<P>(), align_of::<S>())`:
///
/// ```text
/// | padding | P | user part: size bytes, aligned to align | padding | S |
/// ^ inner block                  ^ the block the caller sees
/// ```
///
/// The prefix ends where the user part starts (`offset`, the prefix size rounded up to
/// the alignment of the user part, is the only per-alignment value); the suffix starts at
/// the user size rounded up to `align_of::<S>()`. The overhead is exactly the two affix
/// sizes plus the padding the alignments need, and nothing when both are `()`
/// ([`overhead`](Self::overhead) computes it).
///
/// # Reported sizes
///
/// Without a suffix, the caller gets the whole rest of the inner block (what the inner
/// allocator returned, less the offset). With a suffix, the caller gets the request
/// rounded up to the suffix's alignment: every size that [fits](Allocator#the-contract)
/// the block then names the same suffix position, so a block given back with any size
/// that fits finds its suffix.
///
/// # Errors and bad input
///
/// Sizes that overflow once the affixes are added are `SizeOverflow`; everything else is
/// the inner allocator's answer. Foreign blocks and double frees are the inner
/// allocator's to detect, on the inner block (a foreign block's `P` would be dropped
/// first: give an `Affix` only its own blocks, as the contract says).
///
/// # Examples
///
/// A reference count in front of every block:
///
/// ```
/// use alloc_compose::Affix;
/// use alloc_core::{Allocator, Heap};
/// use core::{alloc::Layout, cell::Cell};
///
/// let alloc: Affix<Heap, Cell<u32>> = Affix::new(Heap);
/// let block = alloc.allocate_raw(Layout::new::<[u64; 4]>()).unwrap();
/// // SAFETY: `block` is currently allocated by `alloc`.
/// let count = unsafe { alloc.prefix(&block) };
/// count.set(count.get() + 1);
/// // SAFETY: as above.
/// assert_eq!(unsafe { alloc.prefix(&block) }.get(), 1);
/// assert_eq!(alloc.overhead(Layout::new::<[u64; 4]>()), 8);
/// // SAFETY: `block` is currently allocated by `alloc` and not used afterwards.
/// unsafe { alloc.deallocate_raw(block) };
/// ```
pub struct Affix<A, P = (), S = ()> {
    /// Serves the inner blocks, which hold the affixes and the user part.
    inner: A,
    /// The affixes live in the blocks; this says what that means for threads.
    _affixes: Affixes<P, S>,
}

/// The affixes of an allocator's blocks, for its auto traits: a block may be given back
/// on another thread than the one that allocated it (a `Block` is `Send`), which drops its
/// affixes there, and a shared `Affix` hands out `&P` on every thread that shares it. So
/// the `Affix` is `Send` when the affixes are, and `Sync` when they are `Send` and `Sync`.
struct Affixes<P, S>(PhantomData<(P, S)>);

// SAFETY: the marker holds nothing; affixes only move (to be dropped) to the thread that
// has the allocator, which needs them to be `Send`.
unsafe impl<P: Send, S: Send> Send for Affixes<P, S> {}
// SAFETY: through a shared allocator, affixes are reached by reference (`Sync`) and
// dropped by value (`Send`) on any thread that shares it.
unsafe impl<P: Send + Sync, S: Send + Sync> Sync for Affixes<P, S> {}

impl<A: fmt::Debug, P, S> fmt::Debug for Affix<A, P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Affix")
            .field("inner", &self.inner)
            .field("prefix", &core::any::type_name::<P>())
            .field("suffix", &core::any::type_name::<S>())
            .finish()
    }
}

impl<A: Clone, P, S> Clone for Affix<A, P, S> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<A: Default, P, S> Default for Affix<A, P, S> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

/// Where the parts of one inner block are, for a user request (pure arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parts {
    /// From the inner block's start to the user part (the prefix ends there).
    offset: usize,
    /// From the user part's start to the suffix.
    suffix_at: usize,
    /// The inner request.
    inner: Layout,
}

/// The parts for a user part of `size` bytes aligned to `align`, with a prefix of
/// `(p_size, p_align)` and a suffix of `(s_size, s_align)`; `None` if a size overflows
/// `isize::MAX`.
fn parts(size: usize, align: usize, p: (usize, usize), s: (usize, usize)) -> Option<Parts> {
    let inner_align = align.max(p.1).max(s.1);
    // The user part's alignment is at least the prefix's, so the prefix (whose size is a
    // multiple of its alignment) ends at `offset` and starts aligned.
    let user_align = align.max(p.1);
    let offset = p.0.checked_next_multiple_of(user_align)?;
    // The suffix is aligned within the inner block (whose alignment is at least the
    // suffix's), so its position is rounded from the inner block's start, not the user
    // part's: the prefix may leave the user part at an offset the suffix's alignment
    // does not divide (a `u8` prefix before a 2-aligned part with a `u32` suffix).
    let suffix_at = if s.0 == 0 {
        size
    } else {
        offset.checked_add(size)?.checked_next_multiple_of(s.1)? - offset
    };
    let total = offset.checked_add(suffix_at)?.checked_add(s.0)?;
    let inner = Layout::from_size_align(total, inner_align).ok()?;
    Some(Parts {
        offset,
        suffix_at,
        inner,
    })
}

impl<A, P, S> Affix<A, P, S> {
    /// Wraps `inner`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Affix;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let tagged: Affix<Heap, u8, u32> = Affix::new(Heap);
    /// assert_eq!(*tagged.allocate(5u16).unwrap(), 5);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            _affixes: Affixes(PhantomData),
        }
    }

    /// The wrapped allocator.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Affix, Null};
    ///
    /// assert_eq!(*Affix::<_, u64>::new(Null).inner(), Null);
    /// ```
    #[inline]
    #[must_use]
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// Unwraps the allocator. Blocks allocated through the `Affix` stay allocated in it
    /// (with their affixes, which are then not dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::{Affix, Null};
    ///
    /// assert_eq!(Affix::<_, u64>::new(Null).into_inner(), Null);
    /// ```
    #[inline]
    #[must_use]
    pub fn into_inner(self) -> A {
        self.inner
    }

    /// How many bytes more than `layout.size()` the inner allocator is asked for: the
    /// affix sizes plus alignment padding; `None` if that overflows.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Affix;
    /// use alloc_core::Heap;
    /// use core::alloc::Layout;
    ///
    /// let alloc: Affix<Heap, u32, u16> = Affix::new(Heap);
    /// // 8-byte user part: the 4-byte prefix padded to 8, the 2-byte suffix right after.
    /// assert_eq!(alloc.overhead(Layout::new::<u64>()), 8 + 2);
    /// // A 3-byte user part aligned to 1: prefix 4, user 3, padding 1, suffix 2.
    /// assert_eq!(alloc.overhead(Layout::new::<[u8; 3]>()), 4 + 1 + 2);
    /// ```
    #[must_use]
    pub fn overhead(&self, layout: Layout) -> usize {
        Self::parts(layout).map_or(usize::MAX, |p| p.inner.size() - layout.size())
    }

    #[inline(always)]
    fn parts(layout: Layout) -> Option<Parts> {
        parts(
            layout.size(),
            layout.align(),
            (size_of::<P>(), align_of::<P>()),
            (size_of::<S>(), align_of::<S>()),
        )
    }

    /// The prefix's offset below the user part of a block aligned to `align`.
    #[inline(always)]
    fn offset(align: usize) -> usize {
        // A multiple of an alignment of at least `align_of::<P>()` not below the prefix
        // size, which is at most `isize::MAX`: no overflow.
        size_of::<P>().next_multiple_of(align.max(align_of::<P>()))
    }

    /// Where the suffix of `block` starts, from the user part's start: as [`parts`]
    /// computed it (every size that fits the block rounds to the same position).
    #[inline]
    fn suffix_at(block: &Block) -> usize {
        if size_of::<S>() == 0 {
            block.size()
        } else {
            let offset = Self::offset(block.align());
            // No overflow: the inner block that holds `offset + size` exists.
            (offset + block.size()).next_multiple_of(align_of::<S>()) - offset
        }
    }

    /// The address of the prefix of `block`.
    ///
    /// # Safety
    ///
    /// `block` [fits](Allocator#the-contract) a non-empty block currently allocated by
    /// this `Affix`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Affix;
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let alloc: Affix<Heap, u64> = Affix::new(Heap);
    /// let block = alloc.allocate_raw(Layout::new::<u32>()).unwrap();
    /// // SAFETY: `block` is currently allocated by `alloc`.
    /// let prefix = unsafe { alloc.prefix_ptr(&block) };
    /// assert_eq!(prefix.as_ptr().addr() + 8, block.addr());
    /// // SAFETY: `block` is currently allocated by `alloc`.
    /// unsafe { alloc.deallocate_raw(block) };
    /// ```
    #[inline]
    pub unsafe fn prefix_ptr(&self, block: &Block) -> NonNull<P> {
        // SAFETY: the prefix lies inside the inner block, `size_of::<P>()` bytes below the
        // user part (see "Layout"); the caller promises the block is ours and live.
        unsafe { block.ptr().sub(size_of::<P>()).cast() }
    }

    /// The address of the suffix of `block`.
    ///
    /// # Safety
    ///
    /// As [`prefix_ptr`](Self::prefix_ptr).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Affix;
    /// use alloc_core::{Allocator, Heap};
    /// use core::alloc::Layout;
    ///
    /// let alloc: Affix<Heap, (), u32> = Affix::new(Heap);
    /// let block = alloc.allocate_raw(Layout::new::<[u8; 5]>()).unwrap();
    /// // SAFETY: `block` is currently allocated by `alloc`.
    /// let suffix = unsafe { alloc.suffix_ptr(&block) };
    /// assert_eq!(suffix.as_ptr().addr(), block.addr() + 8);
    /// // SAFETY: `block` is currently allocated by `alloc`.
    /// unsafe { alloc.deallocate_raw(block) };
    /// ```
    #[inline]
    pub unsafe fn suffix_ptr(&self, block: &Block) -> NonNull<S> {
        let at = Self::suffix_at(block);
        // SAFETY: the suffix starts `at` bytes into the user part, inside the inner block
        // (the same arithmetic as at allocation: every size that fits the block rounds
        // up to the same position); the caller promises the block is ours and live.
        unsafe { block.ptr().add(at).cast() }
    }

    /// The prefix of `block`. Mutate it through interior mutability (`Cell`, atomics), or
    /// use [`prefix_ptr`](Self::prefix_ptr).
    ///
    /// # Safety
    ///
    /// `block` [fits](Allocator#the-contract) a non-empty block currently allocated by
    /// this `Affix`, which stays allocated (and is not reallocated) while the reference
    /// lives, and nothing writes the prefix through a pointer meanwhile.
    ///
    /// # Examples
    ///
    /// See [`Affix`].
    #[inline]
    pub unsafe fn prefix(&self, block: &Block) -> &P {
        // SAFETY: the prefix was initialised at allocation and lives as long as the block
        // (the caller's promise covers the reference's lifetime and aliasing).
        unsafe { self.prefix_ptr(block).as_ref() }
    }

    /// The suffix of `block`.
    ///
    /// # Safety
    ///
    /// As [`prefix`](Self::prefix), for the suffix.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Affix;
    /// use alloc_core::{Allocator, Heap};
    /// use core::{alloc::Layout, cell::Cell};
    ///
    /// let alloc: Affix<Heap, (), Cell<u8>> = Affix::new(Heap);
    /// let block = alloc.allocate_raw(Layout::new::<[u8; 3]>()).unwrap();
    /// // SAFETY: `block` is currently allocated by `alloc`.
    /// unsafe { alloc.suffix(&block) }.set(0xAB);
    /// // SAFETY: as above; the suffix moves with the block.
    /// let grown = unsafe { alloc.reallocate_raw(block, Layout::new::<[u8; 300]>()) }.unwrap();
    /// // SAFETY: `grown` is currently allocated by `alloc`.
    /// assert_eq!(unsafe { alloc.suffix(&grown) }.get(), 0xAB);
    /// // SAFETY: `grown` is currently allocated by `alloc`.
    /// unsafe { alloc.deallocate_raw(grown) };
    /// ```
    #[inline]
    pub unsafe fn suffix(&self, block: &Block) -> &S {
        // SAFETY: as in `prefix`.
        unsafe { self.suffix_ptr(block).as_ref() }
    }

    /// The inner block that holds `block` (the caller's size may be any that fits).
    ///
    /// # Safety
    ///
    /// As [`prefix_ptr`](Self::prefix_ptr).
    #[inline]
    unsafe fn inner_block(block: &Block) -> Block {
        let offset = Self::offset(block.align());
        let suffix_at = Self::suffix_at(block);
        let size = offset + suffix_at + size_of::<S>();
        let align = block.align().max(align_of::<P>()).max(align_of::<S>());
        // Wrapping arithmetic: for a block of ours it is the inner block's start; for a
        // block we never handed out (bad input) the address stays defined, so that the
        // inner allocator can check it and refuse (docs/bad-input.md, note A).
        let Some(ptr) = NonNull::new(block.as_ptr().wrapping_sub(offset)) else {
            foreign(block)
        };
        // SAFETY: the same arithmetic that built the inner request of this block, with a
        // size at least the requested one and at most the one the inner block holds
        // (see "Reported sizes"), so the layout is valid and the block fits.
        unsafe {
            Block::from_raw_parts_unchecked(ptr, Layout::from_size_align_unchecked(size, align))
        }
    }
}

impl<A: Allocator, P: Default, S: Default> Affix<A, P, S> {
    /// The caller's block inside `inner`, with its affixes written, for a request of
    /// `layout` laid out as `parts`.
    #[inline(always)]
    fn finish(inner: Block, layout: Layout, parts: Parts) -> Block {
        // SAFETY: `parts.offset` is inside the inner block (the inner block is at least
        // `parts.inner.size()` bytes), and the user part starts there.
        let user = unsafe { inner.ptr().add(parts.offset) };
        let size = if size_of::<S>() == 0 {
            inner.size() - parts.offset
        } else {
            parts.suffix_at
        };
        // SAFETY: `size` is at least `layout.size()` and within the inner block, whose
        // layout is valid; the alignment is the request's, which `user` has (the inner
        // block is aligned to at least it and `offset` is a multiple of it).
        let block = unsafe {
            Block::from_raw_parts_unchecked(
                user,
                Layout::from_size_align_unchecked(size, layout.align()),
            )
        };
        // SAFETY: the prefix slot is `size_of::<P>()` bytes below `user`, aligned to
        // `align_of::<P>()` (`offset` and the inner alignment are multiples of it), and
        // the suffix slot is at `suffix_at`, aligned and inside; both are ours to write.
        unsafe {
            block
                .ptr()
                .sub(size_of::<P>())
                .cast::<P>()
                .write(P::default());
            block
                .ptr()
                .add(parts.suffix_at)
                .cast::<S>()
                .write(S::default());
        }
        block
    }

    /// Moves the block to a new inner block of `new` (alignment changed): allocate, copy,
    /// move the affixes, free the old one.
    ///
    /// # Safety
    ///
    /// `block` fits a non-empty block currently allocated by `self`.
    #[cold]
    unsafe fn move_to(&self, block: Block, new: Layout) -> Result<Block, AllocatorError> {
        let parts = Self::parts(new).ok_or(AllocatorError::SizeOverflow)?;
        let inner = self.inner.allocate_raw(parts.inner)?;
        let moved = Self::finish(inner, new, parts);
        // SAFETY: both blocks are live and distinct; the copy is within both user parts.
        // The affixes written by `finish` are replaced by the old ones (which are moved,
        // so they are read out and not dropped; the defaults are dropped in place first).
        unsafe {
            ptr::copy_nonoverlapping(block.as_ptr(), moved.as_ptr(), block.size().min(new.size()));
            ptr::drop_in_place(self.prefix_ptr(&moved).as_ptr());
            ptr::drop_in_place(self.suffix_ptr(&moved).as_ptr());
            self.prefix_ptr(&moved)
                .write(self.prefix_ptr(&block).read());
            self.suffix_ptr(&moved)
                .write(self.suffix_ptr(&block).read());
        }
        // SAFETY: the old inner block is ours and its affixes were moved out.
        unsafe { self.inner.deallocate_raw(Self::inner_block(&block)) };
        Ok(moved)
    }
}

// SAFETY:
// 1. The user part lies inside a live inner block, aligned as requested, with at least
//    the requested size, and the affixes lie beside it in the same inner block (never
//    inside the user part), so user parts of live blocks do not overlap.
// 2. The memory is the inner allocator's, which survives moves and clones.
// 3. Zero-size requests return `Block::empty` without the inner allocator (no affixes);
//    empty blocks are given back as no-ops.
// 4. Errors change nothing: the affixes are only moved once the inner reallocation
//    succeeded (they are copied out first, the old block is unchanged on failure).
unsafe impl<A: Allocator, P: Default, S: Default> Allocator for Affix<A, P, S> {
    /// The inner block for the request and its affixes, built with `Default`.
    ///
    /// # Errors
    ///
    /// `SizeOverflow` if the request and the affixes exceed `isize::MAX`; otherwise the
    /// inner allocator's error.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let parts = Self::parts(layout).ok_or(AllocatorError::SizeOverflow)?;
        let inner = self.inner.allocate_raw(parts.inner)?;
        Ok(Self::finish(inner, layout, parts))
    }

    /// The inner allocator's zeroed block (the affixes are then written over their zeroes).
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let parts = Self::parts(layout).ok_or(AllocatorError::SizeOverflow)?;
        let inner = self.inner.allocate_zeroed_raw(parts.inner)?;
        Ok(Self::finish(inner, layout, parts))
    }

    /// Drops the affixes, then gives the inner block back.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        // SAFETY: the caller gives back a live block of ours: its affixes are initialised
        // and dropped once each, here. The inner block is computed before user code (the
        // affixes' `Drop`) runs; it depends on nothing but `block`. Affixes that need no
        // drop are not touched, so a foreign block reaches the inner allocator's check.
        unsafe {
            let inner = Self::inner_block(&block);
            if needs_drop::<P>() {
                ptr::drop_in_place(self.prefix_ptr(&block).as_ptr());
            }
            if needs_drop::<S>() {
                ptr::drop_in_place(self.suffix_ptr(&block).as_ptr());
            }
            self.inner.deallocate_raw(inner);
        }
    }

    /// The inner allocator's reallocation (in place when it can), the suffix moved to its
    /// new position; a change of alignment moves the block.
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); the block is then unchanged.
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        if new_layout.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { self.deallocate_raw(block) };
            return Ok(Block::empty(new_layout));
        }
        if new_layout.align() != block.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { self.move_to(block, new_layout) };
        }
        let parts = Self::parts(new_layout).ok_or(AllocatorError::SizeOverflow)?;
        // SAFETY: forwarded from the caller: the block is ours, its suffix initialised. It
        // is copied out (moved) and written back only on success; on failure the old
        // block, suffix included, is unchanged and the copy is forgotten.
        unsafe {
            let suffix = core::mem::ManuallyDrop::new(self.suffix_ptr(&block).read());
            let inner = Self::inner_block(&block);
            let new_inner = self.inner.reallocate_raw(inner, parts.inner)?;
            let user = new_inner.ptr().add(parts.offset);
            let size = if size_of::<S>() == 0 {
                new_inner.size() - parts.offset
            } else {
                parts.suffix_at
            };
            let new = Block::from_raw_parts_unchecked(
                user,
                Layout::from_size_align_unchecked(size, new_layout.align()),
            );
            self.suffix_ptr(&new)
                .write(core::mem::ManuallyDrop::into_inner(suffix));
            Ok(new)
        }
    }
}

// SAFETY: a live non-empty block of ours (any size that fits) is described by its inner
// block (the same arithmetic as `inner_block`), which the inner allocator claims. Any other
// block maps to a candidate inner block that contains it: if the block lies outside the
// memory the inner allocator manages, so does that candidate, which it disclaims.
unsafe impl<A: BlockOwner, P: Default, S: Default> BlockOwner for Affix<A, P, S> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        // The inner block, computed as `inner_block` does but checked: `block` may be
        // anything.
        let Some(parts) = Self::parts(block.layout()) else {
            return false;
        };
        if block.is_empty() || block.addr() <= parts.offset {
            return false;
        }
        let ptr = block.ptr().as_ptr().wrapping_sub(parts.offset);
        match NonNull::new(ptr) {
            Some(ptr) if ptr.as_ptr().addr() % parts.inner.align() == 0 => self
                .inner
                .owns_block(&Block::from_raw_parts(ptr, parts.inner)),
            _ => false,
        }
    }
}

alloc_core::impl_allocator_api2!(impl[A, P, S] for Affix<A, P, S> where [A: Allocator, P: Default, S: Default]);

/// The panic for a block whose inner block would start at address 0: never one of ours.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign(block: &Block) -> ! {
    panic!("Affix: {block:?} is not a block of this allocator (no inner block can hold it)")
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn parts_are_exact() {
        // No affixes: the request itself.
        let p = parts(24, 8, (0, 1), (0, 1)).unwrap();
        assert_eq!(
            (p.offset, p.suffix_at, p.inner.size(), p.inner.align()),
            (0, 24, 24, 8)
        );
        // A u32 prefix before an 8-aligned part: padded to 8.
        let p = parts(24, 8, (4, 4), (0, 1)).unwrap();
        assert_eq!((p.offset, p.inner.size()), (8, 32));
        // A 16-byte, 16-aligned prefix before a 1-aligned part.
        let p = parts(3, 1, (16, 16), (2, 2)).unwrap();
        assert_eq!(
            (p.offset, p.suffix_at, p.inner.size(), p.inner.align()),
            (16, 4, 22, 16)
        );
        // A u8 prefix before a 2-aligned part, a u32 suffix: the suffix is aligned from
        // the inner block's start (Miri found it misaligned when rounded from the part's).
        let p = parts(2, 2, (1, 1), (4, 4)).unwrap();
        assert_eq!(
            (p.offset, p.suffix_at, p.inner.size(), p.inner.align()),
            (2, 2, 8, 4)
        );
        for size in 0..40 {
            for align in [1, 2, 4, 8, 16] {
                for (p_size, p_align) in [(0, 1), (1, 1), (2, 2), (3, 1), (8, 8)] {
                    for (s_size, s_align) in [(1, 1), (2, 2), (4, 4), (8, 8), (16, 16)] {
                        let p = parts(size, align, (p_size, p_align), (s_size, s_align)).unwrap();
                        assert_eq!((p.offset + p.suffix_at) % s_align, 0, "{p:?}");
                        assert!(p.suffix_at >= size && p.offset >= p_size);
                        assert!(p.offset + p.suffix_at + s_size <= p.inner.size());
                    }
                }
            }
        }
        // Overflow is `None`.
        assert!(parts(isize::MAX as usize, 1, (8, 8), (0, 1)).is_none());
        assert!(parts(usize::MAX - 3, 1, (0, 1), (4, 4)).is_none());
    }
}
