//! The per-thread part of the caches: a thread-local table of slots, one per cache
//! instance the thread uses, each holding a stack of free blocks per class; the registry
//! that links slots to their instance; and what happens when a thread exits.
//!
//! Who touches a slot, and when (the proof of the `unsafe` in this module and in `mod.rs`):
//!
//! - Its thread, through [`with_slot`], during a call on the instance the slot belongs to:
//!   the fast paths, without lock or atomic read-modify-write.
//! - Any thread holding [`REGISTRY`]: registration (its own thread), the thread's exit
//!   ([`ExitGuard`]), and the instance's `Drop` (another thread, possibly). A `Drop` has
//!   `&mut` to the instance, so every call on it, on every thread, happened before; and the
//!   thread's exit takes `REGISTRY` too, so the two never overlap.
//!
//! A slot of a dropped instance keeps the dropped instance's id (never reused, so never
//! matched again) with its `core` pointer cleared; registration reuses it.

use core::cell::Cell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};

use alloc_core::{RawLock, SpinLock};

use super::classes::{NUM_CLASSES, batch, capacity};
use super::depot::{Core, last_of, next, set_next};

/// How many cache instances one thread can cache for at the same time; a thread that uses
/// more serves the others without a cache (correct, slower).
pub(crate) const SLOTS: usize = 4;

/// Taken to link or unlink slots and to read another thread's slot (see the module docs).
/// Never held while user code runs.
pub(crate) static REGISTRY: SpinLock = SpinLock::new();

/// A thread's stack of free blocks of one class, for one instance.
pub(crate) struct ClassCache {
    /// The top free block, linked through first words; null when empty.
    head: Cell<*mut u8>,
    /// How many blocks the stack holds (`<= capacity(c)`).
    count: Cell<u32>,
    /// The block at position `batch(c)` from the bottom and the one above it, recorded by
    /// the push that took `count` from `batch(c)` to `batch(c) + 1`. Blocks below the top
    /// never move, so while the stack has not gone back down to `batch(c)` blocks since
    /// (a pop past it) they are still there, and a full stack is cut into two batches
    /// there in O(1) (the bottom, coldest batch leaves) instead of walking `batch(c)`
    /// links. Null when unknown (`put`, a flush); then a flush walks.
    mark: Cell<*mut u8>,
    above: Cell<*mut u8>,
    /// Requests served from this stack. Written by its thread only (a load and a store,
    /// no read-modify-write); read by `stats` from any thread.
    pub(crate) served: AtomicU64,
}

/// A thread's cache for one instance.
pub(crate) struct Slot {
    /// The id of the instance (0: never used). Written and read by its thread only.
    id: Cell<u64>,
    /// The instance's core while the slot is registered, else null. `REGISTRY` held.
    core: Cell<*const Core>,
    /// The next slot of the same instance (list head in `Core::slots`). `REGISTRY` held.
    next: Cell<*const Slot>,
    /// The previous slot, or null for the first. `REGISTRY` held.
    prev: Cell<*const Slot>,
    pub(crate) classes: [ClassCache; NUM_CLASSES],
}

/// No exit guard registered yet.
const FRESH: u8 = 0;
/// Registering the exit guard (re-entrant calls meanwhile go without a cache).
const REGISTERING: u8 = 1;
/// The exit guard is registered.
const LIVE: u8 = 2;
/// The thread is exiting: its slots were given back, no new ones.
const EXITED: u8 = 3;

/// The thread's slots. No destructor (so it stays readable during every thread-local
/// destructor, and its initialiser is `const`); [`ExitGuard`] gives the slots back.
pub(crate) struct Table {
    slots: [Slot; SLOTS],
    state: Cell<u8>,
}

/// Its `Drop` runs when the thread exits and gives every slot back to its instance.
struct ExitGuard;

std::thread_local! {
    static TABLE: Table = const {
        Table {
            slots: [const { Slot::new() }; SLOTS],
            state: Cell::new(FRESH),
        }
    };
    static EXIT: ExitGuard = const { ExitGuard };
}

/// Runs `f` on the calling thread's slot for instance `id`, if it has one.
#[inline(always)]
pub(crate) fn with_slot<R>(id: u64, f: impl FnOnce(&Slot) -> R) -> Option<R> {
    TABLE
        .try_with(|table| {
            let first = &table.slots[0];
            if first.id.get() == id {
                return Some(f(first));
            }
            table.slots[1..].iter().find(|s| s.id.get() == id).map(f)
        })
        .ok()
        .flatten()
}

