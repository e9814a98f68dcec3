//! `SizeClasses` through the conformance kit (normal and re-entrancy modes), its batch
//! interface, hysteresis, a parent that refuses, and bad input (foreign blocks, blocks of
//! another instance, double frees), after which it stays usable and leaks nothing.

use alloc_core::testing::{Conformance, Reentry, panic_message};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use alloc_global::SizeClasses;
use core::alloc::Layout;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::alloc::System;

/// The system allocator, counting live bytes and their peak, refusing beyond a limit.
#[derive(Debug, Default)]
pub(crate) struct Metered {
    pub(crate) live: AtomicUsize,
    pub(crate) peak: AtomicUsize,
    pub(crate) calls: AtomicUsize,
    /// Bytes the parent agrees to hand out at most (0: no limit).
    pub(crate) limit: AtomicUsize,
}

impl Metered {
    pub(crate) const fn new() -> Self {
        Self {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            limit: AtomicUsize::new(0),
        }
    }
}

// SAFETY: forwards to `System` and only counts.
unsafe impl Allocator for Metered {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let limit = self.limit.load(Relaxed);
        if limit != 0 && self.live.load(Relaxed) + layout.size() > limit {
            return Err(AllocatorError::OutOfMemory);
        }
        let block = System.allocate_raw(layout)?;
        let live = self.live.fetch_add(block.size(), Relaxed) + block.size();
        self.peak.fetch_max(live, Relaxed);
        self.calls.fetch_add(1, Relaxed);
        Ok(block)
    }
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = self.allocate_raw(layout)?;
        // SAFETY: just allocated, `size()` bytes.
        unsafe { block.as_ptr().write_bytes(0, block.size()) };
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.fetch_sub(block.size(), Relaxed);
        // SAFETY: a block of `System` (caller).
        unsafe { System.deallocate_raw(block) }
    }
}

#[test]
fn conformance() {
    let report = Conformance::new().check_owner(SizeClasses::new);
    assert!(report.allocations > 0 && report.reallocations > 0);
}

/// Chunks come and go on every sequence: every empty chunk is given back at once.
#[test]
fn conformance_giving_every_empty_chunk_back() {
    let metered = Metered::new();
    Conformance::new()
        .tests(if cfg!(miri) { 10 } else { 3_000 })
        .check_owner(|| SizeClasses::new_in(&metered).with_max_empty_chunks(0));
    assert_eq!(metered.live.load(Relaxed), 0, "chunks or map nodes leaked");
}

/// Hostile code runs inside every call to the parent (chunks and map nodes).
#[test]
fn conformance_reentrant() {
    let report = Conformance::new().check_owner_reentrant(|r: &Reentry| {
        SizeClasses::new_in(r.wrap(System)).with_max_empty_chunks(0)
    });
    assert!(report.reentrant > 0, "hostile code never ran");
}

#[test]
fn conformance_reentrant_keeping_chunks() {
    Conformance::new()
        .tests(if cfg!(miri) { 8 } else { 2_000 })
        .check_owner_reentrant(|r: &Reentry| SizeClasses::new_in(r.wrap(Heap)));
}

#[test]
fn large_and_over_aligned_requests_are_refused_not_spilled() {
    let metered = Metered::new();
    let classes = SizeClasses::new_in(&metered);
    let err = classes.allocate_raw(Layout::from_size_align(4097, 8).unwrap());
    assert_eq!(err, Err(AllocatorError::TooLarge));
    let err = classes.allocate_raw(Layout::from_size_align(64, 8192).unwrap());
    assert_eq!(err, Err(AllocatorError::UnsupportedAlignment));
    assert_eq!(
        metered.calls.load(Relaxed),
        0,
        "nothing was asked of the parent"
    );
    // The largest request and alignment served.
    let b = classes
        .allocate_raw(Layout::from_size_align(4096, 4096).unwrap())
        .unwrap();
    assert_eq!((b.size(), b.addr() % 4096), (4096, 0));
    // SAFETY: allocated above.
    unsafe { classes.deallocate_raw(b) };
}

#[test]
fn a_block_gets_the_smallest_class_that_fits() {
    let classes = SizeClasses::new();
    for (size, align, class) in [
        (1, 1, 8),
        (24, 8, 24),
        (33, 1, 48),
        (65, 64, 128),
        (8, 256, 256),
    ] {
        let b = classes
            .allocate_raw(Layout::from_size_align(size, align).unwrap())
            .unwrap();
        assert_eq!(b.size(), class, "size {size} align {align}");
        assert_eq!(b.addr() % align, 0);
        // SAFETY: allocated above.
        unsafe { classes.deallocate_raw(b) };
    }
}

