//! The bad-input matrix of `docs/bad-input.md`: one test per row, named after the row, each
//! checking every allocator of the table. Every answer is a clear error or a panic with a
//! message naming the problem, and the allocator stays usable afterwards.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use alloc_core::testing::panic_message;
use allocators::AllocatorError::{
    self, Busy, OutOfMemory, SizeOverflow, TooLarge, UnsupportedAlignment,
};
use allocators::{
    Allocator, AllocatorList, Block, Bucketizer, Buffer, Counters, Event, Fallback, FnLogger,
    FreeList, GlobalAllocator, Guard, Heap, Locked, Null, Proxy, Scoped, Segregator, SyncFreeList,
};
use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;

/// One allocator of the table, with what it answers and how to see it is idle (holds no
/// block).
struct Subject<'a> {
    name: &'static str,
    alloc: &'a dyn Allocator,
    /// True when no block is allocated (`None`: the allocator cannot say, e.g. `Heap`).
    idle: Option<&'a dyn Fn() -> bool>,
    /// The error for a request larger than the allocator can ever serve.
    too_large: AllocatorError,
    /// The answer to 8 bytes aligned to 8 KiB: `None` if served.
    over_aligned: Option<AllocatorError>,
    /// The substring of the panic message for a foreign block (`None`: not detected).
    foreign: Option<&'static str>,
}

const POOL_BLOCK: usize = 64;
const POOL_COUNT: usize = 8;
const BUMP: usize = 4096;

fn pool() -> FreeList {
    FreeList::new(POOL_BLOCK, POOL_COUNT).unwrap()
}