impl Slot {
    /// An unused slot: no instance, every stack empty.
    const fn new() -> Self {
        Self {
            id: Cell::new(0),
            core: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            prev: Cell::new(ptr::null()),
            classes: [const {
                ClassCache {
                    head: Cell::new(ptr::null_mut()),
                    count: Cell::new(0),
                    mark: Cell::new(ptr::null_mut()),
                    above: Cell::new(ptr::null_mut()),
                    served: AtomicU64::new(0),
                }
            }; NUM_CLASSES],
        }
    }

    /// Pops a free block of class `c`, counting the request as served.
    #[inline(always)]
    pub(crate) fn pop(&self, c: usize) -> Option<NonNull<u8>> {
        let cache = &self.classes[c];
        let head = NonNull::new(cache.head.get())?;
        // SAFETY: `head` is a free block of this stack, which only this thread touches now
        // (module docs); its first word links to the next one.
        cache.head.set(unsafe { next(head.as_ptr()) });
        cache.count.set(cache.count.get() - 1);
        Self::count_served(cache, 1);
        Some(head)
    }

    /// Counts `n` requests of this class as served (a load and a store: only this thread
    /// writes the counter).
    #[inline(always)]
    pub(crate) fn count_served(cache: &ClassCache, n: u64) {
        let served = cache.served.load(Ordering::Relaxed);
        cache
            .served
            .store(served.wrapping_add(n), Ordering::Relaxed);
    }

    /// Pushes `block` unless the stack is full (then `false`, and nothing changes).
    ///
    /// # Safety
    ///
    /// `block` is a free class-`c` block of the slot's instance's backing allocator, owned
    /// by the caller, which gives it up on `true`.
    ///
    /// # Panics
    ///
    /// In debug builds, if `block` is already in this stack (a double free).
    #[inline(always)]
    pub(crate) unsafe fn push(&self, c: usize, block: *mut u8) -> bool {
        let cache = &self.classes[c];
        let count = cache.count.get();
        if count as usize >= capacity(c) {
            return false;
        }
        #[cfg(debug_assertions)]
        Self::check_not_cached(cache, block);
        let head = cache.head.get();
        if count as usize == batch(c) {
            cache.mark.set(head);
            cache.above.set(block);
        }
        // SAFETY: the caller gives the block to the stack.
        unsafe { set_next(block, head) };
        cache.head.set(block);
        cache.count.set(count + 1);
        true
    }

    /// Takes `batch(c)` blocks off a full stack of class `c` as a null-terminated chain:
    /// the bottom half, cut at the mark in O(1), or the top half when the mark is unknown.
    pub(crate) fn take_batch(&self, c: usize) -> *mut u8 {
        let cache = &self.classes[c];
        debug_assert!(cache.count.get() as usize >= capacity(c));
        let (mark, above) = (cache.mark.replace(ptr::null_mut()), cache.above.get());
        if mark.is_null() {
            return self.take(c, batch(c));
        }
        // SAFETY: the mark is set and the stack has stayed above `batch(c)` blocks since
        // (see `ClassCache::mark`): `above` is a free block of this stack whose link is
        // `mark`, below which the stack holds exactly `batch(c)` blocks, null-terminated.
        unsafe {
            debug_assert!(next(above) == mark);
            set_next(above, ptr::null_mut());
        }
        cache.count.set(cache.count.get() - batch(c) as u32);
        mark
    }

    /// Panics if `block` is in the stack: it was freed twice.
    #[cfg(debug_assertions)]
    #[cold]
    #[inline(never)]
    fn check_not_cached(cache: &ClassCache, block: *mut u8) {
        let mut p = cache.head.get();
        while !p.is_null() {
            assert!(
                p != block,
                "double free: block {block:p} was given back to the ThreadCache twice"
            );
            // SAFETY: `p` is a free block of the stack (module docs).
            p = unsafe { next(p) };
        }
    }

    /// Takes the `n` top blocks of class `c` (`n <= count`) as a null-terminated chain.
    pub(crate) fn take(&self, c: usize, n: usize) -> *mut u8 {
        let cache = &self.classes[c];
        debug_assert!(n >= 1 && n <= cache.count.get() as usize);
        cache.mark.set(ptr::null_mut());
        let head = cache.head.get();
        // SAFETY: the first `n <= count` blocks of the stack are free blocks of it.
        let last = unsafe { last_of(head, n) };
        // SAFETY: as above; the chain is cut after `last`.
        unsafe {
            cache.head.set(next(last));
            set_next(last, ptr::null_mut());
        }
        cache.count.set(cache.count.get() - n as u32);
        head
    }

