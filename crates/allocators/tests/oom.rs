//! Out of memory: every constructor and growth path returns an error instead of crashing
//! or leaking, whichever request fails.
//!
//! Two failing allocators, both counting what they hand out:
//!
//! - [`Failing`], a parent that refuses its `n`-th request: each scenario runs with
//!   `n = 0, 1, 2, …` until a run needs no more than `n` requests. Every run with a refusal
//!   must end in an error (no panic, no abort), and once everything is dropped, the parent
//!   must hold no block (no leak).
//! - this binary's `#[global_allocator]`, which refuses the `n`-th request of the current
//!   thread while armed: the same loop for the constructors that take their memory from
//!   [`Heap`] and for collections on our allocators.

// Tests are std programs: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use allocators::api2_02::vec::Vec as Vec02;
use allocators::{
    Allocator, AllocatorError, AllocatorList, Block, Bucketizer, Counters, Fallback, FreeList,
    GlobalAllocator, Guard, Heap, Locked, Proxy, Scoped, Segregator, SyncFreeList,
};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use std::alloc::System;

/// A parent that refuses its `fail_at`-th request (counting from 0) and counts its live
/// blocks and bytes.
struct Failing {
    fail_at: usize,
    requests: Cell<usize>,
    failed: Cell<bool>,
    live_blocks: Cell<isize>,
    live_bytes: Cell<isize>,
}

impl Failing {
    fn new(fail_at: usize) -> Self {
        Self {
            fail_at,
            requests: Cell::new(0),
            failed: Cell::new(false),
            live_blocks: Cell::new(0),
            live_bytes: Cell::new(0),
        }
    }

    /// Counts a request; false if this is the one to refuse.
    fn admit(&self) -> bool {
        let n = self.requests.get();
        self.requests.set(n + 1);
        if n == self.fail_at {
            self.failed.set(true);
            false
        } else {
            true
        }
    }

    fn track(&self, blocks: isize, bytes: isize) {
        self.live_blocks.set(self.live_blocks.get() + blocks);
        self.live_bytes.set(self.live_bytes.get() + bytes);
    }
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap()
}

// SAFETY: blocks come from `Heap` unchanged; a refusal hands out nothing.
unsafe impl Allocator for Failing {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        if !self.admit() {
            return Err(AllocatorError::OutOfMemory);
        }
        let b = Heap.allocate_raw(layout)?;
        self.track(1, signed(b.size()));
        Ok(b)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if !block.is_empty() {
            self.track(-1, -signed(block.size()));
        }
        // SAFETY: forwarded from the caller.
        unsafe { Heap.deallocate_raw(block) }
    }

    unsafe fn reallocate_raw(&self, block: Block, new: Layout) -> Result<Block, AllocatorError> {
        if new.size() != 0 && !self.admit() {
            return Err(AllocatorError::OutOfMemory);
        }
        // SAFETY: forwarded from the caller.
        let moved = unsafe { Heap.reallocate_raw(block, new) }?;
        let blocks = isize::from(!moved.is_empty()) - isize::from(!block.is_empty());
        self.track(blocks, signed(moved.size()) - signed(block.size()));
        Ok(moved)
    }
}

/// Runs `scenario` with the parent refusing its 0th, 1st, 2nd, … request until a run
/// completes without a refusal. Returns how many requests that run made.
#[track_caller]
fn exhaust(name: &str, scenario: impl Fn(&Failing) -> Result<(), AllocatorError>) -> usize {
    for n in 0..100_000 {
        let parent = Failing::new(n);
        let result = scenario(&parent);
        assert_eq!(
            (parent.live_blocks.get(), parent.live_bytes.get()),
            (0, 0),
            "{name}: leaked with request {n} refused ({result:?})"
        );
        if !parent.failed.get() {
            assert_eq!(result, Ok(()), "{name}: failed with no refusal");
            assert!(n > 0, "{name}: never asked its parent");
            return n;
        }
        assert!(
            result.is_err(),
            "{name}: request {n} refused but the scenario succeeded"
        );
    }
    panic!("{name}: never completes");
}

