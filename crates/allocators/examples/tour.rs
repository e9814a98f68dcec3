//! The tour: every allocator and composite of the `allocators` crate in a few screens,
//! each with a small real use and a line on what it is for.
//!
//! Run it from the workspace root with `cargo run --release --example tour`. How fast they
//! are is the benchmarks' business (`benches/`, `cargo xtask bench --quick`): the last
//! section says where to look.

// An example is a std program: the core/alloc import lints are for the libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use allocators::api2_02::{boxed::Box as ApiBox, vec::Vec as ApiVec};
use allocators::prelude::*;
use allocators::{
    AllocatorError, AllocatorList, Api2, Bucketizer, Counters, Fallback, FreeList, FromApi02,
    GlobalAllocator, Heap, Locked, Null, Scoped, Segregator, Stats, SyncFreeList, Trace,
};
use test_rng::Rng;

fn main() {
    println!("allocators: a tour\n==================");
    println!("Every allocator below implements `Allocator`: typed boxes that free themselves,");
    println!("and (features allocator-api2-02/-04, on by default) the allocator-api2 traits,");
    println!("so `Vec`, `Box` and hashbrown's `HashMap` run on them on stable Rust.");
    heap();
    scoped();
    freelist();
    sync_freelist();
    fallback();
    small_objects();
    allocator_list();
    proxy();
    guard();
    null();
    collections();
    threads_and_global();
    compat();
    how_fast();
}

/// Prints a section header and what the allocator is.
fn section(title: &str, what: &str) {
    println!("\n== {title}\n{what}");
}

fn heap() {
    section(
        "Heap: the global heap",
        "The default parent of every other allocator. Zero-size, Copy; `System` works too.",
    );
    let answer = Heap.allocate(42u64).expect("heap");
    let name = Heap.allocate_str("allocators").expect("heap");
    let squares = Heap.allocate_slice_with(6, |i| i * i).expect("heap");
    let (answer, name) = (*answer, &*name);
    println!("  Heap.allocate(42) = {answer}, allocate_str = {name:?}");
    println!("  allocate_slice_with(6, |i| i * i) = {:?}", &*squares);
    let last = Heap.allocate_with(|| [7u8; 1 << 16]).expect("heap")[65535];
    println!("  allocate_with(|| [7u8; 65536]) builds in place: last byte {last}");
}

/// A value with a destructor that shows when it runs: it prints "Boom!" and its number.
#[derive(Debug)]
struct Bomb(u8);

impl Drop for Bomb {
    fn drop(&mut self) {
        print!("Boom! {} ", self.0);
    }
}

fn scoped() {
    section(
        "Scoped: a bump allocator with nested scopes",
        "One buffer from a parent; an allocation moves a pointer. `scope` lends a child \
         that\nreclaims everything it allocated when the closure returns; values cannot \
         escape it.",
    );
    // A new scoped allocator with a kilobyte of memory from the heap.
    let alloc = Scoped::new(1024).expect("heap");
    alloc
        .scope(|inner| {
            let mut bombs = Vec::new();
            for i in 0..10 {
                bombs.push(inner.allocate(Bomb(i)).expect("room for ten bombs"));
            }
            println!("  in the scope: {} bytes used by 10 bombs", inner.used());
            let busy = alloc.allocate(0u8).map(|_| ()).map_err(|(e, _)| e);
            println!("  the parent while the scope is open: {busy:?}");
            print!("  the closure returns: ");
            // `bombs` is dropped here, and each box in it drops its Bomb: ten "Boom!"s.
        })
        .expect("no other scope is open");
    // A box borrows `inner`, so none can outlive the closure: returning one does not compile.
    println!("\n  each Boom! is a Bomb's `Drop`: a scope's values are dropped when it ends,");
    println!(
        "  and only then is its memory taken back: {} bytes used",
        alloc.used()
    );
    let my_int = alloc.allocate_with(|| 23).expect("room"); // constructed in place
    println!(
        "  allocate_with(|| 23) = {}; remaining {} of {} bytes",
        *my_int,
        alloc.remaining(),
        alloc.capacity()
    );
    let too_big = alloc.allocate_raw(Layout::new::<[u8; 4096]>());
    println!("  a 4 KiB request in a 1 KiB arena: {too_big:?}");
    // No heap at all: a Scoped over a buffer on the stack (the `no_std` way).
    let mut memory = [std::mem::MaybeUninit::<u8>::uninit(); 256];
    let on_stack = Scoped::from_buffer(&mut memory);
    let nested = on_stack
        .scope(|outer| {
            outer
                .scope(|inner| *inner.allocate(7u16).expect("room"))
                .expect("free")
        })
        .expect("free");
    println!("  Scoped::from_buffer over 256 stack bytes, scopes nested two deep: {nested}");
}

