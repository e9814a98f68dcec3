//! The shared part of a cache instance: its depot of free blocks (per class, batches under
//! a spin lock, in [`SHARDS`] shards chosen by the CPU the caller runs on), the list of
//! thread slots that cache for it, and its counters.
//!
//! Free blocks are linked through their first word (the next block of a chain); the first
//! block of a batch in the depot also uses its second word (the next batch). Class blocks
//! are at least 16 bytes and 16-aligned, so both words fit.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::{mem, ptr};

use alloc_core::{RawLock, SpinLock};

use super::classes::{NUM_CLASSES, batch};
use super::local::Slot;

/// The depot's default limit per class, in batches of 16 KiB (the batches of the classes of
/// 128 bytes and up; `classes::depot_batches` converts it for each class: 256 KiB of every
/// class); further batches go to the backing allocator (see the module docs of `cache`).
pub(crate) const DEPOT_BATCHES: usize = 16;

/// The depot's shards. A batch given back goes to the shard of the CPU the thread runs on
/// (CPU number modulo `SHARDS`), and a refill looks there first: a producer and a consumer
/// that share a core exchange batches whose blocks are still in that core's cache, instead
/// of batches freed on another core (the producer/consumer suite at 4 threads with each
/// pair's threads pinned to one core: 5.2-5.5 us per round against 8.9-10.0 unsharded;
/// `benches/RESULTS.md`).
/// Other shards are looked at when the own one is empty (a refill) or full (a flush).
pub(crate) const SHARDS: usize = 4;

/// The shard of the CPU the calling thread runs on: `sched_getcpu` on Linux (the vDSO or
/// the thread's `rseq` area, no system call on current glibc), shard 0 elsewhere and under
/// Miri. Called once per batch moved, never on the fast paths.
fn current_shard() -> usize {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        unsafe extern "C" {
            fn sched_getcpu() -> core::ffi::c_int;
        }
        // SAFETY: `sched_getcpu` takes no argument and touches no memory of ours; it
        // returns the CPU number, or -1 on error (mapped to shard 0).
        let cpu = unsafe { sched_getcpu() };
        usize::try_from(cpu).unwrap_or(0) % SHARDS
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    {
        0
    }
}

/// Shard `shard`'s part of a class's limit of `limit` batches: the parts add up to `limit`
/// exactly (the first `limit % SHARDS` shards take one more).
const fn shard_limit(limit: usize, shard: usize) -> usize {
    limit / SHARDS + (shard < limit % SHARDS) as usize
}

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