/// Fills a block and checks the filling; proves a block is usable.
fn touch(b: Block) -> Result<Block, AllocatorError> {
    // SAFETY: a live block, valid for its size.
    unsafe { b.as_ptr().write_bytes(0xC3, b.size()) };
    // SAFETY: as above, just written.
    let bytes = unsafe { core::slice::from_raw_parts(b.as_ptr(), b.size()) };
    assert!(bytes.iter().all(|&x| x == 0xC3));
    Ok(b)
}

fn l(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

#[test]
fn scoped_and_nested_scoped() {
    exhaust("Scoped", |p| {
        let outer = Scoped::new_in(4096, p)?;
        let _a = outer.allocate([1u8; 100]).map_err(|(e, _)| e)?;
        // A second parent request: a `Scoped` whose buffer comes from another `Scoped`
        // over the same parent, so the parent is asked twice.
        let other = Scoped::new_in(2048, p)?;
        let inner = Scoped::new_in(1024, &other)?;
        let _b = inner.allocate_slice_copy(&[2u32; 64])?;
        Ok(())
    });
}

#[test]
fn free_lists() {
    exhaust("FreeList", |p| {
        let list = FreeList::new_in(64, 16, p)?;
        touch(list.allocate_raw(l(64))?)?;
        let sync = SyncFreeList::with_layout_in(l(24), 100, p)?;
        touch(sync.allocate_raw(l(24))?)?;
        Ok(())
    });
}

#[test]
fn fallback_spill_over_and_growth() {
    let requests = exhaust("Fallback<FreeList, parent>", |p| {
        let a = Fallback::new(FreeList::new_in(64, 2, p)?, p);
        let mut blocks = Vec::new();
        let result = (|| {
            for _ in 0..4 {
                blocks.push(touch(a.allocate_raw(l(48))?)?); // the last two spill over
            }
            // Growth out of the pool: the block moves to the parent.
            // SAFETY: a live block of `a`.
            let grown = unsafe { a.reallocate_raw(blocks[0], l(500)) };
            blocks[0] = touch(grown?)?;
            // Growth on the parent.
            // SAFETY: a live block of `a`.
            let grown = unsafe { a.reallocate_raw(blocks[3], l(5000)) };
            blocks[3] = touch(grown?)?;
            Ok(())
        })();
        for b in blocks {
            // SAFETY: live blocks of `a` (a failed reallocation left them live).
            unsafe { a.deallocate_raw(b) };
        }
        result
    });
    assert!(requests >= 4, "{requests}");
}

#[test]
fn proxy_locked_and_global_adapter() {
    exhaust("Proxy<Scoped>", |p| {
        let a = Proxy::new(Scoped::new_in(1024, p)?, Counters::new());
        touch(a.allocate_raw(l(100))?)?;
        Ok(())
    });
    exhaust("Locked<FreeList>", |p| {
        let a = Locked::new(FreeList::new_in(32, 8, p)?);
        touch(a.allocate_raw(l(32))?)?;
        Ok(())
    });
    exhaust("GlobalAllocator<Locked<FreeList>>", |p| {
        let a = GlobalAllocator::new(Locked::new(FreeList::new_in(32, 8, p)?));
        touch(a.allocate_raw(l(32))?)?;
        Ok(())
    });
}

#[test]
fn allocator_list_chunked_growth() {
    let requests = exhaust("AllocatorList<FreeList>", |p| {
        let list = AllocatorList::new_in(|| FreeList::new_in(64, 4, p), p);
        let mut blocks = Vec::new();
        let result = (|| {
            // Twenty blocks: five instances (and their nodes) from the parent.
            for _ in 0..20 {
                blocks.push(touch(list.allocate_raw(l(64))?)?);
            }
            Ok(())
        })();
        for b in blocks.drain(..).rev() {
            // SAFETY: live blocks of `list`.
            unsafe { list.deallocate_raw(b) };
        }
        // Growth again after shrinking.
        let again = result.and_then(|()| list.allocate_raw(l(64)));
        if let Ok(b) = again {
            // SAFETY: allocated just above.
            unsafe { list.deallocate_raw(b) };
        }
        again.map(drop)
    });
    assert!(requests >= 10, "{requests}");
}

#[test]
fn bucketizer_and_segregator() {
    exhaust("Bucketizer<FreeList, 4>", |p| {
        let b = Bucketizer::<_, 4>::powers_of_two(16, |size| FreeList::new_in(size, 8, p))?;
        for size in [1, 16, 17, 100, 128] {
            touch(b.allocate_raw(l(size))?)?;
        }
        Ok(())
    });
    exhaust("Segregator<64, FreeList, Scoped>", |p| {
        let s = Segregator::<64, _, _>::new(FreeList::new_in(64, 4, p)?, Scoped::new_in(4096, p)?);
        let small = touch(s.allocate_raw(l(10))?)?;
        // Growth across the threshold: moves from the pool into the bump allocator.
        // SAFETY: a live block of `s`.
        let grown = unsafe { s.reallocate_raw(small, l(1000)) };
        match grown {
            Ok(b) => touch(b).map(drop),
            Err(e) => {
                // SAFETY: a failed reallocation leaves the block live.
                unsafe { s.deallocate_raw(small) };
                Err(e)
            }
        }
    });
}

#[test]
fn guard_table_growth() {
    exhaust("Guard<FreeList>", |p| {
        // 32 bytes and the guard's fences (16 on each side) fill a 64-byte block.
        let g = Guard::new_in(FreeList::new_in(64, 160, p)?, p);
        let mut blocks = Vec::new();
        let result = (|| {
            // Enough live blocks that the guard's table (64 slots at first) grows.
            for _ in 0..150 {
                blocks.push(touch(g.allocate_raw(l(32))?)?);
            }
            Ok(())
        })();
        for b in blocks {
            // SAFETY: live blocks of `g`.
            unsafe { g.deallocate_raw(b) };
        }
        result
    });
}

#[test]
fn collections_growing_over_a_failing_parent() {
    exhaust("allocator-api2 Vec over Fallback<FreeList, parent>", |p| {
        let a = Fallback::new(FreeList::new_in(64, 4, p)?, p);
        let mut v: Vec02<u64, _> = Vec02::new_in(&a);
        for i in 0..1000u64 {
            v.try_reserve(1).map_err(|_| AllocatorError::OutOfMemory)?;
            v.push(i);
        }
        assert!(v.iter().copied().eq(0..1000));
        Ok(())
    });
    exhaust("hashbrown HashMap over Scoped", |p| {
        let a = Scoped::new_in(64 * 1024, p)?;
        let mut map = hashbrown::HashMap::new_in(&a);
        for i in 0..100u32 {
            map.try_reserve(1)
                .map_err(|_| AllocatorError::OutOfMemory)?;
            map.insert(i, i * 2);
        }
        assert_eq!(map.get(&7), Some(&14));
        Ok(())
    });
}

// ---- A failing `#[global_allocator]`, for the constructors that use `Heap` ----

/// System's memory; refuses the armed thread's `n`-th request; counts each thread's live
/// bytes.
struct FailingGlobal;

std::thread_local! {
    /// Requests left before the refusal (`usize::MAX`: not armed).
    static LEFT: Cell<usize> = const { Cell::new(usize::MAX) };
    static REFUSED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

impl FailingGlobal {
    /// Whether this request may go ahead (thread-local state; no allocation).
    fn admit() -> bool {
        LEFT.try_with(|left| match left.get() {
            usize::MAX => true,
            0 => {
                left.set(usize::MAX);
                let _ = REFUSED.try_with(|r| r.set(true));
                false
            }
            n => {
                left.set(n - 1);
                true
            }
        })
        .unwrap_or(true)
    }

    fn track(bytes: isize) {
        let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
    }
}

// SAFETY: forwards to `System`; a refusal is a null pointer, as `GlobalAlloc` allows.
unsafe impl GlobalAlloc for FailingGlobal {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit() {
            return core::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::track(signed(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Self::track(-signed(layout.size()));
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::admit() {
            return core::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            Self::track(signed(new_size) - signed(layout.size()));
        }
        p
    }
}

#[global_allocator]
static GLOBAL: FailingGlobal = FailingGlobal;

/// As [`exhaust`], with this thread's global allocator refusing its `n`-th request. The
/// scenario must not allocate through std itself (a refused `Vec` growth aborts).
#[track_caller]
fn exhaust_global(name: &str, scenario: impl Fn() -> Result<(), AllocatorError>) -> usize {
    for n in 0..100_000 {
        let before = LIVE.with(Cell::get);
        REFUSED.with(|r| r.set(false));
        LEFT.with(|left| left.set(n));
        let result = scenario();
        LEFT.with(|left| left.set(usize::MAX));
        let refused = REFUSED.with(Cell::get);
        let leaked = LIVE.with(Cell::get) - before;
        assert_eq!(
            leaked, 0,
            "{name}: leaked {leaked} bytes with request {n} refused ({result:?})"
        );
        if !refused {
            assert_eq!(result, Ok(()), "{name}: failed with no refusal");
            assert!(n > 0, "{name}: never asked the global allocator");
            return n;
        }
        assert!(
            result.is_err(),
            "{name}: request {n} refused but the scenario succeeded"
        );
    }
    panic!("{name}: never completes");
}

#[test]
fn heap_backed_constructors() {
    exhaust_global("Scoped::new", || {
        let s = Scoped::new(4096)?;
        touch(s.allocate_raw(l(100))?).map(drop)
    });
    exhaust_global("FreeList::new and SyncFreeList::new", || {
        let a = FreeList::new(64, 32)?;
        let b = SyncFreeList::new(32, 32)?;
        touch(a.allocate_raw(l(64))?)?;
        touch(b.allocate_raw(l(32))?).map(drop)
    });
    exhaust_global("Fallback<FreeList, Heap>", || {
        let a = Fallback::new(FreeList::new(64, 1)?, Heap);
        let x = touch(a.allocate_raw(l(64))?)?;
        let y = a.allocate_raw(l(64)); // spills over to the heap
        // SAFETY: allocated above.
        unsafe { a.deallocate_raw(x) };
        // SAFETY: allocated above, if it was.
        y.map(|y| unsafe { a.deallocate_raw(y) })
    });
    exhaust_global("AllocatorList::new", || {
        // No `Vec` here: a refused request of the scenario's own would abort.
        let list = AllocatorList::new(|| FreeList::new(64, 2));
        let mut blocks = [None; 6];
        let mut result = Ok(());
        for slot in &mut blocks {
            match list.allocate_raw(l(64)) {
                Ok(b) => *slot = Some(b),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        for b in blocks.into_iter().flatten() {
            // SAFETY: allocated above.
            unsafe { list.deallocate_raw(b) };
        }
        result
    });
    exhaust_global("Guard::new", || {
        let g = Guard::new(Scoped::new(4096)?);
        let b = touch(g.allocate_raw(l(8))?)?;
        // SAFETY: allocated just above.
        unsafe { g.deallocate_raw(b) };
        Ok(())
    });
    exhaust_global("a lazy GlobalAllocator", || {
        let g: GlobalAllocator<Locked<FreeList>> =
            GlobalAllocator::lazy(|| FreeList::new(64, 8).map(Locked::new));
        let b = touch(g.allocate_raw(l(64))?)?;
        // SAFETY: allocated just above.
        unsafe { g.deallocate_raw(b) };
        Ok(())
    });
}

#[test]
fn collections_over_heap_backed_allocators() {
    exhaust_global("allocator-api2 Vec over Scoped::new", || {
        let s = Scoped::new(16 * 1024)?;
        let mut v: Vec02<u32, _> = Vec02::new_in(&s);
        for i in 0..1000 {
            v.try_reserve(1).map_err(|_| AllocatorError::OutOfMemory)?;
            v.push(i);
        }
        Ok(())
    });
    exhaust_global("hashbrown HashMap over Fallback<FreeList, Heap>", || {
        let a = Fallback::new(FreeList::new(64, 8)?, Heap);
        let mut map = hashbrown::HashMap::new_in(&a);
        for i in 0..200u64 {
            map.try_reserve(1)
                .map_err(|_| AllocatorError::OutOfMemory)?;
            map.insert(i, i);
        }
        Ok(())
    });
}