fn freelist() {
    section(
        "FreeList: O(1) fixed-size blocks",
        "One parent allocation cut into blocks; allocation pops a list, deallocation pushes \
         it.\nToo large or too aligned requests fail with an error a Fallback can act on.",
    );
    // A FreeList allocator with 64 blocks of 1024 bytes.
    let alloc = FreeList::new(1024, 64).expect("heap");
    for round in 0..10 {
        // Allocate every block.
        let mut v = Vec::new();
        for i in 0u8..64 {
            v.push(alloc.allocate([i; 1024]).expect("a free block"));
        }
        // No more blocks.
        let full = alloc.allocate([0u8; 1024]).map(|_| ()).map_err(|(e, _)| e);
        assert!(full.is_err());
        if round == 0 || round == 9 {
            println!(
                "  round {round}: 64 blocks taken, free {}, the 65th: {full:?}",
                alloc.free_blocks()
            );
        }
        // All the blocks go back onto the list here, and are reused in the next round.
    }
    println!(
        "  after ten rounds: {} of {} blocks free",
        alloc.free_blocks(),
        alloc.capacity()
    );
    let too_big = alloc.allocate_raw(Layout::new::<[u8; 2048]>());
    println!("  a 2 KiB request: {too_big:?}");
}

fn sync_freelist() {
    section(
        "SyncFreeList: the same, Send + Sync",
        "FreeList's code under a short spin lock, for pools shared by threads.",
    );
    let pool = SyncFreeList::new(64, 256).expect("heap");
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..1000 {
                    let b = pool.allocate([t, i]).expect("never more than 4 live");
                    assert_eq!(b[1], i);
                }
            });
        }
    });
    println!(
        "  4 threads x 1000 allocations; afterwards {} of 256 blocks free",
        pool.free_blocks()
    );
}

fn fallback() {
    section(
        "Fallback<M, F>: try M, then F",
        "`pool.with_fallback(Heap)`: small requests from the pool, the rest (and the \
         overflow)\nfrom the heap. Frees are routed by M's `owns_block`; a block that \
         outgrows M moves to F.",
    );
    let alloc: Fallback<FreeList, Heap> = FreeList::new(64, 2).expect("heap").with_fallback(Heap);
    let a = alloc.allocate([1u64; 8]).expect("pool");
    let b = alloc.allocate(2u64).expect("pool");
    let c = alloc.allocate(3u64).expect("heap: the pool is full");
    let d = alloc.allocate([4u8; 1000]).expect("heap: too large");
    let place = |owned: bool| if owned { "pool" } else { "heap" };
    println!(
        "  64 B -> {}, 8 B -> {}, 8 B more -> {}, 1000 B -> {}",
        place(alloc.main().owns(&a)),
        place(alloc.main().owns(&b)),
        place(alloc.main().owns(&c)),
        place(alloc.main().owns(&d)),
    );
    drop((a, b, c, d));
    let chain = FreeList::new(64, 8)
        .expect("heap")
        .with_fallback(Scoped::new(4096).expect("heap").with_fallback(Heap));
    println!(
        "  chains nest, and their type can be written down: {}",
        short_type_name(&chain)
    );
}

