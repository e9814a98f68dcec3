//! The shared part of a cache instance: its depot of free blocks (per class, batches under
//! a spin lock), the list of thread slots that cache for it, and its counters.
//!
//! Free blocks are linked through their first word (the next block of a chain); the first
//! block of a batch in the depot also uses its second word (the next batch). Class blocks
//! are at least 16 bytes and 16-aligned, so both words fit.

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use alloc_core::{RawLock, SpinLock};

use super::classes::{NUM_CLASSES, batch};
use super::local::Slot;

/// The depot's default limit per class, in batches of 16 KiB (the batches of the classes of
/// 128 bytes and up; `classes::depot_batches` converts it for each class: 256 KiB of every
/// class); further batches go to the backing allocator (see the module docs of `cache`).
pub(crate) const DEPOT_BATCHES: usize = 16;

/// The next block of a chain, stored in `block`'s first word.
///
/// # Safety
///
/// `block` is a free class block owned by the caller (in a chain it holds), whose first
/// word was written by [`set_next`].
#[inline(always)]
pub(crate) unsafe fn next(block: *mut u8) -> *mut u8 {
    // SAFETY: forwarded from the caller: the block is ours, 16-aligned and at least 16
    // bytes long, and its first word holds a pointer written by `set_next`.
    unsafe { block.cast::<*mut u8>().read() }
}

/// Stores `next` in `block`'s first word.
///
/// # Safety
///
/// `block` is a free class block owned by the caller (nothing else reads or writes it).
#[inline(always)]
pub(crate) unsafe fn set_next(block: *mut u8, next: *mut u8) {
    // SAFETY: forwarded from the caller: the block is ours, 16-aligned, 16 bytes or more.
    unsafe { block.cast::<*mut u8>().write(next) }
}

/// The next batch, stored in the second word of a batch's first block.
///
/// # Safety
///
/// As [`next`], for the word written by [`set_next_batch`].
unsafe fn next_batch(block: *mut u8) -> *mut u8 {
    // SAFETY: forwarded from the caller; the second word is inside the 16-byte block.
    unsafe { block.cast::<*mut u8>().add(1).read() }
}

/// Stores `batch` in the second word of `block`.
///
/// # Safety
///
/// As [`set_next`].
unsafe fn set_next_batch(block: *mut u8, batch: *mut u8) {
    // SAFETY: forwarded from the caller; the second word is inside the 16-byte block.
    unsafe { block.cast::<*mut u8>().add(1).write(batch) }
}

/// The depot's blocks of one class. Accessed only with `lock` held.
struct Shelf {
    /// The first block of the first full batch (`batch(c)` blocks each), or null.
    full: *mut u8,
    /// How many full batches.
    full_count: usize,
    /// A chain of single blocks (from threads that exited), or null.
    loose: *mut u8,
    /// How many blocks in `loose`.
    loose_count: usize,
}

/// One class of the depot.
struct DepotClass {
    lock: SpinLock,
    shelf: UnsafeCell<Shelf>,
}

/// The shared state of one cache instance, allocated from `System` on first use so that
/// its address is stable while the instance value moves (thread slots point to it).
pub(crate) struct Core {
    /// Unique among all instances ever created (never reused), so a thread slot of a
    /// dropped instance never matches a new one.
    pub(crate) id: u64,
    depot: [DepotClass; NUM_CLASSES],
    /// The first slot of the list of thread slots caching for this instance (linked
    /// through `Slot::next`); read and written only with `local::REGISTRY` held.
    pub(crate) slots: UnsafeCell<*const Slot>,
    /// Requests served per class by threads whose slots are gone (folded in at exit).
    pub(crate) served: [AtomicU64; NUM_CLASSES],
    /// Batches taken from the depot or the backing allocator by thread caches.
    pub(crate) refills: AtomicU64,
    /// Batches given back by thread caches (to the depot or the backing allocator).
    pub(crate) flushes: AtomicU64,
    /// Blocks the depot could not keep, given to the backing allocator (in batches).
    pub(crate) overflow: AtomicU64,
    /// Requests that bypassed the caches: too large, too aligned, or made while the
    /// thread had no cache (see `cache` docs).
    pub(crate) spills: AtomicU64,
    /// Class requests served without a thread cache (the calling thread exited, or all
    /// its slots are taken).
    pub(crate) uncached: AtomicU64,
    /// Number of thread slots in `slots`.
    pub(crate) threads: AtomicUsize,
}

// SAFETY: the raw pointers in `Core` are free blocks owned by the depot (moved only with a
// shelf's lock held) and thread slots (accessed only with `REGISTRY` held); nothing in it is
// tied to a thread.
unsafe impl Send for Core {}
// SAFETY: as for `Send`: every mutable part is behind a lock or atomic.
unsafe impl Sync for Core {}

/// A chain of free blocks taken out of the depot: `count` blocks starting at `head`.
pub(crate) struct Chain {
    pub(crate) head: *mut u8,
    pub(crate) count: usize,
}

