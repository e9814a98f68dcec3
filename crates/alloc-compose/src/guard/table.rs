//! The [`Guard`](super::Guard)'s table of blocks: an open-addressing hash table over
//! memory the caller hands in, with a safe interface.
//!
//! The table never calls user code and never allocates: the caller asks how much memory a
//! rebuild needs ([`Table::rebuild_layout`]), gets it from wherever it likes (the guard's
//! parent, which is user code that may use the guard meanwhile), then hands it over with
//! [`Table::rebuild_into`], which moves the entries without running anything else,
//! installs the new memory and hands the old memory back, for the caller to free once
//! the new table is in place. So every call into user code stays in the guard, where its
//! re-entrancy is reasoned about, and this module's only `unsafe` is about the memory it
//! was given: the hand-over (an `unsafe fn`) and the one view of it as slots.
//!
//! Entries are live (a block handed out) or freed (kept to recognise a double free until
//! the next rebuild, which drops them). Lookups are by address, with linear probing from a
//! Fibonacci hash; no entry is ever removed outside a rebuild, so a probe ends at the
//! first unused slot.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

use alloc_core::Block;

/// The smallest table (slots).
const MIN_SLOTS: usize = 64;

/// One recorded block, live or freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// The block's start as handed out (with the provenance of the whole inner block).
    pub(super) user: NonNull<u8>,
    /// The size and alignment the block was allocated with.
    pub(super) size: usize,
    pub(super) align: usize,
    /// Whether the block is currently allocated (`false`: it was freed).
    pub(super) live: bool,
}

/// A slot of the table: `None` when unused.
type Slot = Option<Entry>;

/// The block at an address already has a live entry (returned by [`Table::insert`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AlreadyLive;

/// The table of blocks.
///
/// Invariants (between calls; no method calls out, so nothing observes them broken):
/// - `memory` is `None` and `cap` is 0, or `memory` is a block handed over by
///   [`rebuild_into`](Self::rebuild_into) (valid for reads and writes, only the table's)
///   whose first `cap` slots, at `slots`, are initialised; `cap` is a power of two.
/// - `used` slots are `Some`, `live` of them live, with `live_bytes` bytes in all; and
///   `used * 4 <= cap * 3` after a rebuild, `used < cap` always (a probe ends).
#[derive(Debug)]
pub(super) struct Table {
    memory: Cell<Option<Block>>,
    /// The start of `memory`, as slots; dangling when `cap` is 0.
    slots: Cell<NonNull<Cell<Slot>>>,
    cap: Cell<usize>,
    used: Cell<usize>,
    live: Cell<usize>,
    live_bytes: Cell<usize>,
}

impl Table {
    /// An empty table without memory (it gets some on the first rebuild).
    pub(super) const fn new() -> Self {
        Self {
            memory: Cell::new(None),
            slots: Cell::new(NonNull::dangling()),
            cap: Cell::new(0),
            used: Cell::new(0),
            live: Cell::new(0),
            live_bytes: Cell::new(0),
        }
    }

    /// The live entries.
    pub(super) fn live(&self) -> usize {
        self.live.get()
    }

    /// The bytes of the live entries.
    pub(super) fn live_bytes(&self) -> usize {
        self.live_bytes.get()
    }

    /// The slot at `index`.
    ///
    /// # Panics
    ///
    /// If `index` is not below the number of slots (no caller passes one).
    #[inline]
    fn slot(&self, index: usize) -> &Cell<Slot> {
        assert!(
            index < self.cap.get(),
            "Guard's table: slot {index} out of range"
        );
        // SAFETY: `index < cap`: inside the table's memory of `cap` slots (or no memory
        // is involved when `cap` is 0, and then no index passes the assertion).
        let slot = unsafe { self.slots.get().add(index) };
        // SAFETY: one of the `cap` initialised slots of the table's memory, which only the
        // table uses and which stays allocated until the table hands it back (type
        // invariant, `rebuild_into`'s contract). This private method's references are used
        // only inside the table's own methods, none across the change of memory in
        // `rebuild_into` or `take_memory` (which hold no slot reference across it, and hand
        // the old memory back only at their end). `Cell<Slot>` has the layout of `Slot`,
        // and every access goes through the cell, so references to a slot never conflict.
        // (One slot at a time, not a slice of all: Miri retags a reference over its whole
        // range, which made every lookup O(slots) there.)
        unsafe { slot.as_ref() }
    }

