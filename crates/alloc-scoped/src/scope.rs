//! [`Scope`]: the child allocator a [`scope`](crate::Scoped::scope) call lends to its
//! closure.

use core::alloc::Layout;
use core::fmt;

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

use crate::bump::Bump;
use crate::chunk::{ArenaStats, Grow};

/// A child allocator, open for the duration of a [`scope`](crate::Scoped::scope) call.
///
/// It allocates from the free space of its parent (a [`Scoped`](crate::Scoped) or an
/// enclosing `Scope`), starting where the parent stood when the scope was opened. While
/// it is open the parent refuses to allocate ([`AllocatorError::Busy`]); when the scope
/// ends, normally or by a panic, everything allocated in it is reclaimed at once and the
/// parent is usable again. The closure only ever gets a `&Scope`, and every value
/// allocated in it borrows that reference, so nothing allocated in a scope can outlive
/// it (see [`Scoped::scope`](crate::Scoped::scope) for the compile-time proof).
///
/// A `Scope` has the same bump semantics as a `Scoped` (see [the crate docs](crate)),
/// opens its own nested scopes with [`scope`](Self::scope), and reports its
/// [`used`](Self::used), [`remaining`](Self::remaining) and [`capacity`](Self::capacity).
/// It is neither `Send` nor `Sync`.
///
/// # Examples
///
/// ```
/// use alloc_core::Allocator;
/// use alloc_scoped::Scoped;
///
/// let alloc = Scoped::new(1024).unwrap();
/// let sum = alloc.scope(|inner| {
///     let numbers = inner.allocate_slice_with(10, |i| i as u32).unwrap();
///     numbers.iter().sum::<u32>()
/// });
/// assert_eq!(sum, Ok(45));
/// assert_eq!(alloc.used(), 0);
/// ```
pub struct Scope<'a> {
    /// The child's own bump pointer, over the parent's free space at opening time.
    pub(crate) bump: Bump,
    /// The parent, marked busy while this scope is open and unmarked in `Drop`.
    pub(crate) parent: &'a Bump,
    /// The arena's growth (through its parent allocator): the source of this scope's own
    /// chunks, which it gives back in `Drop`.
    pub(crate) grow: &'a dyn Grow,
}