impl Core {
    /// An empty core with identity `id`.
    pub(crate) fn new(id: u64) -> Self {
        Self {
            id,
            depot: [const {
                DepotClass {
                    lock: SpinLock::new(),
                    shelf: UnsafeCell::new(Shelf {
                        full: ptr::null_mut(),
                        full_count: 0,
                        loose: ptr::null_mut(),
                        loose_count: 0,
                    }),
                }
            }; NUM_CLASSES],
            slots: UnsafeCell::new(ptr::null()),
            served: [const { AtomicU64::new(0) }; NUM_CLASSES],
            refills: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            spills: AtomicU64::new(0),
            uncached: AtomicU64::new(0),
            threads: AtomicUsize::new(0),
        }
    }

    /// Takes up to one batch of class `c` from the depot: a full batch, else up to a
    /// batch of loose blocks. An empty chain if the depot has none.
    pub(crate) fn take(&self, c: usize) -> Chain {
        let class = &self.depot[c];
        let _guard = class.lock.lock();
        // SAFETY: the lock is held: no other access to the shelf.
        let shelf = unsafe { &mut *class.shelf.get() };
        if !shelf.full.is_null() {
            let head = shelf.full;
            // SAFETY: `head` is the first block of a batch the depot owns.
            shelf.full = unsafe { next_batch(head) };
            shelf.full_count -= 1;
            return Chain {
                head,
                count: batch(c),
            };
        }
        let want = batch(c).min(shelf.loose_count);
        if want == 0 {
            return Chain {
                head: ptr::null_mut(),
                count: 0,
            };
        }
        let head = shelf.loose;
        let mut last = head;
        for _ in 1..want {
            // SAFETY: `last` is one of the first `want <= loose_count` blocks of the loose
            // chain, which the depot owns.
            last = unsafe { next(last) };
        }
        // SAFETY: as above; cutting the chain after `last`.
        unsafe {
            shelf.loose = next(last);
            set_next(last, ptr::null_mut());
        }
        shelf.loose_count -= want;
        Chain { head, count: want }
    }

    /// Puts a full batch of class `c` (`batch(c)` blocks, null-terminated) into the depot.
    /// Returns `false`, keeping nothing, if the depot holds `limit` batches already.
    ///
    /// # Safety
    ///
    /// `head` starts a null-terminated chain of exactly `batch(c)` free class-`c` blocks of
    /// this instance's backing allocator, owned by the caller, which gives them up on
    /// `true`.
    pub(crate) unsafe fn give_batch(&self, c: usize, head: *mut u8, limit: usize) -> bool {
        let class = &self.depot[c];
        let _guard = class.lock.lock();
        // SAFETY: the lock is held: no other access to the shelf.
        let shelf = unsafe { &mut *class.shelf.get() };
        if shelf.full_count >= limit {
            return false;
        }
        // SAFETY: the caller gives `head` to the depot.
        unsafe { set_next_batch(head, shelf.full) };
        shelf.full = head;
        shelf.full_count += 1;
        true
    }

    /// Puts any chain of class `c` into the depot's loose blocks, whatever the depot holds
    /// (a thread's cache at exit).
    ///
    /// # Safety
    ///
    /// `head` starts a null-terminated chain of exactly `count` free class-`c` blocks of this
    /// instance's backing allocator, owned by the caller, which gives them up.
    pub(crate) unsafe fn give_loose(&self, c: usize, head: *mut u8, count: usize) {
        if count == 0 {
            return;
        }
        let mut last = head;
        for _ in 1..count {
            // SAFETY: the caller owns the `count` blocks of the chain.
            last = unsafe { next(last) };
        }
        let class = &self.depot[c];
        let _guard = class.lock.lock();
        // SAFETY: the lock is held: no other access to the shelf.
        let shelf = unsafe { &mut *class.shelf.get() };
        // SAFETY: `last` is the caller's last block, given to the depot now.
        unsafe { set_next(last, shelf.loose) };
        shelf.loose = head;
        shelf.loose_count += count;
    }

    /// Empties the depot's class `c`: the whole content as one null-terminated chain.
    pub(crate) fn take_all(&self, c: usize) -> Chain {
        let class = &self.depot[c];
        let _guard = class.lock.lock();
        // SAFETY: the lock is held: no other access to the shelf.
        let shelf = unsafe { &mut *class.shelf.get() };
        let mut head = shelf.loose;
        let mut count = shelf.loose_count;
        while !shelf.full.is_null() {
            let first = shelf.full;
            // SAFETY: `first` starts a full batch the depot owns; its last block is found
            // by walking `batch(c)` links, then linked to the chain built so far.
            unsafe {
                shelf.full = next_batch(first);
                let mut last = first;
                for _ in 1..batch(c) {
                    last = next(last);
                }
                set_next(last, head);
            }
            head = first;
            count += batch(c);
        }
        *shelf = Shelf {
            full: ptr::null_mut(),
            full_count: 0,
            loose: ptr::null_mut(),
            loose_count: 0,
        };
        Chain { head, count }
    }

    /// The blocks the depot holds in class `c`.
    pub(crate) fn depot_count(&self, c: usize) -> usize {
        let class = &self.depot[c];
        let _guard = class.lock.lock();
        // SAFETY: the lock is held: no other access to the shelf.
        let shelf = unsafe { &*class.shelf.get() };
        shelf.full_count * batch(c) + shelf.loose_count
    }

    /// Adds one to a counter (slow paths only).
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