/// A class grows past one chunk (no "full" class), and gives chunks back beyond the kept
/// ones when they empty.
#[test]
fn classes_grow_and_shrink_with_hysteresis() {
    let metered = Metered::new();
    let classes = SizeClasses::new_in(&metered).with_max_empty_chunks(2);
    let layout = Layout::from_size_align(4096, 8).unwrap();
    // 15 blocks of 4 KiB per chunk: 100 blocks need 7 chunks.
    let blocks: Vec<Block> = (0..100)
        .map(|_| classes.allocate_raw(layout).unwrap())
        .collect();
    assert_eq!(classes.chunks(), 7);
    for b in &blocks {
        // SAFETY: allocated above, freed once.
        unsafe { classes.deallocate_raw(*b) };
    }
    assert_eq!(
        classes.chunks(),
        2,
        "two empty chunks kept, the others given back"
    );
    let calls = metered.calls.load(Relaxed);
    // Refilling the kept chunks asks nothing of the parent.
    let again: Vec<Block> = (0..30)
        .map(|_| classes.allocate_raw(layout).unwrap())
        .collect();
    assert_eq!(metered.calls.load(Relaxed), calls);
    for b in again {
        // SAFETY: allocated above, freed once.
        unsafe { classes.deallocate_raw(b) };
    }
    drop(classes);
    assert_eq!(metered.live.load(Relaxed), 0, "chunks or map nodes leaked");
}

#[test]
fn batches_move_many_blocks_at_once() {
    let metered = Metered::new();
    let classes = SizeClasses::new_in(&metered);
    let layout = Layout::new::<[u64; 2]>();
    let mut magazine = [Block::empty(layout); 64];
    let mut all = Vec::new();
    for _ in 0..if cfg!(miri) { 5 } else { 300 } {
        let n = classes.allocate_batch(layout, &mut magazine).unwrap();
        assert!(n >= 1);
        all.extend_from_slice(&magazine[..n]);
    }
    let mut addresses: Vec<usize> = all.iter().map(Block::addr).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), all.len(), "a block was handed out twice");
    assert!(all.iter().all(|b| classes.owns_block(b) && b.size() == 16));
    // Mixed classes and empty blocks in one batch.
    let other = classes.allocate_raw(Layout::new::<[u8; 100]>()).unwrap();
    all.insert(all.len() / 2, other);
    all.insert(3, Block::empty(layout));
    // SAFETY: every block was allocated above, each given back once.
    unsafe { classes.deallocate_batch(&all) };
    assert_eq!(classes.allocate_batch(layout, &mut []), Ok(0));
    assert_eq!(
        classes.allocate_batch(Layout::from_size_align(8192, 8).unwrap(), &mut magazine),
        Err(AllocatorError::TooLarge)
    );
    drop(classes);
    assert_eq!(metered.live.load(Relaxed), 0);
}

/// A parent that refuses: the request fails with its error, nothing leaks, blocks already
/// free are still served, and the allocator grows again once the parent agrees.
#[test]
fn a_parent_that_refuses() {
    let metered = Metered::new();
    // Room for the chunk map's first nodes (five of 32 KiB) and a few 64 KiB chunks.
    metered.limit.store(400 * 1024, Relaxed);
    let classes = SizeClasses::new_in(&metered).with_max_empty_chunks(0);
    let layout = Layout::new::<[u8; 2048]>();
    let mut blocks = Vec::new();
    let err = loop {
        match classes.allocate_raw(layout) {
            Ok(b) => blocks.push(b),
            Err(e) => break e,
        }
    };
    assert_eq!(err, AllocatorError::OutOfMemory);
    assert!(!blocks.is_empty());
    let mut magazine = [Block::empty(layout); 8];
    assert_eq!(
        classes.allocate_batch(layout, &mut magazine),
        Err(AllocatorError::OutOfMemory)
    );
    // Other classes cannot grow either, but blocks already free are served.
    let b = blocks.pop().unwrap();
    // SAFETY: allocated above.
    unsafe { classes.deallocate_raw(b) };
    let again = classes.allocate_raw(layout).unwrap();
    blocks.push(again);
    for b in blocks {
        // SAFETY: allocated above, freed once.
        unsafe { classes.deallocate_raw(b) };
    }
    assert_eq!(classes.chunks(), 0);
    // The parent recovers (a new chunk may need new map nodes too, wherever it lies).
    metered.limit.store(0, Relaxed);
    let served = classes.allocate_raw(layout).unwrap();
    // SAFETY: allocated above.
    unsafe { classes.deallocate_raw(served) };
    drop(classes);
    assert_eq!(metered.live.load(Relaxed), 0, "nothing leaked");
}