/// Calls `f` on every allocator of the table, each fresh.
fn each_subject(mut f: impl FnMut(&Subject<'_>)) {
    let heap = Heap;
    f(&Subject {
        name: "Heap",
        alloc: &heap,
        idle: None,
        too_large: OutOfMemory,
        over_aligned: None,
        foreign: None,
    });

    let scoped = Scoped::new(BUMP).unwrap();
    f(&Subject {
        name: "Scoped",
        alloc: &scoped,
        idle: Some(&|| scoped.used() == 0),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("not currently allocated by this allocator"),
    });

    let parent = Scoped::new(2 * BUMP).unwrap();
    // The parent holds a block across the scope.
    let held = parent.allocate_raw(Layout::new::<u64>()).unwrap();
    parent
        .scope(|scope| {
            f(&Subject {
                name: "Scope",
                alloc: scope,
                idle: Some(&|| scope.used() == 0),
                too_large: TooLarge,
                over_aligned: Some(UnsupportedAlignment),
                foreign: Some("not currently allocated by this allocator"),
            });
        })
        .unwrap();
    assert_eq!(parent.used(), 8, "the scope's memory is reclaimed");
    // SAFETY: allocated above, not used since.
    unsafe { parent.deallocate_raw(held) };

    let mut memory = [MaybeUninit::<u8>::uninit(); 256];
    let buffer = Buffer::new(&mut memory);
    f(&Subject {
        name: "Buffer",
        alloc: &buffer,
        idle: Some(&|| {
            buffer.allocate_raw(Layout::new::<u8>()).is_ok_and(|b| {
                // SAFETY: just allocated.
                unsafe { buffer.deallocate_raw(b) };
                true
            })
        }),
        too_large: TooLarge,
        // Alignments the lent memory cannot offer: no aligned start inside 256 bytes.
        over_aligned: Some(TooLarge),
        foreign: Some("not the block this buffer handed out"),
    });

    let list = pool();
    f(&Subject {
        name: "FreeList",
        alloc: &list,
        idle: Some(&|| list.free_blocks() == POOL_COUNT),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("FreeList: deallocated a block this free list does not own"),
    });

    let sync = SyncFreeList::new(POOL_BLOCK, POOL_COUNT).unwrap();
    f(&Subject {
        name: "SyncFreeList",
        alloc: &sync,
        idle: Some(&|| sync.free_blocks() == POOL_COUNT),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("SyncFreeList: deallocated a block this free list does not own"),
    });

    f(&Subject {
        name: "Null",
        alloc: &Null,
        idle: Some(&|| true),
        too_large: OutOfMemory,
        over_aligned: Some(OutOfMemory),
        foreign: Some("Null never allocates a non-empty block"),
    });

    // Over-large and over-aligned requests spill over to the bump allocator, which
    // refuses them too; its error is the more informative one.
    let fallback = Fallback::new(pool(), Scoped::new(BUMP).unwrap());
    f(&Subject {
        name: "Fallback<FreeList, Scoped>",
        alloc: &fallback,
        idle: Some(&|| {
            fallback.main().free_blocks() == POOL_COUNT && fallback.fallback().used() == 0
        }),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("not currently allocated by this allocator"),
    });

    let proxy = Proxy::new(pool(), Counters::new());
    f(&Subject {
        name: "Proxy<FreeList, Counters>",
        alloc: &proxy,
        idle: Some(&|| {
            proxy.inner().free_blocks() == POOL_COUNT && proxy.logger().counts().bytes_live == 0
        }),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("FreeList: deallocated a block this free list does not own"),
    });

    let locked = Locked::new(pool());
    let locked_ref = &locked;
    f(&Subject {
        name: "Locked<FreeList>",
        alloc: &locked,
        idle: Some(&|| {
            // `Locked` hands out `&A` only through the allocator interface: count what a
            // full drain gets.
            drain_count(locked_ref) == POOL_COUNT
        }),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("FreeList: deallocated a block this free list does not own"),
    });

    // Up to 64 bytes to a free list, larger requests to a bump allocator.
    let segregator = Segregator::<POOL_BLOCK, _, _>::new(pool(), Scoped::new(BUMP).unwrap());
    f(&Subject {
        name: "Segregator<64, FreeList, Scoped>",
        alloc: &segregator,
        idle: Some(&|| {
            segregator.small().free_blocks() == POOL_COUNT && segregator.large().used() == 0
        }),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("FreeList: deallocated a block this free list does not own"),
    });

    // Size classes of 16, 32, 64 and 128 bytes, each a free list.
    let buckets =
        Bucketizer::<_, 4>::powers_of_two(16, |size| FreeList::new(size, POOL_COUNT)).unwrap();
    f(&Subject {
        name: "Bucketizer<FreeList, 4>",
        alloc: &buckets,
        idle: Some(&|| {
            buckets
                .buckets()
                .iter()
                .all(|b| b.free_blocks() == POOL_COUNT)
        }),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("FreeList: deallocated a block this free list does not own"),
    });

    // Grows by one free list whenever the current ones are full: never runs out before the
    // heap does.
    let list = AllocatorList::new(|| FreeList::new(POOL_BLOCK, POOL_COUNT));
    f(&Subject {
        name: "AllocatorList<FreeList>",
        alloc: &list,
        idle: Some(&|| list.instances() <= 1),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("AllocatorList::deallocate_raw: foreign block"),
    });

    // 64 bytes and the guard's fences (16 on each side) need 96.
    let guard = Guard::new(FreeList::new(2 * POOL_BLOCK, POOL_COUNT).unwrap());
    f(&Subject {
        name: "Guard<FreeList>",
        alloc: &guard,
        idle: Some(&|| guard.live_blocks() == 0 && guard.inner().free_blocks() == POOL_COUNT),
        too_large: TooLarge,
        // The fence before the block grows to the alignment: the inner pool refuses
        // the padded request as too large.
        over_aligned: Some(TooLarge),
        foreign: Some("Guard: deallocate_raw of a foreign block"),
    });

    let global = GlobalAllocator::new(Locked::new(pool()));
    let global_ref = &global;
    f(&Subject {
        name: "GlobalAllocator<Locked<FreeList>>",
        alloc: &global,
        idle: Some(&|| drain_count(global_ref) == POOL_COUNT),
        too_large: TooLarge,
        over_aligned: Some(UnsupportedAlignment),
        foreign: Some("FreeList: deallocated a block this free list does not own"),
    });
}

/// Allocates pool blocks until refused, gives them back, and says how many there were.
fn drain_count(alloc: &dyn Allocator) -> usize {
    let layout = Layout::from_size_align(POOL_BLOCK, 8).unwrap();
    let blocks: Vec<Block> = std::iter::from_fn(|| alloc.allocate_raw(layout).ok()).collect();
    for &b in &blocks {
        // SAFETY: allocated just above.
        unsafe { alloc.deallocate_raw(b) };
    }
    blocks.len()
}

fn is_idle(s: &Subject<'_>) -> bool {
    s.idle.is_none_or(|idle| idle())
}

/// The allocator still serves a small request after whatever happened.
fn assert_usable(s: &Subject<'_>) {
    if s.name == "Null" {
        return;
    }
    let b = s
        .alloc
        .allocate_raw(Layout::new::<u64>())
        .unwrap_or_else(|e| panic!("{}: unusable afterwards: {e}", s.name));
    // SAFETY: just allocated.
    unsafe { s.alloc.deallocate_raw(b) };
    assert!(is_idle(s), "{}: not idle after a free", s.name);
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// Writes a pattern into a block.
fn fill(b: Block, byte: u8) {
    // SAFETY: `b` is a live block, valid for writes of its size.
    unsafe { b.as_ptr().write_bytes(byte, b.size()) };
}

/// Whether the first `len` bytes of a block still hold the pattern.
fn holds(b: Block, len: usize, byte: u8) -> bool {
    // SAFETY: `b` is a live block of at least `len` initialised bytes.
    unsafe { core::slice::from_raw_parts(b.as_ptr(), len) }
        .iter()
        .all(|&x| x == byte)
}

#[test]
fn zero_size_requests() {
    each_subject(|s| {
        for align in [1, 2, 16, 4096, 1 << 20] {
            let l = layout(0, align);
            for zeroed in [false, true] {
                let b = if zeroed {
                    s.alloc.allocate_zeroed_raw(l)
                } else {
                    s.alloc.allocate_raw(l)
                }
                .unwrap_or_else(|e| panic!("{}: zero-size request refused: {e}", s.name));
                assert!(b.is_empty(), "{}", s.name);
                assert_eq!((b.addr() % align, b.align()), (0, align), "{}", s.name);
                assert!(
                    is_idle(s),
                    "{}: a zero-size request consumed memory",
                    s.name
                );
                // SAFETY: an empty block: a no-op everywhere.
                unsafe { s.alloc.deallocate_raw(b) };
                // Twice: still a no-op (empty blocks are never "allocated").
                // SAFETY: as above.
                unsafe { s.alloc.deallocate_raw(b) };
            }
        }
        assert_usable(s);
    });
}

#[test]
// Miri stops the program on an impossible heap allocation instead of returning null.
#[cfg_attr(miri, ignore = "Miri aborts on allocations larger than its memory")]
fn isize_max_and_overflowing_sizes() {
    each_subject(|s| {
        for size in [isize::MAX as usize, (isize::MAX as usize) / 2 + 1] {
            let expected = if s.name.starts_with("Guard") && size == isize::MAX as usize {
                SizeOverflow // the size with the guard's fences
            } else {
                s.too_large
            };
            assert_eq!(
                s.alloc.allocate_raw(layout(size, 1)),
                Err(expected),
                "{}",
                s.name
            );
            assert_eq!(
                s.alloc.allocate_zeroed_raw(layout(size, 1)),
                Err(expected),
                "{}",
                s.name
            );
        }
        // Element counts whose byte size overflows never reach the allocator.
        let r = (&s.alloc).allocate_slice_with(usize::MAX / 4, |_| 0u64);
        assert_eq!(r.err(), Some(SizeOverflow), "{}", s.name);
        assert!(is_idle(s), "{}", s.name);
        assert_usable(s);
    });
    // Constructors with sizes that overflow.
    assert_eq!(
        Scoped::new(usize::MAX).err().map(|e| e.kind()),
        Some(SizeOverflow)
    );
    // Rounded up to the buffer's alignment, `isize::MAX` overflows; just below, the heap
    // refuses.
    assert_eq!(
        Scoped::new(isize::MAX as usize).err().map(|e| e.kind()),
        Some(SizeOverflow)
    );
    // (`black_box`: an allocation nobody looks at may be optimised away, and "succeed".)
    let refused = std::hint::black_box(Scoped::new(isize::MAX as usize - 15));
    assert_eq!(refused.err().map(|e| e.kind()), Some(OutOfMemory));
    assert_eq!(
        FreeList::new(usize::MAX / 2, 4).err().map(|e| e.kind()),
        Some(SizeOverflow)
    );
    assert_eq!(
        FreeList::new(1 << 40, 1 << 40).err().map(|e| e.kind()),
        Some(SizeOverflow)
    );
    assert_eq!(
        SyncFreeList::new(usize::MAX, 1).err().map(|e| e.kind()),
        Some(SizeOverflow)
    );
    assert_eq!(
        allocators::region_layout(layout(64, 8), usize::MAX)
            .err()
            .map(|e| e.kind()),
        Some(SizeOverflow)
    );
    // A collection asking for too much gets an error from `try_reserve`.
    let scoped = Scoped::new(BUMP).unwrap();
    let mut v: allocators::api2_02::vec::Vec<u64, _> =
        allocators::api2_02::vec::Vec::new_in(&scoped);
    assert!(v.try_reserve(usize::MAX / 2).is_err());
    assert!(v.try_reserve(BUMP).is_err());
    assert!(v.try_reserve(16).is_ok());
}

#[test]
fn over_aligned_requests() {
    each_subject(|s| {
        for align in [8192, 1 << 16, 1 << 20] {
            match s.alloc.allocate_raw(layout(8, align)) {
                Ok(b) => {
                    // A buffer serves it when its memory happens to contain such an address.
                    let may_serve = s.over_aligned.is_none() || s.name == "Buffer";
                    assert!(may_serve, "{}: served align {align}", s.name);
                    assert_eq!((b.addr() % align, b.align()), (0, align), "{}", s.name);
                    // SAFETY: just allocated.
                    unsafe { s.alloc.deallocate_raw(b) };
                }
                Err(e) => assert_eq!(Some(e), s.over_aligned, "{}: align {align}", s.name),
            }
        }
        assert!(is_idle(s), "{}", s.name);
        assert_usable(s);
    });
}

#[test]
fn exhaustion() {
    each_subject(|s| {
        if s.name == "Heap" || s.name.starts_with("AllocatorList") {
            // The machine's memory: see the isize::MAX row for the heap's error.
            return;
        }
        let l = layout(POOL_BLOCK, 8);
        let mut blocks = Vec::new();
        let error = loop {
            match s.alloc.allocate_raw(l) {
                Ok(b) => {
                    fill(b, blocks.len() as u8);
                    blocks.push(b);
                }
                Err(e) => break e,
            }
            assert!(
                blocks.len() <= 2 * BUMP / POOL_BLOCK,
                "{}: never runs out",
                s.name
            );
        };
        assert_eq!(error, OutOfMemory, "{}", s.name);
        // Running out corrupts nothing, and one free makes room again (the most recent
        // block, which a bump allocator can reclaim).
        for (i, &b) in blocks.iter().enumerate() {
            assert!(
                holds(b, POOL_BLOCK, i as u8),
                "{}: block {i} changed",
                s.name
            );
        }
        if let Some(last) = blocks.pop() {
            // SAFETY: allocated above.
            unsafe { s.alloc.deallocate_raw(last) };
            let again = s
                .alloc
                .allocate_raw(l)
                .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            blocks.push(again);
        }
        for b in blocks.into_iter().rev() {
            // SAFETY: allocated above.
            unsafe { s.alloc.deallocate_raw(b) };
        }
        assert_usable(s);
    });
}

#[test]
fn freeing_a_foreign_block() {
    let foreign = Heap.allocate_raw(layout(64, 16)).unwrap();
    each_subject(|s| {
        let Some(expected) = s.foreign else { return };
        let message = panic_message(|| {
            // SAFETY: not safe on purpose: the allocator must detect it before touching
            // the memory (a live `Heap` block, so nothing is undefined even if it did).
            unsafe { s.alloc.deallocate_raw(foreign) }
        });
        assert!(message.contains(expected), "{}: {message:?}", s.name);
        assert_usable(s);
    });
    // A block inside a free list's memory but not on a block boundary is foreign too.
    let list = pool();
    let b = list.allocate_raw(layout(POOL_BLOCK, 8)).unwrap();
    // SAFETY: one byte into a 64-byte block: still inside it.
    let inside = Block::from_raw_parts(unsafe { b.ptr().add(8) }, layout(8, 8));
    let message = panic_message(|| {
        // SAFETY: not safe on purpose: detected before any write.
        unsafe { list.deallocate_raw(inside) }
    });
    assert!(message.contains("does not own"), "{message:?}");
    // SAFETY: allocated above.
    unsafe { list.deallocate_raw(b) };
    // `GlobalAlloc::dealloc` cannot panic (unwinding out of it is undefined behaviour):
    // a pointer that cannot be ours (misaligned for its layout) is ignored.
    let global = GlobalAllocator::new(Locked::new(pool()));
    let real = global.allocate_raw(layout(16, 8)).unwrap();
    // SAFETY: the adapter checks the alignment before anything else and ignores it.
    unsafe { GlobalAlloc::dealloc(&global, real.as_ptr().wrapping_add(1), layout(8, 8)) };
    assert_eq!(drain_count(&global), POOL_COUNT - 1);
    // SAFETY: allocated above.
    unsafe { global.deallocate_raw(real) };
    // SAFETY: allocated above, freed once.
    unsafe { Heap.deallocate_raw(foreign) };
}

#[test]
fn double_free() {
    each_subject(|s| {
        if s.foreign.is_none() || s.name == "Null" {
            return; // Heap: not detectable (see the table); Null: never hands out a block.
        }
        let b = s.alloc.allocate_raw(layout(POOL_BLOCK, 8)).unwrap();
        // SAFETY: allocated just above.
        unsafe { s.alloc.deallocate_raw(b) };
        let message = panic_message(|| {
            // SAFETY: not safe on purpose: the second free must be detected.
            unsafe { s.alloc.deallocate_raw(b) }
        });
        let expected = if s.name == "Buffer" {
            "a double free"
        } else {
            "double free"
        };
        assert!(message.contains(expected), "{}: {message:?}", s.name);
        assert_usable(s);
    });
    // A free list detects the double free of any block, not only the most recent one
    // (in debug builds, or with the `double-free-check` feature).
    if cfg!(debug_assertions) {
        let list = pool();
        let a = list.allocate_raw(layout(8, 8)).unwrap();
        let b = list.allocate_raw(layout(8, 8)).unwrap();
        let c = list.allocate_raw(layout(8, 8)).unwrap();
        // SAFETY: allocated above, freed once each.
        unsafe { list.deallocate_raw(a) };
        // SAFETY: as above.
        unsafe { list.deallocate_raw(b) };
        let message = panic_message(|| {
            // SAFETY: not safe on purpose: `a` is free, under `b` on the list.
            unsafe { list.deallocate_raw(a) }
        });
        assert!(
            message.contains("double free: the block is already free"),
            "{message:?}"
        );
        // SAFETY: still allocated.
        unsafe { list.deallocate_raw(c) };
        assert_eq!(list.free_blocks(), POOL_COUNT);
    }
}

#[test]
fn reallocating_to_zero() {
    each_subject(|s| {
        if s.name == "Null" {
            return; // Never hands out a block to reallocate.
        }
        for align in [8, 1, 64] {
            let b = s.alloc.allocate_raw(layout(48, 8)).unwrap();
            fill(b, 0xAB);
            // SAFETY: `b` is live until this call, which frees it.
            let r = unsafe { s.alloc.reallocate_raw(b, layout(0, align)) };
            let empty = r.unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert!(empty.is_empty() && empty.addr() % align == 0, "{}", s.name);
            assert!(
                is_idle(s),
                "{}: reallocating to zero did not free the block",
                s.name
            );
            // And back: reallocating an empty block is a plain allocation.
            // SAFETY: an empty block.
            let again = unsafe { s.alloc.reallocate_raw(empty, layout(48, 8)) }.unwrap();
            assert!(again.size() >= 48, "{}", s.name);
            // SAFETY: allocated just above.
            unsafe { s.alloc.deallocate_raw(again) };
            assert!(is_idle(s), "{}", s.name);
        }
        assert_usable(s);
    });
}

#[test]
fn reallocating_to_larger_than_capacity() {
    each_subject(|s| {
        if s.name == "Null" {
            return; // Never hands out a block to reallocate.
        }
        if cfg!(miri) && s.name == "Heap" {
            return; // Miri aborts on a heap request larger than its memory.
        }
        let b = s.alloc.allocate_raw(layout(32, 8)).unwrap();
        fill(b, 0x5A);
        let huge = if s.name == "Heap" {
            isize::MAX as usize & !7
        } else {
            2 * BUMP + 1
        };
        // SAFETY: `b` is live; a failed reallocation leaves it so.
        let r = unsafe { s.alloc.reallocate_raw(b, layout(huge, 8)) };
        assert_eq!(r, Err(s.too_large), "{}", s.name);
        assert!(
            holds(b, 32, 0x5A),
            "{}: a failed reallocation changed the block",
            s.name
        );
        // The block is still live and can be given back.
        // SAFETY: still allocated.
        unsafe { s.alloc.deallocate_raw(b) };
        assert_usable(s);
    });
}

#[test]
fn a_panic_inside_a_scope_closure_or_a_logger() {
    // A scope closure that panics: the parent is usable again, and the scope's memory is
    // reclaimed, at every depth.
    let scoped = Scoped::new(BUMP).unwrap();
    let held = scoped.allocate_slice_copy(&[7u8; 16]).unwrap();
    let used = scoped.used();
    let message = panic_message(|| {
        scoped
            .scope(|s| {
                let _a = s.allocate([1u64; 4]).unwrap();
                s.scope(|inner| {
                    let _b = inner.allocate(2u32).unwrap();
                    panic!("boom in a nested scope");
                })
                .unwrap();
            })
            .unwrap();
    });
    assert!(message.contains("boom"), "{message:?}");
    assert_eq!(scoped.used(), used);
    assert!(held.iter().all(|&b| b == 7));
    scoped.scope(|s| s.allocate(1u8).is_ok()).unwrap();
    drop(held);

    // A logger that panics while reporting an allocation: the block goes back to the inner
    // allocator, so nothing leaks, and the proxy works again.
    let boom_on_alloc = FnLogger(|e: &Event| {
        if matches!(e, Event::Allocated { .. }) {
            panic!("logger boom");
        }
    });
    let proxy = Proxy::new(pool(), boom_on_alloc);
    for _ in 0..2 * POOL_COUNT {
        let message = panic_message(|| {
            let _ = proxy.allocate_raw(layout(8, 8));
        });
        assert!(message.contains("logger boom"), "{message:?}");
        assert_eq!(proxy.inner().free_blocks(), POOL_COUNT, "the block leaked");
    }
    // ... while reporting a failure or a deallocation: the operation is complete.
    let boom_on_rest = FnLogger(|e: &Event| {
        if matches!(
            e,
            Event::AllocationFailed { .. } | Event::Deallocated { .. }
        ) {
            panic!("logger boom");
        }
    });
    let proxy = Proxy::new(pool(), boom_on_rest);
    let message = panic_message(|| {
        let _ = proxy.allocate_raw(layout(POOL_BLOCK + 1, 8));
    });
    assert!(message.contains("logger boom"));
    let b = proxy.allocate_raw(layout(8, 8)).unwrap();
    let message = panic_message(|| {
        // SAFETY: allocated just above.
        unsafe { proxy.deallocate_raw(b) }
    });
    assert!(message.contains("logger boom"));
    assert_eq!(proxy.inner().free_blocks(), POOL_COUNT);

    // A panic inside a `Locked` allocator releases the lock.
    let locked = Locked::new(Proxy::new(pool(), boom_on_alloc));
    for _ in 0..2 {
        let message = panic_message(|| {
            let _ = locked.allocate_raw(layout(8, 8));
        });
        assert!(message.contains("logger boom"));
    }
    assert!(locked.allocate_raw(layout(0, 8)).is_ok());

    // A global allocator whose initialiser panics: the panic reaches the first caller,
    // later requests get `Other`, and `get_or_init` an error that says what happened (no
    // deadlock, no retry).
    let global: GlobalAllocator<FreeList> = GlobalAllocator::lazy(|| panic!("init boom"));
    let message = panic_message(|| {
        let _ = global.allocate_raw(layout(8, 8));
    });
    assert!(message.contains("init boom"));
    assert_eq!(
        global.allocate_raw(layout(8, 8)).unwrap_err(),
        AllocatorError::Other
    );
    let error = global.get_or_init().unwrap_err();
    assert!(
        error.to_string().contains("initialiser panicked"),
        "{error}"
    );
}

/// A logger that panics while reporting a successful reallocation cannot unwind (the
/// caller's old block is already gone): the process aborts with a message. Checked in a
/// child process: this test runs itself with `BAD_INPUT_ABORT_CHILD` set.
#[test]
fn a_panic_inside_a_logger_reporting_a_reallocation_aborts() {
    if std::env::var_os("BAD_INPUT_ABORT_CHILD").is_some() {
        let proxy = Proxy::new(
            pool(),
            FnLogger(|e: &Event| {
                if matches!(e, Event::Reallocated { .. }) {
                    panic!("logger boom");
                }
            }),
        );
        let b = proxy.allocate_raw(layout(8, 8)).unwrap();
        // SAFETY: allocated just above.
        let _ = unsafe { proxy.reallocate_raw(b, layout(16, 8)) };
        unreachable!("the process aborts first");
    }
    if cfg!(miri) {
        return; // No processes under Miri.
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_inside_a_logger_reporting_a_reallocation_aborts",
            "--nocapture",
        ])
        .env("BAD_INPUT_ABORT_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child did not abort: {stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(6),
            "not SIGABRT: {:?} {stderr}",
            out.status
        );
    }
    assert!(
        stderr.contains("logger panicked while reporting a successful reallocation"),
        "{stderr}"
    );
}

