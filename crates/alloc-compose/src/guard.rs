//! [`Guard`]: a debug layer that catches buffer overflows, double frees, foreign blocks
//! and leaks.

mod table;

use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

use table::{Entry, Table};

/// Bytes of fence after each block (and at least this many before it).
const FENCE: usize = 16;
/// The canary byte of the fences.
const FENCE_BYTE: u8 = 0xFD;
/// Fresh memory (not zeroed) is filled with this byte.
const FRESH_BYTE: u8 = 0xAA;
/// Freed memory is filled with this byte before it goes back to the inner allocator.
const FREED_BYTE: u8 = 0xDD;

/// The bytes before a block of alignment `align`: at least [`FENCE`], and a multiple of
/// `align` (both are powers of two), so the block stays aligned.
#[inline]
const fn front_len(align: usize) -> usize {
    if align > FENCE { align } else { FENCE }
}

/// A debug layer around any allocator: fences around every block, checked on free;
/// recognisable fill patterns; double-free, foreign-block and leak detection. Opt in by
/// wrapping an allocator (nothing is guarded by default).
///
/// # What it does
///
/// - **Fences.** Each block is allocated from the inner allocator with at least 16 bytes
///   more before it and exactly 16 more after it, filled with `0xFD`. Freeing (or
///   reallocating) a block checks both fences: a changed byte before the block **panics
///   with "buffer underflow"**, after it **"buffer overflow"**, naming the block and the
///   offset of the first changed byte.
/// - **Patterns.** Fresh memory is filled with `0xAA` (except zeroed allocations), freed
///   memory with `0xDD` before it goes back to the inner allocator: reading uninitialised
///   or freed memory shows up as these bytes.
/// - **Tracking.** Every live block is recorded in an open-addressing hash table (in memory
///   from the parent `P`, the heap by default: never from the inner allocator, which may be
///   a pool that cannot hold it). Giving back a block that is not live **panics**, naming
///   the problem: **"double free"** when the block was freed recently (freed entries are
///   kept until the table is rebuilt), **"foreign block"** otherwise, and **"wrong
///   layout"** when the size or alignment differs from the allocation's.
/// - **Leaks.** Dropping the `Guard` while blocks are live **panics** with their number and
///   bytes (unless the thread is already panicking, with feature `std`; without `std` a
///   second panic aborts), after giving the leaked blocks back to the inner allocator.
///   [`ignore_leaks`](Self::ignore_leaks) turns the panic off (they are still given back).
///   [`check`](Self::check) verifies every live block's fences at any time.
///
/// Blocks are returned with **exactly the requested size** (so the size given back is the
/// one allocated, which is checked). A `Guard` is a [`BlockOwner`] whatever the inner
/// allocator (its table knows its blocks), so it can be the first part of a
/// [`Fallback`](crate::Fallback). Every check is always on: this is a debug layer, for
/// tests and debug builds (use a type alias to put it in and take it out, as with the
/// loggers). The cost is a table lookup and a pass over the block per operation, and 32
/// bytes of inner memory per block.
///
/// **The page-protected mode** (an electric fence, D's `AscendingPageAllocator`) is a
/// `Guard` over alloc-pages' `Protected`: `Guard::new(Protected::new())`. `Protected` puts
/// every inner block on pages of its own, its end against an inaccessible page, and makes
/// freed pages inaccessible without ever reusing them; so on top of the checks above, an
/// overflow past the fence and any use of a freed block fault at once, where they happen,
/// instead of showing later as changed fill patterns.
///
/// The checks are made before anything changes: after a panic the `Guard` is consistent
/// (the block is still live). It is `Send` when its parts are, not `Sync` (share it behind
/// a lock).
///
/// # Examples
///
/// ```
/// use alloc_compose::{AllocatorExt, Guard};
/// use alloc_core::{Allocator, Heap};
///
/// let alloc: Guard<Heap> = Heap.guarded();
/// let mut v = alloc.allocate_slice_copy(&[1u8, 2, 3]).unwrap();
/// v[2] = 30;
/// assert_eq!(alloc.live_blocks(), 1);
/// drop(v);
/// assert_eq!(alloc.live_blocks(), 0);
/// ```
///
/// Writing one byte past the end is caught when the block is freed:
///
/// ```should_panic
/// use alloc_compose::{AllocatorExt, Guard};
/// use alloc_core::{Allocator, Heap};
/// use core::alloc::Layout;
///
/// let alloc = Heap.guarded();
/// let block = alloc.allocate_raw(Layout::new::<[u8; 8]>()).unwrap();
/// // SAFETY: none: this writes one byte past the block on purpose, into the fence
/// // (memory of the inner allocation, so no undefined behaviour).
/// unsafe { block.as_ptr().add(8).write(0) };
/// // SAFETY: `block` is currently allocated by `alloc`.
/// unsafe { alloc.deallocate_raw(block) }; // panics: "Guard: buffer overflow ..."
/// ```
pub struct Guard<
    A: Allocator,
    #[cfg(feature = "alloc")] P: Allocator = Heap,
    #[cfg(not(feature = "alloc"))] P: Allocator,