#[test]
fn foreign_blocks_panic_and_the_allocator_stays_usable() {
    let metered = Metered::new();
    let classes = SizeClasses::new_in(&metered);
    let other = SizeClasses::new();
    let layout = Layout::new::<[u64; 4]>();
    let mine = classes.allocate_raw(layout).unwrap();
    let theirs = other.allocate_raw(layout).unwrap();
    let system = System.allocate_raw(layout).unwrap();
    // One byte into a block: inside a chunk, off a block boundary.
    // SAFETY: inside the 32-byte block.
    let inside = Block::from_raw_parts(unsafe { mine.ptr().add(8) }, Layout::new::<u8>());
    // The right address, a size larger than the class.
    let larger = Block::from_raw_parts(mine.ptr(), Layout::new::<[u8; 33]>());
    for bad in [theirs, system, inside, larger] {
        assert!(!classes.owns_block(&bad));
        // SAFETY: deliberately wrong; detected before anything changes.
        let msg = panic_message(|| unsafe { classes.deallocate_raw(bad) });
        assert!(
            msg.contains("SizeClasses: deallocated a block this instance does not own"),
            "{msg}"
        );
        // SAFETY: as above.
        let msg = panic_message(|| unsafe {
            let _ = classes.reallocate_raw(bad, Layout::new::<u8>());
        });
        assert!(msg.contains("does not own"), "{msg}");
        // SAFETY: as above.
        let msg = panic_message(|| unsafe { classes.deallocate_batch(&[bad]) });
        assert!(msg.contains("does not own"), "{msg}");
    }
    assert!(classes.owns_block(&mine));
    // SAFETY: each allocated above by its allocator, freed once.
    unsafe {
        classes.deallocate_raw(mine);
        other.deallocate_raw(theirs);
        System.deallocate_raw(system);
    }
    let again = classes.allocate_raw(layout).unwrap();
    // SAFETY: allocated above.
    unsafe { classes.deallocate_raw(again) };
    drop(classes);
    assert_eq!(metered.live.load(Relaxed), 0);
}

#[test]
fn double_frees_panic_and_the_allocator_stays_usable() {
    let metered = Metered::new();
    let classes = SizeClasses::new_in(&metered);
    let layout = Layout::new::<u64>();
    let a = classes.allocate_raw(layout).unwrap();
    let b = classes.allocate_raw(layout).unwrap();
    // SAFETY: allocated above, freed once here.
    unsafe { classes.deallocate_raw(a) };
    // SAFETY: deliberately a double free, detected before anything changes.
    let msg = panic_message(|| unsafe { classes.deallocate_raw(a) });
    assert!(msg.contains("SizeClasses: double free"), "{msg}");
    // SAFETY: as above.
    let msg = panic_message(|| unsafe {
        let _ = classes.reallocate_raw(a, Layout::new::<u32>());
    });
    assert!(msg.contains("double free"), "{msg}");
    // In a batch: the blocks before it are freed.
    let c = classes.allocate_raw(layout).unwrap();
    // SAFETY: `c` once, then `a` again (deliberately).
    let msg = panic_message(|| unsafe { classes.deallocate_batch(&[c, a]) });
    assert!(msg.contains("double free"), "{msg}");
    // The class still hands out each block once.
    let blocks: Vec<Block> = (0..3)
        .map(|_| classes.allocate_raw(layout).unwrap())
        .collect();
    let mut addresses: Vec<usize> = blocks.iter().chain([&b]).map(Block::addr).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), 4);
    // SAFETY: allocated above, each freed once.
    unsafe { classes.deallocate_batch(&blocks) };
    // SAFETY: allocated above.
    unsafe { classes.deallocate_raw(b) };
    drop(classes);
    assert_eq!(metered.live.load(Relaxed), 0);
}

static_assertions::assert_impl_all!(SizeClasses: Send, Sync, Default);
