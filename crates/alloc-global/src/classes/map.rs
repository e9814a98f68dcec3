//! [`ChunkMap`]: which chunks belong to one `SizeClasses`, and of which class, found from
//! any address in O(1) without reading memory the allocator may not own.
//!
//! A radix tree over the granule number (`address >> 14`, 16 KiB granules): five levels of
//! 4,096 atomic pointers on 64-bit targets (50 bits of granule number, the root using four
//! entries), three levels of 256 on 32-bit targets. Every granule of a chunk (one for a
//! 16 KiB chunk, four for a 64 KiB one) has a leaf entry: the chunk pointer (with the
//! provenance of the parent's allocation) with the class index in its low bits (a chunk is
//! aligned to at least 16 KiB, so they are zero). Nodes are taken zeroed from the parent when first needed and given back
//! only when the map is dropped, so a lookup never meets a freed node: lookups and inserts
//! are lock-free (an insert that races with another for the same empty slot gives its
//! node back).

use core::alloc::Layout;
use core::ptr;
use core::sync::atomic::AtomicPtr;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Release};

use alloc_core::{Allocator, AllocatorError, Block};

use super::table::{GRANULE, MAP_SHIFT};

#[cfg(all(target_pointer_width = "64", not(miri)))]
const LEVEL_BITS: u32 = 12;
#[cfg(all(not(target_pointer_width = "64"), not(miri)))]
const LEVEL_BITS: u32 = 8;
/// Under Miri, small nodes (64 entries, more levels): the same code, without zeroing and
/// walking 32 KiB nodes in the interpreter for every instance.
#[cfg(miri)]
const LEVEL_BITS: u32 = 6;
/// Entries per node.
const FANOUT: usize = 1 << LEVEL_BITS;
/// Levels, the root's included: together they cover every bit of a granule number.
const LEVELS: u32 = (usize::BITS - MAP_SHIFT).div_ceil(LEVEL_BITS);
/// One node: `FANOUT` atomic pointers, all null when the parent hands it out zeroed.
const NODE: Layout = Layout::new::<[AtomicPtr<u8>; FANOUT]>();

/// The chunk map (see the module docs). `const`-constructible: the root node is taken
/// from the parent on the first insert.
pub(crate) struct ChunkMap {
    root: AtomicPtr<u8>,
}

