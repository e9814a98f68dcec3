//! allocator-api2's `Box` (and `Vec`) over every building block: small and large values,
//! slices, values with destructors, boxes dropped in and out of order.
//!
//! A `Box` gives back a pointer narrowed to its value (`Box::into_raw` goes through a
//! reference), and some blocks legitimately touch the bytes around the value through that
//! pointer when it comes back, because they cannot know a wider pointer to the memory:
//! `Affix` reads its prefix in front of it and gives the inner block back, `Quantizer`
//! gives the whole rounded block to its inner allocator, `ThreadCache` (and so
//! `GeneralPurpose`) writes its cache link into a class block larger than a one-byte
//! value. Stacked Borrows (Miri's default model) reports those accesses; Tree Borrows, the
//! aliasing model proposed for Rust, allows them, as it allows every allocator that keeps
//! a header in front of its blocks. (Blocks that own their memory re-derive the pointer
//! from it and pass under both: `Tlsf` from its region, `FreeList`, `Bitmapped`, the
//! arenas, `Guard`.) So under Miri these tests run with Tree Borrows: `cargo xtask miri`
//! runs them in a second pass with `-Zmiri-tree-borrows` and skips them in the Stacked
//! Borrows pass (their names start with `tree_borrows_`); everything else in the workspace
//! runs under Stacked Borrows. Natively they are plain tests.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use allocators::api2_04::{boxed::Box, vec::Vec};
use allocators::{
    Affix, AllocatorList, Bitmapped, FreeList, GeneralPurpose, Guard, Heap, Locked, Quantizer,
    Scoped, SharedArena, SharedFreeList, SizeClasses, SyncFreeList, ThreadCache, Tlsf,
};
use std::cell::Cell;
use std::rc::Rc;

/// Boxes and vectors of several shapes over `a`, each value checked, dropped in an order
/// that is neither first-in-first-out nor last-in-first-out.
fn boxes<A: allocators::api2_04::alloc::Allocator>(a: &A) {
    let drops = Rc::new(Cell::new(0));
    struct Counted(Rc<Cell<u32>>, u64);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    {
        let byte = Box::new_in(7u8, a);
        let bytes = Box::new_in([3u8; 24], a);
        let word = Box::new_in(0xfeed_u64, a);
        let counted = Box::new_in(Counted(drops.clone(), 5), a);
        let string = Box::new_in(String::from("on the allocator"), a);
        let mut v = Vec::new_in(a);
        v.extend(0u32..40); // grows (reallocates) a few times
        let slice = v.clone().into_boxed_slice();
        assert_eq!(
            (*byte, bytes[23], *word, counted.1, string.as_str()),
            (7, 3, 0xfeed, 5, "on the allocator")
        );
        assert_eq!(slice.iter().sum::<u32>(), (0..40).sum());
        drop(word);
        drop(byte);
        drop(slice);
        drop(counted);
        drop(v);
        drop(string);
        drop(bytes);
    }
    assert_eq!(drops.get(), 1, "the boxed value's destructor ran once");
}

#[test]
fn tree_borrows_heap() {
    boxes(&Heap);
}

#[test]
fn tree_borrows_freelist() {
    boxes(&allocators::Fallback::new(
        FreeList::new(64, 16).unwrap(),
        Heap,
    ));
}

#[test]
fn tree_borrows_sync_freelist_and_locked() {
    boxes(&allocators::Fallback::new(
        SyncFreeList::new(64, 16).unwrap(),
        Heap,
    ));
    boxes(&allocators::Fallback::new(
        Locked::new(FreeList::new(64, 16).unwrap()),
        Heap,
    ));
}

#[test]
fn tree_borrows_scoped_arenas() {
    boxes(&Scoped::new(4096).unwrap());
    boxes(&Scoped::growable(64).unwrap());
    boxes(&SharedArena::new(0));
}

#[test]
fn tree_borrows_affix() {
    boxes(&Affix::<_, u64>::new(Heap));
    boxes(&Affix::<_, (), u32>::new(Heap));
    boxes(&Affix::<_, u64, u16>::new(FreeList::new(256, 16).unwrap()));
}

#[test]
fn tree_borrows_quantizer() {
    boxes(&Quantizer::new(Heap));
}

#[test]
fn tree_borrows_bitmapped() {
    boxes(&Bitmapped::new(64, 64).unwrap());
}

#[test]
fn tree_borrows_tlsf() {
    boxes(&Tlsf::new_in(Heap, 4096).unwrap());
}

#[test]
fn tree_borrows_guard() {
    boxes(&Guard::new(Heap));
}

#[test]
fn tree_borrows_allocator_list() {
    boxes(&allocators::Fallback::new(
        AllocatorList::new(|| Scoped::new(1024)),
        Heap,
    ));
}

#[test]
fn tree_borrows_shared_freelist() {
    boxes(&allocators::Fallback::new(
        SharedFreeList::new(64, 16).unwrap(),
        Heap,
    ));
}

#[test]
fn tree_borrows_size_classes() {
    boxes(&SizeClasses::new());
}

#[test]
fn tree_borrows_thread_cache() {
    boxes(&ThreadCache::new(Heap));
}

#[test]
fn tree_borrows_general_purpose() {
    boxes(&GeneralPurpose::new());
}

#[cfg(all(feature = "pages", any(unix, windows)))]
#[test]
fn tree_borrows_pages() {
    boxes(&allocators::Pages);
    boxes(&allocators::Protected::new());
}

#[cfg(all(feature = "pages", any(unix, windows)))]
#[test]
fn tree_borrows_recycler() {
    let recycler = allocators::Recycler::new(allocators::Pages, 8);
    boxes(&recycler);
    assert!(recycler.kept_blocks() > 0, "the boxes' blocks were kept");
    // Again: now served from the kept blocks.
    boxes(&recycler);
    boxes(&allocators::Recycler::with_limits(Heap, 2, 256));
}