> {
    inner: A,
    /// Where the table's memory comes from.
    parent: P,
    /// Every block handed out, live or recently freed, with the live count and bytes.
    table: Table,
    panic_on_leak: bool,
}

// SAFETY: the table is owned by the `Guard` (memory of `parent`, reached only through
// it), and the raw pointers in it point into blocks of `inner`; sending the `Guard` sends
// all of them together, which is sound when `inner` and `parent` may be sent. It stays
// `!Sync` (the table's `Cell`s).
unsafe impl<A: Allocator + Send, P: Allocator + Send> Send for Guard<A, P> {}

#[cfg(feature = "alloc")]
impl<A: Allocator> Guard<A, Heap> {
    /// Guards `inner`, with its table on the [`Heap`]; the same as
    /// [`inner.guarded()`](crate::AllocatorExt::guarded).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Guard::new(Heap);
    /// assert_eq!(*alloc.allocate(5u8).unwrap(), 5);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Self::new_in(inner, Heap)
    }
}

impl<A: Allocator, P: Allocator> Guard<A, P> {
    /// Guards `inner`, with its table in memory from `parent` (use `std::alloc::System`
    /// when the guarded allocator is the global one).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Guard::new_in(Heap, std::alloc::System);
    /// assert_eq!(*alloc.allocate(5u8).unwrap(), 5);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new_in(inner: A, parent: P) -> Self {
        Self {
            inner,
            parent,
            table: Table::new(),
            panic_on_leak: true,
        }
    }

    /// Does not panic on leaks when dropped (leaked blocks are still given back to the
    /// inner allocator).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Guard::new(Heap).ignore_leaks();
    /// core::mem::forget(alloc.allocate(1u8).unwrap());
    /// drop(alloc); // no panic
    /// ```
    #[inline]
    #[must_use]
    pub fn ignore_leaks(mut self) -> Self {
        self.panic_on_leak = false;
        self
    }

    /// The guarded allocator. Operations performed on it directly are not checked.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::Heap;
    ///
    /// assert_eq!(*Guard::new(Heap).inner(), Heap);
    /// ```
    #[inline]
    #[must_use]
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The number of blocks currently allocated through the guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Guard::new(Heap);
    /// let _a = alloc.allocate(1u32).unwrap();
    /// assert_eq!(alloc.live_blocks(), 1);
    /// ```
    #[inline]
    #[must_use]
    pub fn live_blocks(&self) -> usize {
        self.table.live()
    }

    /// The bytes currently allocated through the guard (requested sizes, fences not
    /// included).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Guard::new(Heap);
    /// let _a = alloc.allocate([0u8; 100]).unwrap();
    /// assert_eq!(alloc.live_bytes(), 100);
    /// ```
    #[inline]
    #[must_use]
    pub fn live_bytes(&self) -> usize {
        self.table.live_bytes()
    }

    /// Checks the fences of every live block now.
    ///
    /// # Panics
    ///
    /// With "buffer underflow" or "buffer overflow" and the block, at the first damaged
    /// fence.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_compose::Guard;
    /// use alloc_core::{Allocator, Heap};
    ///
    /// let alloc = Guard::new(Heap);
    /// let _a = alloc.allocate([1u8; 10]).unwrap();
    /// alloc.check(); // nothing damaged
    /// ```
    #[track_caller]
    pub fn check(&self) {
        // No user code runs during the walk (only the checks, which may panic).
        for entry in self.table.live_slots() {
            // SAFETY: a live entry describes a block handed out by this guard, with its
            // fences, that is still allocated.
            unsafe { check_fences(&entry, "check") };
        }
    }

    /// Makes room in the table for one more entry, rebuilding it if needed. May run user
    /// code (the parent): call it where nothing is held across it.
    #[inline]
    fn reserve(&self) -> Result<(), AllocatorError> {
        if self.table.needs_room() {
            return self.rebuild();
        }
        Ok(())
    }

    /// Rebuilds the table into new memory from the parent (growing it, or dropping the
    /// freed entries).
    ///
    /// The parent is user code and may use this `Guard` while it allocates the new memory
    /// (a logging parent allocating through the guard it serves): the table may change
    /// meanwhile. So the state is read again after the parent's call, the move itself
    /// ([`Table::rebuild_into`]) runs no user code, and the old memory is given back only
    /// once the new table is in place.
    #[cold]
    #[inline(never)]
    fn rebuild(&self) -> Result<(), AllocatorError> {
        loop {
            let layout = self
                .table
                .rebuild_layout()
                .ok_or(AllocatorError::SizeOverflow)?;
            let fresh = self.parent.allocate_raw(layout)?;
            // Read again: the parent's call may have rebuilt or filled the table.
            if !self.table.needs_room() {
                // SAFETY: allocated just above by `parent`, unused.
                unsafe { self.parent.deallocate_raw(fresh) };
                return Ok(());
            }
            // SAFETY: `fresh` was allocated just above by `parent` (valid for reads and
            // writes of its size, contract promise 1) and nothing else has it; the table
            // hands it back before it is freed (here, or in `drop`).
            match unsafe { self.table.rebuild_into(fresh) } {
                Ok(old) => {
                    // The old memory is unreachable now: user code the parent runs while
                    // taking it back sees the new table.
                    self.give_back(old);
                    return Ok(());
                }
                // Too small for what the parent's call added: try again with a larger one.
                Err(fresh) => self.give_back(Some(fresh)),
            }
        }
    }

    /// Gives memory the table handed back (or refused) to the parent.
    fn give_back(&self, memory: Option<Block>) {
        if let Some(memory) = memory {
            // SAFETY: every memory the table has or had comes from `parent` (`rebuild`),
            // and the table handed it back (or refused it), so nothing uses it any more.
            unsafe { self.parent.deallocate_raw(memory) };
        }
    }

    /// Checks that `block` is live with the layout it was allocated with, and its fences.
    /// Returns its entry.
    #[track_caller]
    fn check_live(&self, block: &Block, what: &str) -> Entry {
        let Some(entry) = self.table.find(block.addr()) else {
            foreign(block, what);
        };
        if !entry.live {
            double_free(block, what);
        }
        if entry.size != block.size() || entry.align != block.align() {
            wrong_layout(block, what, &entry);
        }
        // SAFETY: a live entry: its block and fences are allocated in `inner`.
        unsafe { check_fences(&entry, what) };
        entry
    }

    /// A guarded allocation of a non-empty `layout`.
    fn allocate_guarded(&self, layout: Layout, zeroed: bool) -> Result<Block, AllocatorError> {
        let front = front_len(layout.align());
        let total = front
            .checked_add(layout.size())
            .and_then(|n| n.checked_add(FENCE))
            .ok_or(AllocatorError::SizeOverflow)?;
        let inner_layout = Layout::from_size_align(total, layout.align())
            .map_err(|_| AllocatorError::SizeOverflow)?;
        let inner = if zeroed {
            self.inner.allocate_zeroed_raw(inner_layout)?
        } else {
            self.inner.allocate_raw(inner_layout)?
        };
        // Room in the table after the inner call (user code that may use this guard), and
        // nothing but the insertion between the reservation and the insertion: the parent,
        // which `reserve` may call, is user code too.
        if let Err(e) = self.reserve() {
            // SAFETY: allocated just above by `inner`, not handed out.
            unsafe { self.inner.deallocate_raw(inner) };
            return Err(e);
        }
        let start = inner.as_ptr();
        // SAFETY: the inner block is valid for writes of `total = front + size + FENCE`
        // bytes (contract), and the first `front` are inside it.
        unsafe { start.write_bytes(FENCE_BYTE, front) };
        // SAFETY: `front < total`: inside the inner block, which is not null.
        let user = unsafe { inner.ptr().add(front) };
        if !zeroed {
            // SAFETY: the `size` bytes after `front` are inside the inner block.
            unsafe { user.as_ptr().write_bytes(FRESH_BYTE, layout.size()) };
        }
        // SAFETY: `front + size < total`: inside the inner block.
        let back = unsafe { user.add(layout.size()) };
        // SAFETY: the `FENCE` bytes from `front + size` end the inner block.
        unsafe { back.as_ptr().write_bytes(FENCE_BYTE, FENCE) };
        if self.table.insert(user, layout).is_err() {
            inner_returned_a_live_block(user.addr().get());
        }
        Ok(Block::from_raw_parts(user, layout))
    }
}

