//! [`Guard`]: a debug layer that catches buffer overflows, double frees, foreign blocks
//! and leaks.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr;

#[cfg(feature = "alloc")]
use alloc_core::Heap;
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

/// Bytes of fence after each block (and at least this many before it).
const FENCE: usize = 16;
/// The canary byte of the fences.
const FENCE_BYTE: u8 = 0xFD;
/// Fresh memory (not zeroed) is filled with this byte.
const FRESH_BYTE: u8 = 0xAA;
/// Freed memory is filled with this byte before it goes back to the inner allocator.
const FREED_BYTE: u8 = 0xDD;
/// The smallest table (slots).
const MIN_TABLE: usize = 64;

/// One entry of the table of blocks: a block handed out, live or freed.
#[derive(Clone, Copy)]
struct Slot {
    /// The block's start as handed out (with the provenance of the whole inner block);
    /// null for an unused slot.
    user: *mut u8,
    /// The size and alignment the block was allocated with.
    size: usize,
    align: usize,
    /// Whether the block is currently allocated (`false`: it was freed, and the slot is
    /// kept to recognise a double free until the table is next rebuilt).
    live: bool,
}

impl Slot {
    const UNUSED: Self = Self {
        user: ptr::null_mut(),
        size: 0,
        align: 1,
        live: false,
    };
}

/// The bytes before a block of alignment `align`: at least [`FENCE`], and a multiple of
/// `align` (both are powers of two), so the block stays aligned.
#[inline]
const fn front_len(align: usize) -> usize {
    if align > FENCE { align } else { FENCE }
}

macro_rules! guard_struct {
    ($($default:ty)?) => {
        /// A debug layer around any allocator: fences around every block, checked on
        /// free; recognisable fill patterns; double-free, foreign-block and leak
        /// detection. Opt in by wrapping an allocator (nothing is guarded by default).
        ///
        /// # What it does
        ///
        /// - **Fences.** Each block is allocated from the inner allocator with at least
        ///   16 bytes more before it and exactly 16 more after it, filled with `0xFD`.
        ///   Freeing (or reallocating) a block checks both fences: a changed byte before
        ///   the block **panics with "buffer underflow"**, after it **"buffer overflow"**,
        ///   naming the block and the offset of the first changed byte.
        /// - **Patterns.** Fresh memory is filled with `0xAA` (except zeroed
        ///   allocations), freed memory with `0xDD` before it goes back to the inner
        ///   allocator: reading uninitialised or freed memory shows up as these bytes.
        /// - **Tracking.** Every live block is recorded in an open-addressing hash table
        ///   (in memory from the parent `P`, the heap by default: never from the inner
        ///   allocator, which may be a pool that cannot hold it). Giving back a block
        ///   that is not live **panics**, naming the problem: **"double free"** when the
        ///   block was freed recently (freed entries are kept until the table is rebuilt),
        ///   **"foreign block"** otherwise, and **"wrong layout"** when the size or
        ///   alignment differs from the allocation's.
        /// - **Leaks.** Dropping the `Guard` while blocks are live **panics** with their
        ///   number and bytes (unless the thread is already panicking, with feature
        ///   `std`; without `std` a second panic aborts), after giving the leaked blocks
        ///   back to the inner allocator. [`ignore_leaks`](Self::ignore_leaks) turns the
        ///   panic off (they are still given back). [`check`](Self::check) verifies every
        ///   live block's fences at any time.
        ///
        /// Blocks are returned with **exactly the requested size** (so the size given
        /// back is the one allocated, which is checked). A `Guard` is a [`BlockOwner`]
        /// whatever the inner allocator (its table knows its blocks), so it can be the
        /// first part of a [`Fallback`](crate::Fallback). Every check is always on: this
        /// is a debug layer, for tests and debug builds (use a type alias to put it in
        /// and take it out, as with the loggers). The cost is a table lookup and a pass
        /// over the block per operation, and 32 bytes of inner memory per block.
        ///
        /// The checks are made before anything changes: after a panic the `Guard` is
        /// consistent (the block is still live). It is `Send` when its parts are, not
        /// `Sync` (share it behind a lock).
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
        pub struct Guard<A: Allocator, P: Allocator $(= $default)?> {
            inner: A,
            /// Where the table lives.
            parent: P,
            /// `cap` slots allocated from `parent`, or dangling when `cap` is 0.
            table: Cell<*mut Slot>,
            /// Slots in the table: 0 or a power of two at least [`MIN_TABLE`].
            cap: Cell<usize>,
            /// Slots in use (live or freed); at most three quarters of `cap`.
            used: Cell<usize>,
            /// Live blocks and their bytes.
            live: Cell<usize>,
            live_bytes: Cell<usize>,
            panic_on_leak: bool,
        }
    };
}