impl ChunkMap {
    pub(crate) const fn new() -> Self {
        Self {
            root: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The slot of granule number `key` at `level` (0 = root) in `node`.
    ///
    /// # Safety
    ///
    /// `node` is a live node of this map.
    #[inline]
    unsafe fn slot<'a>(node: *mut u8, key: usize, level: u32) -> &'a AtomicPtr<u8> {
        let shift = (LEVELS - 1 - level) * LEVEL_BITS;
        let index = (key >> shift) & (FANOUT - 1);
        // SAFETY: `node` is a live node (caller) of `FANOUT` initialised (zeroed, then only
        // changed atomically) `AtomicPtr`s, and `index < FANOUT`; nodes live until the map
        // is dropped, which needs `&mut self`, so not during any `&self` use.
        unsafe { &*node.cast::<AtomicPtr<u8>>().add(index) }
    }

    /// The leaf entry for the chunk containing `addr`: null if it is not one of ours.
    #[inline]
    pub(crate) fn get(&self, addr: usize) -> *mut u8 {
        let key = addr >> MAP_SHIFT;
        let mut node = self.root.load(Acquire);
        let mut level = 0;
        while !node.is_null() {
            // SAFETY: `node` was loaded from the root or from a slot of a live node, and
            // nodes are freed only when the map is dropped.
            let slot = unsafe { Self::slot(node, key, level) };
            let next = slot.load(Acquire);
            if level + 1 == LEVELS {
                return next;
            }
            node = next;
            level += 1;
        }
        ptr::null_mut()
    }

    /// Records `entry` (a chunk pointer with its class in the low bits) for the granule at
    /// `addr`, taking missing nodes from `parent`. Calls the parent with no lock held and nothing of the map
    /// borrowed in a way a re-entrant call could invalidate (nodes are never moved or freed
    /// while the map is shared).
    ///
    /// # Errors
    ///
    /// The parent's error if it refuses a node; the map is unchanged apart from nodes
    /// already added (they stay, empty, until drop).
    pub(crate) fn insert<P: Allocator>(
        &self,
        parent: &P,
        addr: usize,
        entry: *mut u8,
    ) -> Result<(), AllocatorError> {
        let key = addr >> MAP_SHIFT;
        let mut slot = &self.root;
        for level in 0..LEVELS {
            // Make sure the node below `slot` exists.
            let mut node = slot.load(Acquire);
            if node.is_null() {
                let fresh = parent.allocate_zeroed_raw(NODE)?.ptr().as_ptr();
                match slot.compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
                    Ok(_) => node = fresh,
                    Err(winner) => {
                        // SAFETY: `fresh` was allocated just above with `NODE` and never
                        // published.
                        unsafe { parent.deallocate_raw(node_block(fresh)) };
                        node = winner;
                    }
                }
            }
            // SAFETY: `node` is a live node of this map (just published or loaded).
            slot = unsafe { Self::slot(node, key, level) };
        }
        // `slot` is the leaf slot now.
        debug_assert!(slot.load(Acquire).is_null(), "granule recorded twice");
        slot.store(entry, Release);
        Ok(())
    }

    /// Forgets the granule at `addr` (which must be recorded).
    pub(crate) fn remove(&self, addr: usize) {
        let key = addr >> MAP_SHIFT;
        let mut node = self.root.load(Acquire);
        for level in 0..LEVELS {
            debug_assert!(!node.is_null(), "removing a chunk that is not recorded");
            // SAFETY: `node` is a live node of this map (the chunk is recorded, so every
            // node on its path exists).
            let slot = unsafe { Self::slot(node, key, level) };
            if level + 1 == LEVELS {
                slot.store(ptr::null_mut(), Release);
            } else {
                node = slot.load(Acquire);
            }
        }
    }

    /// Calls `chunk` with the address of every recorded granule and its entry, then gives
    /// every node back to `parent`.
    ///
    /// # Safety
    ///
    /// The nodes were allocated by `parent`; the map is not used afterwards.
    pub(crate) unsafe fn drain<P: Allocator>(
        &mut self,
        parent: &P,
        chunk: &mut dyn FnMut(usize, *mut u8),
    ) {
        let root = *self.root.get_mut();
        if !root.is_null() {
            // SAFETY: forwarded.
            unsafe { drain_node(root, 0, 0, parent, chunk) };
        }
        *self.root.get_mut() = ptr::null_mut();
    }
}

/// The block of a node, for giving it back.
fn node_block(node: *mut u8) -> Block {
    let node = ptr::NonNull::new(node).expect("nodes are the parent's non-null blocks");
    Block::from_raw_parts(node, NODE)
}

/// # Safety
///
/// As [`ChunkMap::drain`]; `node` is a node at `level`, used by nobody else, reached
/// through the granule-number bits `prefix`.
unsafe fn drain_node<P: Allocator>(
    node: *mut u8,
    level: u32,
    prefix: usize,
    parent: &P,
    chunk: &mut dyn FnMut(usize, *mut u8),
) {
    for index in 0..FANOUT {
        // SAFETY: `node` is a live node and `index < FANOUT`.
        let entry = unsafe { &*node.cast::<AtomicPtr<u8>>().add(index) }.load(Acquire);
        if entry.is_null() {
            continue;
        }
        let key = (prefix << LEVEL_BITS) | index;
        if level + 1 == LEVELS {
            chunk(key << MAP_SHIFT, entry);
        } else {
            // SAFETY: a child node, used by nobody else.
            unsafe { drain_node(entry, level + 1, key, parent, chunk) };
        }
    }
    // SAFETY: the node was allocated by `parent` with `NODE` (caller) and is not used
    // again.
    unsafe { parent.deallocate_raw(node_block(node)) };
}

const _: () = assert!(GRANULE == 1 << MAP_SHIFT);