fn small_objects() {
    section(
        "Segregator + Bucketizer: the small-object allocator, with Stats",
        "Bucketizer: one allocator per size class (free lists of 16..256 B here). \
         Segregator<256, S, L>:\nup to 256 B to S, the rest to L; frees are routed by \
         size. Stats: counts and a size histogram.",
    );
    // Free lists of 256 blocks of 16, 32, ..., 256 bytes; the heap beyond 256 bytes.
    let small: Segregator<256, Bucketizer<FreeList, 5>, Heap> =
        Bucketizer::powers_of_two(16, |size| FreeList::new(size, 256))
            .expect("heap")
            .segregate::<256, _>(Heap);
    let alloc = small.proxy(Stats::new());
    let mut rng = Rng::new(7);
    let mut live = Vec::new();
    for _ in 0..2000 {
        let size = rng.range(8..508);
        let block = alloc
            .allocate_raw(Layout::from_size_align(size, 8).expect("valid"))
            .expect("room");
        live.push(block);
        if live.len() > 100 {
            let victim = live.swap_remove(rng.below(live.len()));
            // SAFETY: `victim` is currently allocated by `alloc`, and removed from `live`.
            unsafe { alloc.deallocate_raw(victim) };
        }
    }
    let buckets = alloc.inner().small();
    let free: Vec<usize> = buckets
        .buckets()
        .iter()
        .map(FreeList::free_blocks)
        .collect();
    println!(
        "  2000 random sizes 8..508 B, 100 live: free blocks per class {:?} of {free:?}",
        buckets.classes()
    );
    for block in live.drain(..) {
        // SAFETY: every block of `live` is currently allocated by `alloc`.
        unsafe { alloc.deallocate_raw(block) };
    }
    for line in alloc.logger().summary().to_string().lines() {
        println!("  {line}");
    }
}

fn allocator_list() {
    section(
        "AllocatorList: growth by chunks",
        "A list of instances made on demand by a factory (here free lists of 4 blocks): \
         a new one\nwhen all are full, empty ones given back (one kept as a spare).",
    );
    let list = AllocatorList::new(|| FreeList::new(64, 4));
    let boxes: Vec<_> = (0..10u64)
        .map(|i| list.allocate(i).expect("a new pool if needed"))
        .collect();
    println!("  10 live blocks: {} pools of 4", list.instances());
    drop(boxes);
    println!("  all freed: {} pool(s) kept", list.instances());
}

fn guard() {
    section(
        "Guard: the debug layer",
        "Fences around each block, fill patterns, double-free / foreign-block / leak \
         detection;\neach check panics with a message naming the problem.",
    );
    let alloc = FreeList::new(64, 8).expect("heap").guarded();
    let block = alloc
        .allocate_raw(Layout::new::<[u8; 16]>())
        .expect("a block");
    // SAFETY: the byte after the block is the first of the 16 fence bytes the guard keeps
    // after every block, inside the inner allocation the pointer comes from: in bounds, no
    // undefined behaviour. Writing it is the bug the guard exists to catch.
    unsafe { block.as_ptr().add(16).write(0) };
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the caught panic quiet
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| alloc.check()));
    std::panic::set_hook(hook);
    if let Err(payload) = caught {
        let message = payload.downcast_ref::<String>().map_or("?", String::as_str);
        println!("  one byte written past a 16-byte block: {message}");
    }
    // SAFETY: restores the fence byte (the guard's fence pattern is 0xFD).
    unsafe { block.as_ptr().add(16).write(0xFD) };
    // SAFETY: `block` is currently allocated by `alloc`.
    unsafe { alloc.deallocate_raw(block) };
    println!("  repaired and freed: {} live blocks", alloc.live_blocks());
}