impl Scope<'_> {
    /// Runs `f` with a nested child scope, exactly as [`Scoped::scope`] does for the
    /// outermost one: the child starts where this scope stands, this scope refuses to
    /// allocate while the child is open, and the child's memory is reclaimed when `f`
    /// returns or panics.
    ///
    /// [`Scoped::scope`]: crate::Scoped::scope
    ///
    /// # Errors
    ///
    /// [`AllocatorError::Busy`] if this scope already has an open child (when `f` of that
    /// child calls `scope` on this scope again); `f` is not run then.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(4096).unwrap();
    /// alloc.scope(|outer| {
    ///     let kept = outer.allocate(1u64).unwrap();
    ///     outer.scope(|inner| {
    ///         let _temp = inner.allocate([0u8; 512]).unwrap();
    ///         assert!(inner.used() >= 512);
    ///     }).unwrap();
    ///     // The inner scope's memory is back; `kept` is untouched.
    ///     assert_eq!(*kept, 1);
    ///     assert_eq!(outer.used(), 8);
    /// }).unwrap();
    /// ```
    pub fn scope<R>(&self, f: impl FnOnce(&Scope<'_>) -> R) -> Result<R, AllocatorError> {
        self.bump.scope(self.grow, f)
    }

    /// Bytes taken by this scope's blocks, including alignment padding and the bytes of
    /// blocks freed out of order (which are not reclaimed before the scope ends).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(256).unwrap();
    /// alloc.scope(|s| {
    ///     let _a = s.allocate(0u32).unwrap();
    ///     assert_eq!(s.used(), 4);
    /// }).unwrap();
    /// ```
    #[inline]
    #[must_use]
    pub fn used(&self) -> usize {
        self.bump.stats().allocated
    }

    /// Bytes still free in this scope: `capacity() - used()`. A request of this size with
    /// alignment 1 succeeds; larger alignments may need padding.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(256).unwrap();
    /// let _outside = alloc.allocate(0u64).unwrap();
    /// alloc.scope(|s| assert_eq!(s.remaining(), 248)).unwrap();
    /// ```
    #[inline]
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.bump.remaining()
    }

    /// Bytes this scope had when it opened: what its parent had left.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_scoped::Scoped;
    ///
    /// let alloc = Scoped::new(256).unwrap();
    /// alloc.scope(|s| assert_eq!(s.capacity(), 256)).unwrap();
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.bump.stats().capacity
    }

    /// Opens a nested scope as a guard, as [`Scoped::scope_guard`] does: this scope is
    /// busy until the guard is dropped.
    ///
    /// [`Scoped::scope_guard`]: crate::Scoped::scope_guard
    ///
    /// # Errors
    ///
    /// [`AllocatorError::Busy`] if this scope has an open child already.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let arena = Scoped::growable(256).unwrap();
    /// let outer = arena.scope_guard().unwrap();
    /// let kept = outer.allocate(1u8).unwrap();
    /// for _ in 0..10 {
    ///     let inner = outer.scope_guard().unwrap();
    ///     let _big = inner.allocate([0u8; 1000]).unwrap(); // a chunk of its own
    /// }
    /// assert_eq!((*kept, outer.used()), (1, 1));
    /// ```
    pub fn scope_guard(&self) -> Result<Scope<'_>, AllocatorError> {
        self.bump.open(self.grow)
    }

    /// This scope's [statistics](ArenaStats) (`spare_chunks` and `held` are the arena's).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::Allocator;
    /// use alloc_scoped::Scoped;
    ///
    /// let arena = Scoped::growable(128).unwrap();
    /// arena.scope(|s| {
    ///     let _a = s.allocate([0u8; 300]).unwrap();
    ///     let _b = s.allocate([0u8; 300]).unwrap(); // the first chunk holds 464 bytes
    ///     assert_eq!((s.stats().chunks, s.stats().allocated), (2, 600));
    /// }).unwrap();
    /// assert_eq!(arena.stats().chunks, 1);
    /// ```
    #[must_use]
    pub fn stats(&self) -> ArenaStats {
        let mut stats = self.bump.stats();
        (stats.spare_chunks, stats.held) = self.grow.held();
        stats
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        // Runs when `Bump::scope` returns, and when the closure unwinds: the parent is
        // usable again in both cases. The scope's chunks are unlinked from it before the
        // arena gives them back (the parent allocator may use the arena meanwhile).
        let (top, base) = self.bump.close();
        self.parent.end_scope();
        if top != base {
            self.grow.release(top, base);
        }
    }
}

impl fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bump
            .debug_fields(&mut f.debug_struct("Scope"))
            .finish()
    }
}

// SAFETY: the scope's blocks are carved by `Bump` from the parent's free space
// (`start..ptr` of the parent when the scope opened), which the parent does not use while
// the scope is open (it is busy and never moves its bump pointer down); live blocks of
// the scope never overlap (they lie in `ptr..end` and new ones below `ptr`); the memory
// is the parent's buffer, outside the `Scope` value; zero-size requests get
// `Block::empty` and empty blocks are ignored on free; a failed request changes nothing.
// Blocks stay valid until the scope ends, which is when the `Scope` is dropped.
unsafe impl Allocator for Scope<'_> {
    /// Bumps downward; see [the crate docs](crate#allocation).
    ///
    /// # Errors
    ///
    /// `Busy` while a nested scope is open, `UnsupportedAlignment` above [`MAX_ALIGN`],
    /// `TooLarge` above the scope's capacity, `OutOfMemory` when the rest is too small.
    ///
    /// [`MAX_ALIGN`]: crate::MAX_ALIGN
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.bump.alloc(layout, self.grow)
    }

    /// Rewinds if `block` is the most recent block, otherwise does nothing.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`].
    ///
    /// # Panics
    ///
    /// In every build, if `block` is not empty and does not lie among the scope's live
    /// blocks (freed twice, foreign, or from an inner scope that has ended).
    #[inline(always)]
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.bump.dealloc(block) }
    }

    /// Moves the most recent block in place; see [the crate docs](crate#reallocation).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`].
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); `block` is unchanged then.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw).
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.bump.realloc(block, new_layout, self.grow) }
    }
}

// SAFETY: `owns_block` is true exactly for blocks in `ptr..end`, where every live block
// of the scope lies; blocks of the parent lie at or above `end`, blocks of nested scopes
// and foreign memory below `ptr` or outside the buffer.
unsafe impl BlockOwner for Scope<'_> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        self.bump.owns_block(block)
    }
}

alloc_core::impl_allocator_api2!(impl['a] for Scope<'a>);