#[test]
fn allocating_on_a_parent_while_its_child_scope_is_open() {
    let scoped = Scoped::new(BUMP).unwrap();
    let block = scoped.allocate_raw(layout(32, 8)).unwrap();
    fill(block, 0x11);
    let top = scoped.allocate_raw(layout(32, 8)).unwrap();
    scoped
        .scope(|child| {
            let in_child = child.allocate_raw(layout(64, 8)).unwrap();
            fill(in_child, 0x22);
            // Every request that needs new space on the parent: `Busy`.
            assert_eq!(scoped.allocate_raw(layout(8, 8)), Err(Busy));
            assert_eq!(scoped.allocate_zeroed_raw(layout(8, 8)), Err(Busy));
            assert_eq!(scoped.scope(|_| ()).err(), Some(Busy));
            // SAFETY: `block` is live; a failed reallocation leaves it so.
            let grown = unsafe { scoped.reallocate_raw(block, layout(4096, 8)) };
            assert_eq!(grown, Err(Busy));
            // SAFETY: as above (the most recent block of the parent cannot grow either).
            let grown = unsafe { scoped.reallocate_raw(top, layout(64, 8)) };
            assert_eq!(grown, Err(Busy));
            assert!(holds(block, 32, 0x11));
            // Zero-size requests need no space.
            assert!(scoped.allocate_raw(layout(0, 8)).unwrap().is_empty());
            // Collections see the error through `try_reserve`.
            let mut v: allocators::api2_02::vec::Vec<u8, _> =
                allocators::api2_02::vec::Vec::new_in(&scoped);
            assert!(v.try_reserve(1).is_err());
            // Nested: the child is busy while its own child is open.
            child
                .scope(|grandchild| {
                    assert_eq!(child.allocate_raw(layout(8, 8)), Err(Busy));
                    assert!(grandchild.allocate_raw(layout(8, 8)).is_ok());
                })
                .unwrap();
            assert!(child.allocate_raw(layout(8, 8)).is_ok());
            assert!(holds(in_child, 64, 0x22));
        })
        .unwrap();
    // Usable again once the scope ends.
    assert!(scoped.allocate_raw(layout(8, 8)).is_ok());
    assert!(holds(block, 32, 0x11));
}

mod reentry;