#[cfg(feature = "alloc")]
guard_struct!(Heap);
#[cfg(not(feature = "alloc"))]
guard_struct!();

// SAFETY: the table is owned by the `Guard` (memory of `parent`, reached only through
// it), and the raw pointers in it point into blocks of `inner`; sending the `Guard` sends
// all of them together, which is sound when `inner` and `parent` may be sent. It stays
// `!Sync` (the `Cell`s).
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
            table: Cell::new(ptr::null_mut()),
            cap: Cell::new(0),
            used: Cell::new(0),
            live: Cell::new(0),
            live_bytes: Cell::new(0),
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
        self.live.get()
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
        self.live_bytes.get()
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
        for i in 0..self.cap.get() {
            // SAFETY: `i < cap`: a slot of the table.
            let slot = unsafe { self.slot(i).read() };
            if slot.live {
                // SAFETY: a live slot describes a block handed out by this guard, with
                // its fences, that is still allocated.
                unsafe { self.check_fences(&slot, "check") };
            }
        }
    }

    /// The slot at `index`.
    ///
    /// # Safety
    ///
    /// `index < cap`.
    #[inline]
    unsafe fn slot(&self, index: usize) -> *mut Slot {
        // SAFETY: the table has `cap` slots (caller: `index < cap`).
        unsafe { self.table.get().add(index) }
    }

    /// The first slot to probe for `addr` in a table of `cap` slots (a power of two).
    #[inline]
    fn home(addr: usize, cap: usize) -> usize {
        // Fibonacci hashing; blocks are at least 16-byte apart in practice, and the
        // multiplication mixes the low bits into the high ones, which are kept.
        let hash = (addr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (hash >> (64 - cap.trailing_zeros())) as usize
    }

    /// The slot of the block at `addr` (live or freed), if the table has one.
    #[inline]
    fn find(&self, addr: usize) -> Option<*mut Slot> {
        let cap = self.cap.get();
        if cap == 0 {
            return None;
        }
        let mut i = Self::home(addr, cap);
        loop {
            // SAFETY: `i < cap` (masked below).
            let slot = unsafe { self.slot(i) };
            // SAFETY: every slot of the table is initialised.
            let user = unsafe { (*slot).user };
            if user.is_null() {
                return None;
            }
            if user.addr() == addr {
                return Some(slot);
            }
            i = (i + 1) & (cap - 1);
        }
    }

    /// Makes room in the table for one more slot (growing it, or dropping freed slots).
    /// May run user code (the parent): call it where nothing is held across it.
    fn reserve(&self) -> Result<(), AllocatorError> {
        if self.has_room() {
            return Ok(());
        }
        self.rebuild()
    }

    /// The size of the table to rebuild into for the current live blocks plus one: as
    /// large as now if they fill at most half of it (the freed slots go), otherwise large
    /// enough to stay at most three quarters full.
    fn wanted_cap(&self) -> usize {
        let (cap, live) = (self.cap.get(), self.live.get());
        if cap != 0 && (live + 1) * 2 <= cap {
            return cap;
        }
        let mut new_cap = (cap * 2).max(MIN_TABLE);
        while (live + 1) * 4 > new_cap * 3 {
            new_cap *= 2;
        }
        new_cap
    }

    /// Moves the live slots into a new table (see [`wanted_cap`](Self::wanted_cap)).
    ///
    /// The parent is user code and may use this `Guard` while it allocates the new table
    /// (a logging parent allocating through the guard it serves): the table may change
    /// meanwhile. So the state is read again after the parent's call, the move itself runs
    /// no user code, and the old table is given back only once the new one is in place.
    #[cold]
    #[inline(never)]
    fn rebuild(&self) -> Result<(), AllocatorError> {
        loop {
            let new_cap = self.wanted_cap();
            let layout =
                Layout::array::<Slot>(new_cap).map_err(|_| AllocatorError::SizeOverflow)?;
            let fresh = self.parent.allocate_raw(layout)?;
            // Read again: the parent's call may have rebuilt or filled the table.
            if self.has_room() {
                // SAFETY: allocated just above by `parent` with this layout, unused.
                unsafe { self.parent.deallocate_raw(fresh) };
                return Ok(());
            }
            if new_cap < self.wanted_cap() {
                // Too small for what the parent's call added: try again with a larger one.
                // SAFETY: as above.
                unsafe { self.parent.deallocate_raw(fresh) };
                continue;
            }
            let new = fresh.ptr().cast::<Slot>().as_ptr();
            // From here to the swap, no user code runs.
            for i in 0..new_cap {
                // SAFETY: the new table is valid for `new_cap` slots (contract, promise 1).
                unsafe { new.add(i).write(Slot::UNUSED) };
            }
            for i in 0..self.cap.get() {
                // SAFETY: `i < cap`: a slot of the current table.
                let slot = unsafe { self.slot(i).read() };
                if slot.live {
                    let mut j = Self::home(slot.user.addr(), new_cap);
                    // SAFETY: `j < new_cap`; the new table has unused slots (it holds at
                    // most `live < new_cap` entries), so the probe ends.
                    while !unsafe { (*new.add(j)).user }.is_null() {
                        j = (j + 1) & (new_cap - 1);
                    }
                    // SAFETY: `j < new_cap`.
                    unsafe { new.add(j).write(slot) };
                }
            }
            let old_table = self.table.replace(new);
            let old_cap = self.cap.replace(new_cap);
            self.used.set(self.live.get());
            // The old table is unreachable now: user code the parent runs while taking it
            // back sees the new one.
            self.free_table(old_table, old_cap);
            return Ok(());
        }
    }

    /// Whether the table has room for one more slot.
    #[inline]
    fn has_room(&self) -> bool {
        (self.used.get() + 1) * 4 <= self.cap.get() * 3
    }

    /// Gives a table of `cap` slots (0: none) back to the parent.
    fn free_table(&self, table: *mut Slot, cap: usize) {
        if cap == 0 {
            return;
        }
        // A table of `cap` slots was allocated with this layout, so it is valid.
        if let Ok(layout) = Layout::array::<Slot>(cap) {
            // SAFETY: allocated by `parent` (in `rebuild`) with this layout, and no longer
            // the guard's table (the caller replaced or cleared it), so not used again.
            // `table` is not null (a table of `cap > 0` slots).
            let block =
                Block::from_raw_parts(unsafe { ptr::NonNull::new_unchecked(table) }.cast(), layout);
            // SAFETY: as above.
            unsafe { self.parent.deallocate_raw(block) };
        }
    }

    /// Records a new live block (after [`reserve`](Self::reserve) made room).
    #[track_caller]
    fn insert(&self, user: *mut u8, size: usize, align: usize) {
        let slot = Slot {
            user,
            size,
            align,
            live: true,
        };
        if let Some(existing) = self.find(user.addr()) {
            // SAFETY: a slot of the table.
            if unsafe { (*existing).live } {
                inner_returned_a_live_block(user.addr());
            }
            // SAFETY: a slot of the table; a freed entry at the same address is reused.
            unsafe { existing.write(slot) };
        } else {
            let cap = self.cap.get();
            let mut i = Self::home(user.addr(), cap);
            // SAFETY: `i < cap`; `reserve` left an unused slot, so the probe ends.
            while !unsafe { (*self.slot(i)).user }.is_null() {
                i = (i + 1) & (cap - 1);
            }
            // SAFETY: `i < cap`.
            unsafe { self.slot(i).write(slot) };
            self.used.set(self.used.get() + 1);
        }
        self.live.set(self.live.get() + 1);
        self.live_bytes.set(self.live_bytes.get() + size);
    }

    /// The inner block that holds `slot`'s block and its fences.
    fn inner_block(slot: &Slot) -> Block {
        let front = front_len(slot.align);
        // SAFETY: the block was allocated (in `allocate_guarded`) from an inner block
        // that starts `front` bytes before it and whose layout is this one, which was
        // checked to be valid then.
        unsafe {
            Block::from_raw_parts(
                ptr::NonNull::new_unchecked(slot.user.sub(front)),
                Layout::from_size_align_unchecked(front + slot.size + FENCE, slot.align),
            )
        }
    }

    /// Checks that `block` is live with the layout it was allocated with, and its fences.
    /// Returns a copy of its slot.
    #[track_caller]
    fn check_live(&self, block: &Block, what: &str) -> Slot {
        let Some(slot) = self.find(block.addr()) else {
            foreign(block, what);
        };
        // SAFETY: a slot of the table.
        let slot = unsafe { slot.read() };
        if !slot.live {
            double_free(block, what);
        }
        if slot.size != block.size() || slot.align != block.align() {
            wrong_layout(block, what, &slot);
        }
        // SAFETY: a live slot: its block and fences are allocated in `inner`.
        unsafe { self.check_fences(&slot, what) };
        slot
    }

    /// # Safety
    ///
    /// `slot` is live: its block and fences are currently allocated.
    #[track_caller]
    unsafe fn check_fences(&self, slot: &Slot, what: &str) {
        let front = front_len(slot.align);
        // SAFETY: the `front` bytes before the block are the start of its inner block,
        // initialised with the fence (caller: still allocated).
        let before = unsafe { core::slice::from_raw_parts(slot.user.sub(front), front) };
        if let Some(i) = last_damaged(before) {
            underflow(slot, what, front - i, before[i]);
        }
        // SAFETY: the `FENCE` bytes after the block are in the inner block, initialised
        // with the fence.
        let after = unsafe { core::slice::from_raw_parts(slot.user.add(slot.size), FENCE) };
        if last_damaged(after).is_some() {
            // The first damaged byte: the nearest to the block.
            let i = after.iter().position(|&b| b != FENCE_BYTE).unwrap_or(0);
            overflow(slot, what, i, after[i]);
        }
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
        // bytes (contract), so each range below is inside it.
        let user = unsafe {
            start.write_bytes(FENCE_BYTE, front);
            let user = start.add(front);
            if !zeroed {
                user.write_bytes(FRESH_BYTE, layout.size());
            }
            user.add(layout.size()).write_bytes(FENCE_BYTE, FENCE);
            user
        };
        self.insert(user, layout.size(), layout.align());
        // SAFETY: `user` is inside the inner block, hence not null.
        let user = unsafe { ptr::NonNull::new_unchecked(user) };
        Ok(Block::from_raw_parts(user, layout))
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
fn wrong_layout(block: &Block, what: &str, slot: &Slot) -> ! {
    panic!(
        "Guard: wrong layout: {what} of {block:?}, which was allocated with size {} and \
         alignment {}",
        slot.size, slot.align
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn underflow(slot: &Slot, what: &str, distance: usize, byte: u8) -> ! {
    panic!(
        "Guard: buffer underflow found by {what}: the byte {distance} before the block of {} \
         bytes at {:#x} was overwritten ({byte:#04x}, expected {FENCE_BYTE:#04x})",
        slot.size,
        slot.user.addr()
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn overflow(slot: &Slot, what: &str, offset: usize, byte: u8) -> ! {
    panic!(
        "Guard: buffer overflow found by {what}: the byte {offset} after the end of the block \
         of {} bytes at {:#x} was overwritten ({byte:#04x}, expected {FENCE_BYTE:#04x})",
        slot.size,
        slot.user.addr()
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
        let (leaks, bytes) = (self.live.get(), self.live_bytes.get());
        let mut first = None;
        for i in 0..self.cap.get() {
            // SAFETY: `i < cap`: a slot of the table.
            let slot = unsafe { self.slot(i).read() };
            if slot.live {
                first.get_or_insert((slot.size, slot.user.addr()));
                // SAFETY: a live block: its inner block is currently allocated by
                // `inner`, and nobody may use it once the guard is gone.
                unsafe { self.inner.deallocate_raw(Self::inner_block(&slot)) };
            }
        }
        let (table, cap) = (self.table.replace(ptr::null_mut()), self.cap.replace(0));
        self.used.set(0);
        self.free_table(table, cap);
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
            .field("live_blocks", &self.live.get())
            .field("live_bytes", &self.live_bytes.get())
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
        let slot = self.check_live(&block, "deallocate_raw");
        // Recorded as freed before the inner allocator runs (user code that may use this
        // guard, and may get the same memory back from the inner allocator at once).
        if let Some(entry) = self.find(block.addr()) {
            // SAFETY: a slot of the table.
            unsafe { (*entry).live = false };
        }
        self.live.set(self.live.get() - 1);
        self.live_bytes.set(self.live_bytes.get() - slot.size);
        let inner = Self::inner_block(&slot);
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
        // SAFETY: a slot of the table.
        !block.is_empty()
            && self
                .find(block.addr())
                .is_some_and(|s| unsafe { (*s).live })
    }
}

alloc_core::impl_allocator_api2!(impl[A: Allocator, P: Allocator] for Guard<A, P>);