    /// The first slot to probe for `addr` in a table of `cap` slots (a power of two).
    #[inline]
    fn home(addr: usize, cap: usize) -> usize {
        // Fibonacci hashing; blocks are at least 16 bytes apart in practice, and the
        // multiplication mixes the low bits into the high ones, which are kept.
        let hash = (addr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (hash >> (64 - cap.trailing_zeros())) as usize
    }

    /// The slot of the entry for `addr`, or the unused slot where it would go; `None` when
    /// the table has no memory.
    #[inline]
    fn slot_for(&self, addr: usize) -> Option<&Cell<Slot>> {
        let cap = self.cap.get();
        if cap == 0 {
            return None;
        }
        let mut i = Self::home(addr, cap);
        // Ends: at least one slot is unused (`used < cap`).
        loop {
            let slot = self.slot(i);
            match slot.get() {
                Some(e) if e.user.addr().get() != addr => i = (i + 1) & (cap - 1),
                _ => return Some(slot),
            }
        }
    }

    /// The entry (live or freed) of the block at `addr`, if the table has one.
    #[inline]
    pub(super) fn find(&self, addr: usize) -> Option<Entry> {
        self.slot_for(addr).and_then(Cell::get)
    }

    /// Whether the block at `addr` has a live entry.
    #[inline]
    pub(super) fn is_live(&self, addr: usize) -> bool {
        self.find(addr).is_some_and(|e| e.live)
    }

    /// Whether [`insert`](Self::insert) of a new address needs a rebuild first.
    #[inline]
    pub(super) fn needs_room(&self) -> bool {
        (self.used.get() + 1) * 4 > self.cap.get() * 3
    }

    /// Records a live block. A freed entry at the same address is reused.
    ///
    /// # Errors
    ///
    /// [`AlreadyLive`] if the address has a live entry (nothing changes).
    ///
    /// # Panics
    ///
    /// If the address is new and the table [`needs_room`](Self::needs_room): the caller
    /// rebuilds first.
    #[track_caller]
    pub(super) fn insert(&self, user: NonNull<u8>, layout: Layout) -> Result<(), AlreadyLive> {
        let found = self.slot_for(user.addr().get());
        let slot = match found.map(|s| (s, s.get())) {
            Some((_, Some(e))) if e.live => return Err(AlreadyLive),
            Some((slot, Some(_))) => slot,
            Some((slot, None)) if !self.needs_room() => {
                self.used.set(self.used.get() + 1);
                slot
            }
            _ => panic!("Guard's table: an insertion without room (a rebuild is due first)"),
        };
        slot.set(Some(Entry {
            user,
            size: layout.size(),
            align: layout.align(),
            live: true,
        }));
        self.live.set(self.live.get() + 1);
        self.live_bytes.set(self.live_bytes.get() + layout.size());
        Ok(())
    }

    /// Records the live block at `addr` as freed and returns its entry (as it was); `None`
    /// (nothing changes) if `addr` has no live entry.
    pub(super) fn mark_freed(&self, addr: usize) -> Option<Entry> {
        let slot = self.slot_for(addr)?;
        let entry = slot.get().filter(|e| e.live)?;
        slot.set(Some(Entry {
            live: false,
            ..entry
        }));
        self.live.set(self.live.get() - 1);
        self.live_bytes.set(self.live_bytes.get() - entry.size);
        Some(entry)
    }

    /// The live entries, walked by index. The iterator holds no view of the memory
    /// between steps, so the table may change while it is walked (by code the caller runs
    /// between steps); entries moved by a rebuild meanwhile may then be missed or seen
    /// twice.
    pub(super) fn live_slots(&self) -> LiveSlots<'_> {
        LiveSlots {
            table: self,
            next: 0,
        }
    }