/// The start of the inner block that holds `entry`'s block and its fences.
fn inner_start(entry: &Entry) -> NonNull<u8> {
    // SAFETY: every entry was recorded (in `allocate_guarded`) at `front_len(align)` bytes
    // into its inner block, so this is the inner block's start, in bounds.
    unsafe { entry.user.sub(front_len(entry.align)) }
}

/// The start of `entry`'s back fence: the end of its block.
fn back_fence(entry: &Entry) -> NonNull<u8> {
    // SAFETY: every entry was recorded (in `allocate_guarded`) with its `size` bytes and
    // then its back fence inside its inner block, so this is in bounds.
    unsafe { entry.user.add(entry.size) }
}

/// The inner block that holds `entry`'s block and its fences.
fn inner_block(entry: &Entry) -> Block {
    let front = front_len(entry.align);
    // SAFETY: the inner block's layout (`allocate_guarded`), which was checked to be valid
    // when the entry's block was allocated.
    let layout =
        unsafe { Layout::from_size_align_unchecked(front + entry.size + FENCE, entry.align) };
    Block::from_raw_parts(inner_start(entry), layout)
}

/// Checks the fences of `entry`'s block.
///
/// # Safety
///
/// `entry` is live: its block and fences are currently allocated.
#[track_caller]
unsafe fn check_fences(entry: &Entry, what: &str) {
    let front = front_len(entry.align);
    // SAFETY: the `front` bytes before the block are the start of its inner block,
    // initialised with the fence (caller: still allocated).
    let before = unsafe { core::slice::from_raw_parts(inner_start(entry).as_ptr(), front) };
    if let Some(i) = last_damaged(before) {
        underflow(entry, what, front - i, before[i]);
    }
    // SAFETY: the `FENCE` bytes after the block end its inner block, initialised with the
    // fence (caller: still allocated).
    let after = unsafe { core::slice::from_raw_parts(back_fence(entry).as_ptr(), FENCE) };
    if last_damaged(after).is_some() {
        // The first damaged byte: the nearest to the block.
        let i = after.iter().position(|&b| b != FENCE_BYTE).unwrap_or(0);
        overflow(entry, what, i, after[i]);
    }
}

