//! The compat wrappers of alloc-core through the facade: a user-written allocator under
//! the collections ([`Api2`]), and other crates' allocators (bumpalo's `&Bump`,
//! allocator-api2's `Global`) as parents and parts of ours ([`FromApi02`], [`FromApi04`]).

use allocators::prelude::*;
use allocators::{
    AllocatorError, Api2, Block, Counters, FreeList, FromApi02, FromApi04, Heap, Scoped, api2_02,
    api2_04,
};
use core::alloc::Layout;
use core::cell::Cell;

/// A user-written allocator: the heap, counting live blocks, with no allocator-api2 impl.
#[derive(Default)]
struct Counting {
    live: Cell<usize>,
}

// SAFETY: every block comes from `Heap` and goes back to it.
unsafe impl Allocator for Counting {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = Heap.allocate_raw(layout)?;
        self.live.set(self.live.get() + 1);
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.set(self.live.get() - 1);
        // SAFETY: the caller gives back a block of ours, which `Heap` allocated.
        unsafe { Heap.deallocate_raw(block) }
    }
}

#[test]
fn a_user_allocator_serves_every_collection_through_api2() {
    let counting = Counting::default();
    {
        let mut v = api2_02::vec::Vec::new_in(Api2(&counting));
        v.extend(0..1000u32);
        let b = api2_04::boxed::Box::new_in([1u8; 10], Api2(&counting));
        let mut map = hashbrown::HashMap::new_in(Api2(&counting));
        map.insert("key", b[9]);
        assert_eq!((v.iter().sum::<u32>(), map["key"]), (499_500, 1));
        assert_eq!(counting.live.get(), 3);
    }
    assert_eq!(counting.live.get(), 0);
    // By value, and as the parent of one of ours.
    let arena = Scoped::new_in(1024, Counting::default()).unwrap();
    assert_eq!(arena.parent().live.get(), 1);
    let mut w = api2_02::vec::Vec::new_in(Api2(Counting::default()));
    w.push(1u8);
    assert_eq!(w.allocator().0.live.get(), 1);
}

#[test]
fn bumpalo_as_the_parent_of_our_allocators() {
    let bump = bumpalo::Bump::new();
    let arena = Scoped::new_in(4096, FromApi02(&bump)).unwrap();
    let pool = FreeList::new_in(64, 32, FromApi02(&bump)).unwrap();
    let in_arena = arena
        .allocate_str("in a Scoped inside a bumpalo arena")
        .unwrap();
    let in_pool = pool.allocate([9u64; 8]).unwrap();
    assert!(arena.owns(&in_arena) && pool.owns(&in_pool));
    assert_eq!((in_arena.len(), in_pool[7]), (34, 9));
    assert!(bump.allocated_bytes() >= 4096 + 64 * 32);
    // A pool spilling into the bumpalo arena, under a Vec.
    let chain = FreeList::new(128, 1)
        .unwrap()
        .with_fallback(FromApi02(&bump))
        .proxy(Counters::new());
    let mut v = api2_02::vec::Vec::new_in(&chain);
    v.extend(0..1000u64); // starts in the pool, moves into the arena
    assert_eq!(v.iter().sum::<u64>(), 499_500);
    assert_eq!(chain.inner().main().free_blocks(), 1);
}

#[test]
fn bumpalo_under_an_allocator_api2_04_collection() {
    // bumpalo implements only allocator-api2 0.2; the two wrappers carry it to 0.4.
    let bump = bumpalo::Bump::new();
    let mut v = api2_04::vec::Vec::new_in(Api2(FromApi02(&bump)));
    v.extend(0..100u16);
    v.shrink_to_fit();
    assert_eq!(v.iter().map(|&x| u32::from(x)).sum::<u32>(), 4950);
}

#[test]
fn allocator_api2_04_global_as_a_fallback() {
    let alloc = FreeList::new(32, 2)
        .unwrap()
        .with_fallback(FromApi04(api2_04::alloc::Global));
    let a = alloc.allocate(1u64).unwrap();
    let b = alloc.allocate([2u8; 100]).unwrap();
    assert!(alloc.main().owns(&a) && !alloc.main().owns(&b));
    let zero = alloc.allocate(()).unwrap();
    assert_eq!((*a, b[99], *zero), (1, 2, ()));
}

#[test]
fn the_wrappers_pass_the_conformance_kit() {
    let bump = bumpalo::Bump::new();
    let report = crate::kit(200).check(|| FromApi02(&bump));
    assert!(
        report.allocations > 0 && report.reallocations > 0,
        "{report:?}"
    );
    crate::kit(200).check(|| Api2(FromApi02(api2_02::alloc::Global)));
    crate::kit(200).check_owner(|| {
        Api2(FreeList::new(64, 8).unwrap()).with_fallback(Api2(Scoped::new(4096).unwrap()))
    });
}