    /// Puts a chain of `n` blocks on the stack of class `c`.
    ///
    /// # Safety
    ///
    /// `head` starts a null-terminated chain of `n` free class-`c` blocks of the slot's
    /// instance's backing allocator, given up by the caller; `count + n` fits in `u32`.
    pub(crate) unsafe fn put(&self, c: usize, head: *mut u8, n: usize) {
        if n == 0 {
            return;
        }
        let cache = &self.classes[c];
        // The stack may cross `batch(c)` without a push: the mark is unknown.
        cache.mark.set(ptr::null_mut());
        if !cache.head.get().is_null() {
            // SAFETY: the caller's chain has `n` blocks.
            let last = unsafe { last_of(head, n) };
            // SAFETY: `last` ends the caller's chain, given to the stack.
            unsafe { set_next(last, cache.head.get()) };
        }
        cache.head.set(head);
        cache.count.set(cache.count.get() + n as u32);
    }

    /// The bytes this slot caches.
    pub(crate) fn cached_bytes(&self) -> usize {
        (0..NUM_CLASSES)
            .map(|c| self.classes[c].count.get() as usize * super::classes::class_size(c))
            .sum()
    }
}

/// Gives the calling thread a slot for `core`'s instance. `false` if it cannot: the
/// thread is exiting, is registering its exit guard (a re-entrant call), or has no slot
/// free.
#[cold]
#[inline(never)]
pub(crate) fn register(core: &Core) -> bool {
    TABLE
        .try_with(|table| {
            match table.state.get() {
                LIVE => {}
                FRESH => {
                    // Registering the destructor may allocate on some platforms (through
                    // this very allocator, if it is the global one): such calls find
                    // the state `REGISTERING` and go without a cache.
                    table.state.set(REGISTERING);
                    let ok = EXIT.try_with(|_| ()).is_ok();
                    table.state.set(if ok { LIVE } else { EXITED });
                    if !ok {
                        return false;
                    }
                }
                _ => return false,
            }
            let _registry = REGISTRY.lock();
            let Some(slot) = table.slots.iter().find(|s| s.core.get().is_null()) else {
                return false;
            };
            slot.id.set(core.id);
            slot.core.set(core);
            for cache in &slot.classes {
                debug_assert!(cache.head.get().is_null() && cache.count.get() == 0);
                cache.served.store(0, Ordering::Relaxed);
            }
            // SAFETY: `REGISTRY` is held: the list and its slots are ours to change; every
            // slot in the list is alive (slots leave it before their thread ends).
            unsafe {
                let first = *core.slots.get();
                slot.next.set(first);
                slot.prev.set(ptr::null());
                if let Some(first) = first.as_ref() {
                    first.prev.set(slot);
                }
                *core.slots.get() = slot;
            }
            core.threads.fetch_add(1, Ordering::Relaxed);
            true
        })
        .unwrap_or(false)
}

/// Gives `slot`'s blocks to its instance's depot, folds its counters into the instance
/// and unlinks it. Nothing if the slot is not registered.
///
/// # Safety
///
/// `REGISTRY` is held, and `slot` is alive (in the list of its core, or owned by the
/// calling thread).
pub(crate) unsafe fn detach(slot: &Slot) {
    let core = slot.core.get();
    if core.is_null() {
        return;
    }
    // SAFETY: a registered slot's core is alive: the instance's `Drop` detaches every slot
    // (with `REGISTRY` held, as now) before it frees its core.
    let core = unsafe { &*core };
    for (c, cache) in slot.classes.iter().enumerate() {
        let (head, count) = (cache.head.replace(ptr::null_mut()), cache.count.replace(0));
        // SAFETY: the stack's blocks are free class-`c` blocks of the instance's backing
        // allocator; the slot gives them up (its stack is emptied above).
        unsafe { core.give_loose(c, head, count as usize) };
        core.served[c].fetch_add(cache.served.swap(0, Ordering::Relaxed), Ordering::Relaxed);
    }
    // SAFETY: `REGISTRY` is held: the list and its slots are ours to change.
    unsafe {
        let (prev, next) = (slot.prev.get(), slot.next.get());
        match prev.as_ref() {
            Some(prev) => prev.next.set(next),
            None => *core.slots.get() = next,
        }
        if let Some(next) = next.as_ref() {
            next.prev.set(prev);
        }
    }
    slot.core.set(ptr::null());
    slot.next.set(ptr::null());
    slot.prev.set(ptr::null());
    core.threads.fetch_sub(1, Ordering::Relaxed);
}

/// Detaches every slot of `core`'s instance, on every thread (the instance's `Drop`).
///
/// # Safety
///
/// No call on the instance is running or will run (the caller has `&mut` to it).
pub(crate) unsafe fn detach_all(core: &Core) {
    let _registry = REGISTRY.lock();
    loop {
        // SAFETY: `REGISTRY` is held; the list's slots are alive.
        let first = unsafe { *core.slots.get() };
        // SAFETY: as above.
        let Some(slot) = (unsafe { first.as_ref() }) else {
            break;
        };
        // SAFETY: `REGISTRY` is held and the slot is in the list; its thread is not inside
        // a call on the instance (the caller's promise), and its exit waits for `REGISTRY`.
        unsafe { detach(slot) };
    }
}