/// The index of the last byte of `fence` that is not [`FENCE_BYTE`], if any. Whole
/// chunks are compared first (a `memcmp`, also fast under Miri, where front fences of
/// page-aligned blocks are thousands of bytes).
#[inline]
fn last_damaged(fence: &[u8]) -> Option<usize> {
    const CHUNK: [u8; 64] = [FENCE_BYTE; 64];
    if fence.chunks(CHUNK.len()).all(|c| c == &CHUNK[..c.len()]) {
        return None;
    }
    fence.iter().rposition(|&b| b != FENCE_BYTE)
}

/// The panics of the checks: out of line, each naming the problem.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign(block: &Block, what: &str) -> ! {
    panic!(
        "Guard: {what} of a foreign block {block:?}: this Guard did not allocate it (or it was \
         freed long ago)"
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn double_free(block: &Block, what: &str) -> ! {
    panic!("Guard: double free: {what} of {block:?}, which was already freed")
}

#[cold]
#[inline(never)]
#[track_caller]
fn wrong_layout(block: &Block, what: &str, entry: &Entry) -> ! {
    panic!(
        "Guard: wrong layout: {what} of {block:?}, which was allocated with size {} and \
         alignment {}",
        entry.size, entry.align
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn underflow(entry: &Entry, what: &str, distance: usize, byte: u8) -> ! {
    panic!(
        "Guard: buffer underflow found by {what}: the byte {distance} before the block of {} \
         bytes at {:#x} was overwritten ({byte:#04x}, expected {FENCE_BYTE:#04x})",
        entry.size,
        entry.user.addr()
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn overflow(entry: &Entry, what: &str, offset: usize, byte: u8) -> ! {
    panic!(
        "Guard: buffer overflow found by {what}: the byte {offset} after the end of the block \
         of {} bytes at {:#x} was overwritten ({byte:#04x}, expected {FENCE_BYTE:#04x})",
        entry.size,
        entry.user.addr()
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn inner_returned_a_live_block(addr: usize) -> ! {
    panic!("Guard: the inner allocator handed out {addr:#x} again while it is still allocated")
}

/// Whether the thread is unwinding (always `false` without `std`, which cannot tell).
#[inline]
fn panicking() -> bool {
    #[cfg(feature = "std")]
    {
        std::thread::panicking()
    }
    #[cfg(not(feature = "std"))]
    {
        false
    }
}

impl<A: Allocator, P: Allocator> Drop for Guard<A, P> {
    fn drop(&mut self) {
        let (leaks, bytes) = (self.table.live(), self.table.live_bytes());
        let mut first = None;
        // The walk holds nothing across the inner allocator's calls (see `live_slots`).
        for entry in self.table.live_slots() {
            first.get_or_insert((entry.size, entry.user.addr()));
            // SAFETY: a live block: its inner block is currently allocated by `inner`, and
            // nobody may use it once the guard is gone.
            unsafe { self.inner.deallocate_raw(inner_block(&entry)) };
        }
        self.give_back(self.table.take_memory());
        if let Some((size, addr)) = first {
            if self.panic_on_leak && !panicking() {
                panic!(
                    "Guard: {leaks} block(s) of {bytes} bytes in all leaked (still allocated \
                     when the Guard was dropped; the first: {size} bytes at {addr:#x})"
                );
            }
        }
    }
}

impl<A: Allocator + fmt::Debug, P: Allocator> fmt::Debug for Guard<A, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inner", &self.inner)
            .field("live_blocks", &self.live_blocks())
            .field("live_bytes", &self.live_bytes())
            .finish_non_exhaustive()
    }
}

// SAFETY:
// 1. A block is the middle of an inner block (valid, and disjoint from other live inner
//    blocks, by the inner allocator's contract) after `front` bytes, a multiple of the
//    alignment, so it is aligned, valid for its size and disjoint from other blocks; it
//    reports exactly the requested layout.
// 2. Blocks live in `inner`, which survives moves; the table lives in `parent`.
// 3. Zero-size requests get `Block::empty` (nothing is allocated or recorded); empty
//    blocks are no-ops.
// 4. Failed requests change no block: a failed reservation or inner allocation returns
//    before anything is recorded; a failed reallocation returns before the old block is
//    touched.
unsafe impl<A: Allocator, P: Allocator> Allocator for Guard<A, P> {
    /// A block with fences from the inner allocator, filled with `0xAA`.
    ///
    /// # Errors
    ///
    /// `SizeOverflow` if the size with fences overflows; the parent's error if the table
    /// cannot grow; the inner allocator's error.
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.allocate_guarded(layout, false)
    }

    /// As [`allocate_raw`](Self::allocate_raw), zeroed (not filled).
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw).
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        self.allocate_guarded(layout, true)
    }

    /// Checks the block (live, same layout, fences intact), fills it and its fences with
    /// `0xDD` and gives it back to the inner allocator.
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate_raw`]; violations are detected (see the type's docs).
    ///
    /// # Panics
    ///
    /// On a foreign block, a double free, a wrong layout, or a damaged fence.
    #[track_caller]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let entry = self.check_live(&block, "deallocate_raw");
        // Recorded as freed before the inner allocator runs (user code that may use this
        // guard, and may get the same memory back from the inner allocator at once).
        self.table.mark_freed(block.addr());
        let inner = inner_block(&entry);
        // SAFETY: the inner block is currently allocated (the slot was live) and valid for
        // writes of its size; the caller no longer uses the block.
        unsafe { inner.as_ptr().write_bytes(FREED_BYTE, inner.size()) };
        // SAFETY: allocated by `inner` with this layout (see `inner_block`).
        unsafe { self.inner.deallocate_raw(inner) };
    }

    /// Checks the old block, allocates a new guarded one, copies, and frees the old one
    /// (so every reallocation moves: a stale pointer to the old block shows `0xDD`).
    ///
    /// # Safety
    ///
    /// As [`Allocator::reallocate_raw`]; violations are detected.
    ///
    /// # Errors
    ///
    /// As [`allocate_raw`](Self::allocate_raw); the old block is then unchanged.
    ///
    /// # Panics
    ///
    /// As [`deallocate_raw`](Self::deallocate_raw).
    #[track_caller]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        if block.is_empty() {
            return self.allocate_raw(new_layout);
        }
        self.check_live(&block, "reallocate_raw");
        let new = self.allocate_raw(new_layout)?;
        let len = block.size().min(new_layout.size());
        // SAFETY: `block` is live (checked), valid for reads of its size; `new` is valid
        // for writes of `new_layout.size()`; both are live, so they do not overlap.
        unsafe { ptr::copy_nonoverlapping(block.as_ptr(), new.as_ptr(), len) };
        // SAFETY: `block` is currently allocated by the guard and not used again.
        unsafe { self.deallocate_raw(block) };
        Ok(new)
    }
}

// SAFETY: the table records every live block of the guard (as handed out, so a block
// that fits it, with its exact size, has the same address); `owns_block` is true exactly
// for the addresses of live blocks, and memory the guard never handed out is not at such
// an address while it is live.
unsafe impl<A: Allocator, P: Allocator> BlockOwner for Guard<A, P> {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        !block.is_empty() && self.table.is_live(block.addr())
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator, P: Allocator] for Guard<A, P>);