    /// The number of slots to rebuild into for the live entries plus one: as many as now
    /// if they fill at most half of them (the freed entries go), otherwise enough to stay
    /// at most three quarters full.
    fn wanted_cap(&self) -> usize {
        let (cap, live) = (self.cap.get(), self.live.get());
        if cap != 0 && (live + 1) * 2 <= cap {
            return cap;
        }
        let mut new_cap = (cap * 2).max(MIN_SLOTS);
        while (live + 1) * 4 > new_cap * 3 {
            new_cap *= 2;
        }
        new_cap
    }

    /// The memory a rebuild needs now; `None` if its size overflows.
    pub(super) fn rebuild_layout(&self) -> Option<Layout> {
        Layout::array::<Slot>(self.wanted_cap()).ok()
    }

    /// Moves the live entries into `memory` (dropping the freed ones), makes it the
    /// table's memory and returns the old memory (`None` if there was none), for the
    /// caller to give back. Runs no code but its own.
    ///
    /// # Errors
    ///
    /// `memory` itself, untouched, if it is not aligned for slots or too small for the
    /// table as it is now ([`rebuild_layout`](Self::rebuild_layout) may have grown since
    /// the caller asked).
    ///
    /// # Safety
    ///
    /// `memory` is valid for reads and writes of `memory.size()` bytes and stays so, used
    /// by nothing but the table, until the table hands it back (from a later
    /// `rebuild_into` or [`take_memory`](Self::take_memory)). On `Err` it is the
    /// caller's again.
    pub(super) unsafe fn rebuild_into(&self, memory: Block) -> Result<Option<Block>, Block> {
        let wanted = self.wanted_cap();
        let fits = memory.size() / size_of::<Slot>();
        let start = memory.ptr().cast::<Cell<Slot>>();
        if !start.as_ptr().is_aligned() || fits < wanted {
            return Err(memory);
        }
        // All of the memory that holds a power of two of slots (at least `wanted`).
        let new_cap = 1 << fits.ilog2();
        for i in 0..new_cap {
            // SAFETY: `i < new_cap <= fits`: inside `memory`.
            let slot = unsafe { start.add(i) };
            // SAFETY: inside `memory`, which is valid for writes and aligned for slots
            // (checked), and nobody else's (caller).
            unsafe { slot.write(Cell::new(None)) };
        }
        // Install the new slots, then move the live entries over from the old ones, which
        // stay allocated until the caller gets them back below.
        let old = self.slots.replace(start);
        let old_cap = self.cap.replace(new_cap);
        self.used.set(0);
        for i in 0..old_cap {
            // SAFETY: `i < old_cap`: inside the old memory.
            let slot = unsafe { old.add(i) };
            // SAFETY: an initialised slot of the old memory, still the table's (it is
            // handed back only at the end of this function).
            let slot = unsafe { slot.as_ref() }.get();
            if let Some(entry) = slot.filter(|e| e.live) {
                // The new slots hold only these entries, at distinct addresses, fewer than
                // `new_cap`: the probe ends at an unused slot.
                if let Some(new) = self.slot_for(entry.user.addr().get()) {
                    new.set(Some(entry));
                    self.used.set(self.used.get() + 1);
                }
            }
        }
        Ok(self.memory.replace(Some(memory)))
    }

    /// Empties the table and hands its memory back (`None` if it had none). Every entry is
    /// forgotten, live ones too.
    pub(super) fn take_memory(&self) -> Option<Block> {
        self.slots.set(NonNull::dangling());
        self.cap.set(0);
        self.used.set(0);
        self.live.set(0);
        self.live_bytes.set(0);
        self.memory.take()
    }
}

/// The live entries of a [`Table`] (see [`Table::live_slots`]).
#[derive(Debug)]
pub(super) struct LiveSlots<'a> {
    table: &'a Table,
    /// The next index to look at.
    next: usize,
}

impl Iterator for LiveSlots<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        // The number of slots is read at each step: the table may have been rebuilt.
        while self.next < self.table.cap.get() {
            let slot = self.table.slot(self.next).get();
            self.next += 1;
            if let Some(entry) = slot.filter(|e| e.live) {
                return Some(entry);
            }
        }
        None
    }
}

// The tests take the table's memory from the heap.
#[cfg(all(test, feature = "alloc"))]
mod tests;