/// The type name of `value` without module paths.
fn short_type_name<T>(_: &T) -> String {
    let full = std::any::type_name::<T>();
    let (paths, last) = full.rsplit_once("::").unwrap_or(("", full));
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    // Every piece before a `::` ends with a module name: cut it off.
    paths
        .split("::")
        .map(|p| p.trim_end_matches(ident))
        .collect::<String>()
        + last
}

fn proxy() {
    section(
        "Proxy<A, L>: report every operation to a logger",
        "Loggers: NoLog (free), Counters / AtomicCounters, Trace, FnLogger, or your own.",
    );
    let alloc = FreeList::new(64, 4)
        .expect("heap")
        .with_fallback(Heap)
        .proxy(Counters::new());
    {
        let _boxes: Vec<_> = (0..6u64)
            .map(|i| alloc.allocate(i).expect("pool or heap"))
            .collect();
        let _text = alloc.allocate_str("counted").expect("pool");
        let c = alloc.logger().counts();
        println!(
            "  7 boxes live: {} allocations, {} bytes live, peak {}",
            c.allocations, c.bytes_live, c.peak_bytes
        );
    }
    let c = alloc.logger().counts();
    println!(
        "  after the drops: {} deallocations, {} bytes live",
        c.deallocations, c.bytes_live
    );
    // Trace keeps every event (or prints each as it happens, `Trace::printing()`).
    let traced = Heap.proxy(Trace::new());
    let mut v = ApiVec::new_in(&traced);
    v.extend([1u32, 2, 3, 4, 5]);
    v.push(6);
    drop(v);
    for event in traced.logger().take() {
        println!("  a Vec of 6 u32 on Proxy<Heap, Trace>: {event}");
    }
}

fn null() {
    section(
        "Null: fails everything, owns nothing",
        "The end of a chain, a placeholder, and the reference implementation of the traits.",
    );
    let error = Null.allocate(1u8).map(|_| ()).map_err(|(e, _)| e);
    let zero = Null.allocate(()).map(|_| ()).map_err(|(e, _)| e);
    println!("  Null.allocate(1u8) = {error:?}; a zero-size value: {zero:?}");
}

fn collections() {
    section(
        "Collections on our allocators (allocator-api2 Vec and Box, hashbrown HashMap)",
        "By value (the collection owns its allocator) or by reference (shared).",
    );
    let pool = FreeList::new(1024, 64).expect("heap");
    let mut v: ApiVec<u64, FreeList> = ApiVec::new_in(pool); // by value: the Vec owns its pool
    v.extend(0..100);
    let scoped = Scoped::new(1 << 16).expect("heap");
    let mut w = ApiVec::new_in(&scoped); // by reference
    w.extend_from_slice(b"hello");
    let mut map = hashbrown::HashMap::new_in(&scoped); // hashbrown with our allocator
    map.insert(1, 2);
    let boxed = ApiBox::new_in([1.5f64; 4], &scoped);
    println!(
        "  Vec<u64, FreeList>: sum {} ({} blocks left in its pool)",
        v.iter().sum::<u64>(),
        v.allocator().free_blocks()
    );
    println!(
        "  Vec on &Scoped: {:?}; HashMap on &Scoped: {:?}; Box: {:?}; arena used: {} B",
        std::str::from_utf8(&w).unwrap_or("?"),
        map,
        &*boxed,
        scoped.used()
    );
    let mut full: ApiVec<u64, FreeList> = ApiVec::new_in(FreeList::new(1024, 1).expect("heap"));
    full.extend(0..128); // one whole 1024-byte block
    println!(
        "  growing past a FreeList block: try_reserve -> {:?}",
        full.try_reserve(1).map_err(|e| e.to_string())
    );
    let spill = FreeList::new(1024, 4)
        .expect("heap")
        .with_fallback(Heap)
        .proxy(Counters::new());
    let mut grows = ApiVec::new_in(&spill);
    grows.extend(0u64..10_000);
    println!(
        "  with a Fallback behind it the Vec spills to the heap: {} elements, {} bytes live, pool {} of 4 free",
        grows.len(),
        spill.logger().counts().bytes_live,
        spill.inner().main().free_blocks()
    );
}