/// Runs `before`, then `f` on each registered slot of `core`'s instance, all with
/// `REGISTRY` held (so a thread that exits meanwhile is counted once: in its slot, or in
/// what it folded into the core).
pub(crate) fn for_each_slot<T>(
    core: &Core,
    before: impl FnOnce() -> T,
    mut f: impl FnMut(&mut T, &Slot),
) -> T {
    let _registry = REGISTRY.lock();
    let mut acc = before();
    // SAFETY: `REGISTRY` is held; the list's slots are alive.
    let mut p = unsafe { *core.slots.get() };
    // SAFETY: as above, for every slot of the list.
    while let Some(slot) = unsafe { p.as_ref() } {
        f(&mut acc, slot);
        p = slot.next.get();
    }
    acc
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = TABLE.try_with(|table| {
            table.state.set(EXITED);
            let _registry = REGISTRY.lock();
            for slot in &table.slots {
                // SAFETY: `REGISTRY` is held and the slot belongs to this thread.
                unsafe { detach(slot) };
                slot.id.set(0);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate alloc;

    use alloc::vec;
    use alloc::vec::Vec;

    /// A slot outside any thread-local table, as `TABLE` builds them.
    fn slot() -> Slot {
        Slot::new()
    }

    /// The blocks of a chain, in order.
    fn chain(mut p: *mut u8) -> Vec<*mut u8> {
        let mut blocks = Vec::new();
        while !p.is_null() {
            blocks.push(p);
            // SAFETY: a block of the test's buffer, linked by the slot.
            p = unsafe { next(p) };
        }
        blocks
    }

    /// Class 0 (16-byte blocks) of a slot, over `n` blocks of a buffer the test owns.
    fn blocks(buffer: &mut [[u64; 2]]) -> Vec<*mut u8> {
        buffer
            .iter_mut()
            .map(|b| b.as_mut_ptr().cast::<u8>())
            .collect()
    }

    #[test]
    fn a_full_stack_gives_its_bottom_half_cut_at_the_mark() {
        let (slot, cap, half) = (slot(), capacity(0), batch(0));
        let mut buffer = vec![[0u64; 2]; cap + 8];
        let blocks = blocks(&mut buffer);
        for &b in &blocks[..cap] {
            // SAFETY: distinct blocks of the buffer, given to the stack.
            assert!(unsafe { slot.push(0, b) });
        }
        // SAFETY: as above.
        assert!(!unsafe { slot.push(0, blocks[cap]) }, "full");
        let cut = chain(slot.take_batch(0));
        assert_eq!(
            cut,
            blocks[..half].iter().rev().copied().collect::<Vec<_>>()
        );
        assert_eq!(slot.classes[0].count.get() as usize, half);
        let left = chain(slot.classes[0].head.get());
        assert_eq!(
            left,
            blocks[half..cap].iter().rev().copied().collect::<Vec<_>>()
        );

        // Down past the mark and up again: the mark is recorded again by the pushes.
        for _ in 0..3 {
            assert!(slot.pop(0).is_some());
        }
        let mut stack: Vec<_> = blocks[half..cap - 3].to_vec();
        for &b in blocks[..half].iter().chain(&blocks[cap..cap + 3]) {
            // SAFETY: blocks not in the stack, given to it.
            assert!(unsafe { slot.push(0, b) });
            stack.push(b);
        }
        assert_eq!(slot.classes[0].count.get() as usize, cap);
        let cut = chain(slot.take_batch(0));
        assert_eq!(cut, stack[..half].iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(
            chain(slot.classes[0].head.get()),
            stack[half..].iter().rev().copied().collect::<Vec<_>>()
        );
    }

    #[test]
    fn without_a_mark_a_flush_walks_the_top_half() {
        let (slot, cap, half) = (slot(), capacity(0), batch(0));
        let mut buffer = vec![[0u64; 2]; cap];
        let blocks = blocks(&mut buffer);
        // Build a chain of all blocks and put it at once: no push crosses the half.
        for w in blocks.windows(2) {
            // SAFETY: blocks of the test's buffer.
            unsafe { set_next(w[0], w[1]) };
        }
        // SAFETY: the last block ends the chain.
        unsafe { set_next(blocks[cap - 1], ptr::null_mut()) };
        // SAFETY: a chain of `cap` distinct blocks, given to an empty stack.
        unsafe { slot.put(0, blocks[0], cap) };
        let cut = chain(slot.take_batch(0));
        assert_eq!(cut, blocks[..half]);
        assert_eq!(chain(slot.classes[0].head.get()), blocks[half..]);
        assert_eq!(slot.classes[0].count.get() as usize, half);
    }
}
