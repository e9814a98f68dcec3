//! The facade's surface: every leaf's items at the root, the prelude, and the
//! allocator-api2 crates, each coming from the crate that defines it.

use core::any::type_name;

/// The crate `T` is defined in, from its type name.
fn home<T: ?Sized>() -> &'static str {
    type_name::<T>().split("::").next().unwrap()
}

#[test]
fn every_leaf_is_re_exported_at_the_root() {
    use allocators as a;
    assert_eq!(home::<a::Block>(), "alloc_core");
    assert_eq!(home::<a::AllocBox<'static, u8, a::Heap>>(), "alloc_core");
    assert_eq!(home::<a::AllocatorError>(), "alloc_core");
    assert_eq!(home::<a::InitError>(), "alloc_core");
    assert_eq!(home::<a::Heap>(), "alloc_core");
    assert_eq!(home::<a::Api2<a::Heap>>(), "alloc_core");
    assert_eq!(home::<a::FromApi02<a::Heap>>(), "alloc_core");
    assert_eq!(home::<a::FromApi03<a::Heap>>(), "alloc_core");
    assert_eq!(home::<a::FromApi04<a::Heap>>(), "alloc_core");
    assert_eq!(home::<a::Scoped>(), "alloc_scoped");
    assert_eq!(home::<a::Scope<'static>>(), "alloc_scoped");
    assert_eq!(home::<a::Buffer<'static>>(), "alloc_scoped");
    assert_eq!(home::<a::FreeList>(), "alloc_freelist");
    assert_eq!(home::<a::SyncFreeList>(), "alloc_freelist");
    assert_eq!(home::<a::Null>(), "alloc_compose");
    assert_eq!(home::<a::Fallback<a::Null, a::Heap>>(), "alloc_compose");
    assert_eq!(home::<a::Proxy<a::Heap, a::NoLog>>(), "alloc_compose");
    assert_eq!(home::<a::Counters>(), "alloc_compose");
    assert_eq!(home::<a::AtomicCounters>(), "alloc_compose");
    assert_eq!(home::<a::Counts>(), "alloc_compose");
    assert_eq!(home::<a::Trace>(), "alloc_compose");
    assert_eq!(home::<a::Event>(), "alloc_compose");
    assert_eq!(home::<a::FnLogger<fn(&a::Event)>>(), "alloc_compose");
    assert_eq!(
        home::<a::Segregator<64, a::Null, a::Heap>>(),
        "alloc_compose"
    );
    assert_eq!(home::<a::Bucketizer<a::Null, 2>>(), "alloc_compose");
    assert_eq!(
        home::<a::AllocatorList<fn() -> Result<a::Null, a::InitError>>>(),
        "alloc_compose"
    );
    assert_eq!(home::<a::Guard<a::Null>>(), "alloc_compose");
    assert_eq!(home::<a::Stats>(), "alloc_compose");
    assert_eq!(home::<a::StatsSummary>(), "alloc_compose");
    assert_eq!(
        home::<dyn a::AllocatorFactory<Output = a::Null>>(),
        "dyn alloc_compose"
    );
    assert_eq!(home::<a::Locked<a::Heap>>(), "alloc_global");
    assert_eq!(home::<a::GlobalAllocator<a::Heap>>(), "alloc_global");
    assert_eq!(home::<a::SpinLock>(), "alloc_core");
    assert_eq!(home::<a::FromGlobalAlloc<'_, a::Heap>>(), "alloc_core");
    assert_eq!(home::<a::StdMutex>(), "alloc_global");
    assert_eq!(home::<a::testing::Conformance>(), "alloc_core");
    // Functions and constants too.
    assert_eq!(a::MAX_ALIGN, 4096);
    let region = a::region_layout(core::alloc::Layout::new::<[u64; 2]>(), 4).unwrap();
    assert!(region.size() >= 64);
    let _move_block: unsafe fn(&a::Heap, &a::Heap, a::Block, core::alloc::Layout) -> _ =
        a::move_block::<a::Heap, a::Heap>;
}

#[test]
fn the_prelude_brings_the_traits() {
    use allocators::prelude::*;
    use allocators::{Counters, Heap, Null};

    /// A logger of our own, through the prelude's `ProxyLogger`.
    struct Silent;
    impl ProxyLogger for Silent {
        fn log(&self, _event: &allocators::Event) {}
    }
    let alloc = Null
        .with_fallback(Heap)
        .proxy(Counters::new())
        .proxy(Silent);
    let b = alloc.allocate(3u8).unwrap();
    assert!(!alloc.inner().inner().main().owns(&b));
    assert_eq!(alloc.inner().logger().counts().allocations, 1);
}

#[test]
fn the_allocator_api2_crates_are_the_ones_collections_use() {
    // hashbrown uses allocator-api2 0.2: `allocators::api2_02` is that crate, so its
    // `Global` serves hashbrown, and our allocators serve both.
    let mut map = hashbrown::HashMap::new_in(allocators::api2_02::alloc::Global);
    map.insert(1, 1);
    let v = allocators::api2_04::vec::Vec::<u8, _>::new_in(allocators::Heap);
    assert_eq!((map.len(), v.len()), (1, 0));
}

#[test]
fn allocator_api2_03_serves_every_allocator_as_the_others_do() {
    use allocators::prelude::*;
    use allocators::{FreeList, FromApi03, Heap, Scoped, api2_03};

    let arena = Scoped::new(1024).unwrap();
    let mut v = api2_03::vec::Vec::new_in(&arena);
    v.extend(0u32..10);
    let pool = FreeList::new(64, 2).unwrap().with_fallback(Heap);
    let b = api2_03::boxed::Box::new_in([9u8; 100], &pool); // past the block: the heap
    assert_eq!((v.iter().sum::<u32>(), b[99]), (45, 9));
    assert!(arena.used() >= 40);
    // And the other way: allocator-api2 0.3's `Global` as the parent of a free list.
    let child = FreeList::new_in(16, 4, FromApi03(api2_03::alloc::Global)).unwrap();
    assert_eq!(*child.allocate(5u16).unwrap(), 5);
}

/// Each leaf re-exports the vocabulary and the allocator-api2 crates: the same items as
/// alloc-core's (so the facade's glob re-exports of every leaf agree).
#[test]
fn the_leaves_re_export_the_same_vocabulary() {
    assert_eq!(
        type_name::<alloc_freelist::AllocatorError>(),
        type_name::<allocators::AllocatorError>()
    );
    let v = alloc_scoped::api2_02::vec::Vec::<u8, allocators::Heap>::new_in(allocators::Heap);
    let w: allocators::api2_02::vec::Vec<u8, allocators::Heap> = v; // the same type
    assert!(w.is_empty());
}