/// The `#[global_allocator]` adapter, built in a `const` context (a real program would put
/// `#[global_allocator]` on it; the tour calls it directly).
static GLOBAL: GlobalAllocator<Locked<System>> = GlobalAllocator::new(Locked::new(System));

fn threads_and_global() {
    section(
        "Locked<A> and GlobalAllocator<A>: threads, and the #[global_allocator]",
        "Locked makes any allocator Sync with a short lock; GlobalAllocator turns a \
         thread-safe\nchain into a GlobalAlloc (const-constructible, never unwinds, null \
         on failure).",
    );
    let shared = Locked::new(FreeList::new(128, 64).expect("heap").with_fallback(Heap));
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let shared = &shared;
            s.spawn(move || {
                let mut v = ApiVec::new_in(shared);
                v.extend((0..10u64).map(|i| i * t));
                v.iter().sum::<u64>()
            });
        }
    });
    println!("  two threads built Vecs on one Locked<Fallback<FreeList, Heap>>");
    let layout = Layout::new::<[u64; 4]>();
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { GLOBAL.alloc(layout) };
    println!(
        "  GlobalAllocator<Locked<System>>::alloc(32 B) -> non-null: {}",
        !ptr.is_null()
    );
    if !ptr.is_null() {
        // SAFETY: `ptr` was allocated just above by `GLOBAL` with `layout`.
        unsafe { GLOBAL.dealloc(ptr, layout) };
    }
}

/// A user-written allocator: the system allocator, counting live blocks.
#[derive(Default)]
struct Counting {
    live: Cell<usize>,
}

// SAFETY: every block comes from `System` and goes back to it.
unsafe impl Allocator for Counting {
    fn allocate_raw(&self, layout: Layout) -> Result<allocators::Block, AllocatorError> {
        let block = System.allocate_raw(layout)?;
        self.live.set(self.live.get() + 1);
        Ok(block)
    }
    unsafe fn deallocate_raw(&self, block: allocators::Block) {
        self.live.set(self.live.get() - 1);
        // SAFETY: the caller gives back a block of ours, which `System` allocated.
        unsafe { System.deallocate_raw(block) }
    }
}

fn compat() {
    section(
        "Api2 and FromApi02/FromApi04: your allocators and other crates' allocators",
        "Api2(alloc) puts any `Allocator` (yours: two functions) under the collections; \
         FromApi02/04\nmakes any allocator-api2 allocator (bumpalo's &Bump) a parent or \
         part of ours.",
    );
    let counting = Counting::default();
    {
        let mut v = ApiVec::new_in(Api2(&counting));
        v.extend(0..100u32);
        let mut map = hashbrown::HashMap::new_in(Api2(&counting));
        map.insert("answer", 42);
        println!(
            "  a user-written allocator under a Vec and a HashMap: {} blocks live",
            counting.live.get()
        );
    }
    println!("  ...and {} after they are dropped", counting.live.get());
    let bump = bumpalo::Bump::new();
    let pool = FreeList::new_in(64, 16, FromApi02(&bump)).expect("bumpalo has room");
    let node = pool.allocate((1u32, 2u32)).expect("a block");
    println!(
        "  a FreeList inside a bumpalo arena: node {:?}, bumpalo holds {} bytes",
        *node,
        bump.allocated_bytes()
    );
}

fn how_fast() {
    section(
        "How fast?",
        "Measured by the criterion benchmarks in benches/, side by side with the system \
         allocator,\nmimalloc, bumpalo and bump-scope, on the workloads above and more.",
    );
    println!("  cargo xtask bench --quick      the whole suite and its ratio table, in minutes");
    println!("  cargo xtask bench pool bump    some suites only (benches/README.md lists them)");
    println!("  benches/RESULTS.md             the latest table; its summary is in README.md");
}