/// The `count`-th block of the chain at `head` (its last, for a chain of `count` blocks;
/// `head` itself when `count` is 0 or 1), found by walking `count - 1` links.
///
/// # Safety
///
/// `head` starts a chain of at least `count` free class blocks owned by the caller, linked
/// by [`set_next`].
pub(crate) unsafe fn last_of(head: *mut u8, count: usize) -> *mut u8 {
    let mut last = head;
    for _ in 1..count {
        // SAFETY: one of the chain's first `count` blocks, the caller's (forwarded).
        last = unsafe { next(last) };
    }
    last
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

impl Shelf {
    /// No blocks.
    const EMPTY: Self = Self {
        full: ptr::null_mut(),
        full_count: 0,
        loose: ptr::null_mut(),
        loose_count: 0,
    };
}

/// Links the chain of `count` blocks at `head` in front of `chain`.
///
/// # Safety
///
/// `head` starts a chain of `count` free class blocks (any pointer when `count` is 0)
/// owned by the caller and distinct from `chain`'s.
unsafe fn prepend(chain: Chain, head: *mut u8, count: usize) -> Chain {
    if count == 0 {
        return chain;
    }
    // SAFETY: the caller's chain of `count` blocks; its last is linked to the rest now.
    unsafe { set_next(last_of(head, count), chain.head) };
    Chain {
        head,
        count: count + chain.count,
    }
}

/// One class of one shard of the depot.
struct DepotClass {
    lock: SpinLock,
    shelf: UnsafeCell<Shelf>,
    /// Whether the shelf holds blocks, as of the last change (written with `lock` held, read
    /// without it): a refill skips empty shards without taking their lock. A stale `false`
    /// only sends a refill elsewhere (another shard, or the backing allocator).
    stocked: AtomicBool,
}

impl DepotClass {
    /// Runs `f` on the shelf with the lock held, then records whether it holds blocks.
    fn with_shelf<R>(&self, f: impl FnOnce(&mut Shelf) -> R) -> R {
        let _guard = self.lock.lock();
        // SAFETY: the lock is held: no other access to the shelf.
        let shelf = unsafe { &mut *self.shelf.get() };
        let result = f(shelf);
        let stocked = !shelf.full.is_null() || !shelf.loose.is_null();
        self.stocked.store(stocked, Ordering::Relaxed);
        result
    }
}

/// The shared state of one cache instance, allocated from `System` on first use so that
/// its address is stable while the instance value moves (thread slots point to it).
pub(crate) struct Core {
    /// Unique among all instances ever created (never reused), so a thread slot of a
    /// dropped instance never matches a new one.
    pub(crate) id: u64,
    /// `depot[shard][class]`.
    depot: [[DepotClass; NUM_CLASSES]; SHARDS],
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

impl Chain {
    /// No blocks.
    pub(crate) const EMPTY: Self = Self {
        head: ptr::null_mut(),
        count: 0,
    };
}

impl Core {
    /// An empty core with identity `id`.
    pub(crate) fn new(id: u64) -> Self {
        Self {
            id,
            depot: [const {
                [const {
                    DepotClass {
                        lock: SpinLock::new(),
                        shelf: UnsafeCell::new(Shelf::EMPTY),
                        stocked: AtomicBool::new(false),
                    }
                }; NUM_CLASSES]
            }; SHARDS],
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

    /// Takes up to one batch of class `c` from the depot, from the calling CPU's shard
    /// first: a full batch, else up to a batch of loose blocks. An empty chain if the depot
    /// has none.
    pub(crate) fn take(&self, c: usize) -> Chain {
        let own = current_shard();
        for i in 0..SHARDS {
            let chain = self.take_from((own + i) % SHARDS, c);
            if chain.count != 0 {
                return chain;
            }
        }
        Chain::EMPTY
    }

    /// [`take`](Self::take) from one shard only.
    fn take_from(&self, shard: usize, c: usize) -> Chain {
        let class = &self.depot[shard][c];
        if !class.stocked.load(Ordering::Relaxed) {
            return Chain::EMPTY;
        }
        class.with_shelf(|shelf| {
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
                return Chain::EMPTY;
            }
            let head = shelf.loose;
            // SAFETY: the loose chain, which the depot owns, has `loose_count >= want`
            // blocks.
            let last = unsafe { last_of(head, want) };
            // SAFETY: as above; cutting the chain after `last`.
            unsafe {
                shelf.loose = next(last);
                set_next(last, ptr::null_mut());
            }
            shelf.loose_count -= want;
            Chain { head, count: want }
        })
    }

    /// Puts a full batch of class `c` (`batch(c)` blocks, null-terminated) into the depot:
    /// into the calling CPU's shard, else into the first other shard with room. Returns
    /// `false`, keeping nothing, if the depot holds `limit` batches of the class already
    /// (each shard holds at most its part of `limit`, [`shard_limit`]).
    ///
    /// # Safety
    ///
    /// `head` starts a null-terminated chain of exactly `batch(c)` free class-`c` blocks of
    /// this instance's backing allocator, owned by the caller, which gives them up on
    /// `true`.
    pub(crate) unsafe fn give_batch(&self, c: usize, head: *mut u8, limit: usize) -> bool {
        let own = current_shard();
        (0..SHARDS).any(|i| {
            // SAFETY: forwarded from the caller, who gives the batch up on the `true` that
            // ends the search.
            unsafe { self.give_batch_to((own + i) % SHARDS, c, head, limit) }
        })
    }

    /// [`give_batch`](Self::give_batch) to one shard only.
    ///
    /// # Safety
    ///
    /// As [`give_batch`](Self::give_batch).
    unsafe fn give_batch_to(&self, shard: usize, c: usize, head: *mut u8, limit: usize) -> bool {
        self.depot[shard][c].with_shelf(|shelf| {
            if shelf.full_count >= shard_limit(limit, shard) {
                return false;
            }
            // SAFETY: the caller gives `head` to the depot.
            unsafe { set_next_batch(head, shelf.full) };
            shelf.full = head;
            shelf.full_count += 1;
            true
        })
    }

    /// Puts any chain of class `c` into the loose blocks of the calling CPU's shard,
    /// whatever the depot holds (a thread's cache at exit).
    ///
    /// # Safety
    ///
    /// `head` starts a null-terminated chain of exactly `count` free class-`c` blocks of this
    /// instance's backing allocator, owned by the caller, which gives them up.
    pub(crate) unsafe fn give_loose(&self, c: usize, head: *mut u8, count: usize) {
        if count == 0 {
            return;
        }
        // SAFETY: the caller owns the `count` blocks of the chain.
        let last = unsafe { last_of(head, count) };
        self.depot[current_shard()][c].with_shelf(|shelf| {
            // SAFETY: `last` is the caller's last block, given to the depot now.
            unsafe { set_next(last, shelf.loose) };
            shelf.loose = head;
            shelf.loose_count += count;
        });
    }

    /// Empties the depot's class `c`: the whole content of every shard as one
    /// null-terminated chain.
    pub(crate) fn take_all(&self, c: usize) -> Chain {
        let mut all = Chain::EMPTY;
        for shard in &self.depot {
            let shelf = shard[c].with_shelf(|shelf| mem::replace(shelf, Shelf::EMPTY));
            // SAFETY: the shelf's content, taken out of the depot above, is ours alone: a
            // loose chain of `loose_count` blocks, and full batches of `batch(c)` blocks
            // linked through their first block's second word.
            unsafe {
                all = prepend(all, shelf.loose, shelf.loose_count);
                let mut batches = shelf.full;
                while !batches.is_null() {
                    let first = batches;
                    batches = next_batch(first);
                    all = prepend(all, first, batch(c));
                }
            }
        }
        all
    }

    /// The blocks the depot holds in class `c`.
    pub(crate) fn depot_count(&self, c: usize) -> usize {
        self.depot
            .iter()
            .map(|shard| {
                shard[c].with_shelf(|shelf| shelf.full_count * batch(c) + shelf.loose_count)
            })
            .sum()
    }

    /// Adds one to a counter (slow paths only).
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate alloc;

    use alloc::vec;
    use alloc::vec::Vec;

    /// `n` batches of class 0 (16-byte blocks) over `buffer`, each a null-terminated chain.
    fn batches(buffer: &mut [[u64; 2]], n: usize) -> Vec<*mut u8> {
        let blocks: Vec<*mut u8> = buffer
            .iter_mut()
            .map(|b| b.as_mut_ptr().cast::<u8>())
            .collect();
        blocks[..n * batch(0)]
            .chunks(batch(0))
            .map(|chunk| {
                for w in chunk.windows(2) {
                    // SAFETY: blocks of the test's buffer, not yet given to the depot.
                    unsafe { set_next(w[0], w[1]) };
                }
                // SAFETY: as above.
                unsafe { set_next(chunk[batch(0) - 1], ptr::null_mut()) };
                chunk[0]
            })
            .collect()
    }

    /// The blocks of a chain.
    fn blocks_of(chain: &Chain) -> Vec<*mut u8> {
        let mut blocks = Vec::new();
        let mut p = chain.head;
        while !p.is_null() {
            blocks.push(p);
            // SAFETY: a block of the test's buffer, linked by the depot.
            p = unsafe { next(p) };
        }
        assert_eq!(blocks.len(), chain.count, "the chain's count");
        blocks
    }

    #[test]
    fn the_limit_counts_the_batches_of_every_shard() {
        for limit in [0, 1, 3, SHARDS, SHARDS + 3] {
            let parts: usize = (0..SHARDS).map(|s| shard_limit(limit, s)).sum();
            assert_eq!(parts, limit);
            let core = Core::new(1);
            let mut buffer = vec![[0u64; 2]; (limit + 1) * batch(0)];
            let all = batches(&mut buffer, limit + 1);
            for (i, &b) in all.iter().enumerate() {
                // SAFETY: a batch of the buffer, given up if the depot takes it.
                let kept = unsafe { core.give_batch(0, b, limit) };
                assert_eq!(kept, i < limit, "batch {i} of limit {limit}");
            }
            assert_eq!(core.depot_count(0), limit * batch(0));
            let mut taken = Vec::new();
            for _ in 0..limit {
                let chain = core.take(0);
                assert_eq!(chain.count, batch(0));
                taken.push(chain.head);
            }
            assert_eq!(core.take(0).count, 0, "empty after {limit} batches");
            taken.sort();
            let mut given = all[..limit].to_vec();
            given.sort();
            assert_eq!(taken, given);
        }
    }

    #[test]
    fn a_refill_finds_batches_and_loose_blocks_in_any_shard() {
        let core = Core::new(1);
        let mut buffer = vec![[0u64; 2]; 2 * batch(0)];
        let all = batches(&mut buffer, 2);
        for shard in 0..SHARDS {
            // SAFETY: a batch of the buffer, given to one shard (then taken back below).
            assert!(unsafe { core.give_batch_to(shard, 0, all[0], 16) });
            let chain = core.take(0);
            assert_eq!((chain.head, chain.count), (all[0], batch(0)));
        }
        // Loose blocks (a thread's exit) and a batch, emptied as one chain.
        // SAFETY: the second batch's chain, given up.
        unsafe { core.give_loose(0, all[1], batch(0)) };
        // SAFETY: the first batch, given up.
        assert!(unsafe { core.give_batch_to(SHARDS - 1, 0, all[0], 16) });
        let mut every = blocks_of(&core.take_all(0));
        every.sort();
        let mut expected: Vec<*mut u8> = buffer
            .iter_mut()
            .map(|b| b.as_mut_ptr().cast::<u8>())
            .collect();
        expected.sort();
        assert_eq!(every, expected);
        assert_eq!(core.depot_count(0), 0);
        assert_eq!(core.take(0).count, 0);
    }
}
