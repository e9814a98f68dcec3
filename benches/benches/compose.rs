//! The cost of composition (alloc-compose), side by side in one run:
//!
//! - `Proxy<A, NoLog>` against `A` (target: at most 1.03x), for `A` = `Heap` and a pool;
//! - `Fallback<Pool, Heap>` while the pool serves, against the pool alone (target: at most
//!   1.10x);
//! - for information, `Proxy<A, Counters>` (what counting costs);
//! - the real leaves and chains beside them: `FreeList`, `Proxy<FreeList, NoLog>`,
//!   `Fallback<FreeList, Heap>`, `Locked<FreeList>`, the small-object allocator
//!   `Segregator<256, Bucketizer<FreeList>, System>`, with `System` and mimalloc;
//! - `fallback_half_overflow`: a batch twice the size of the main allocator, so half of the
//!   requests go to the fallback (the cost of the refusal and the ownership test on free).
//!
//! Every subject runs the same two workloads: an allocate+free pair of 16 bytes, and a
//! batch of `BATCH` 16-byte allocations freed in a pre-shuffled order.
//!
//! The pool is a minimal free-list pool written here (this bench was written before the
//! FreeList crate landed); it stays as the floor the composites are measured against. The
//! workloads are generic over any `Allocator`: a subject is one line in `subjects`.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::ptr::NonNull;

use alloc_compose::{AllocatorExt, Bucketizer, Counters, NoLog};
use alloc_freelist::FreeList;
use alloc_global::Locked;
use allocators::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use allocators_benches::Mimalloc;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use test_rng::Rng;

/// Blocks per batch.
const BATCH: usize = 1000;
/// The request of every workload.
const LAYOUT: Layout = match Layout::from_size_align(16, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("valid layout"),
};

/// `slots` blocks of `SLOT` bytes in one heap buffer, with an intrusive LIFO free list:
/// the fastest kind of pool, so that the composites' overhead is not hidden.
struct Pool {
    /// Start of the buffer of `len` bytes, aligned to `SLOT`.
    base: NonNull<u8>,
    len: usize,
    /// The first free slot; each free slot holds the address of the next one.
    head: Cell<Option<NonNull<u8>>>,
}

impl Pool {
    const SLOT: usize = 16;

    fn new(slots: usize) -> Self {
        let len = slots * Self::SLOT;
        let base = Heap.allocate_raw(Self::buffer_layout(len)).unwrap().ptr();
        let mut head = None;
        for i in (0..slots).rev() {
            // SAFETY: `i < slots`: the slot is inside the buffer.
            let slot = unsafe { base.add(i * Self::SLOT) };
            // SAFETY: the slot is valid for `SLOT` >= 8 bytes and aligned for a pointer.
            unsafe { slot.cast::<Option<NonNull<u8>>>().write(head) };
            head = Some(slot);
        }
        Self {
            base,
            len,
            head: Cell::new(head),
        }
    }

    fn buffer_layout(len: usize) -> Layout {
        Layout::from_size_align(len, Self::SLOT).unwrap()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let buffer = Block::from_raw_parts(self.base, Self::buffer_layout(self.len));
        // SAFETY: allocated by `Heap` in `new` with this layout.
        unsafe { Heap.deallocate_raw(buffer) };
    }
}

// SAFETY: a slot is on the free list or handed out, never both; slots are `SLOT`-aligned
// and `SLOT` bytes long in a heap buffer outside the struct; zero-size requests get empty
// blocks.
unsafe impl Allocator for Pool {
    #[inline]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() > Self::SLOT || layout.align() > Self::SLOT {
            return Err(AllocatorError::TooLarge);
        }
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let slot = self.head.get().ok_or(AllocatorError::OutOfMemory)?;
        // SAFETY: a free slot holds the address of the next free slot.
        self.head
            .set(unsafe { slot.cast::<Option<NonNull<u8>>>().read() });
        Ok(Block::from_raw_parts(slot, layout))
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        debug_assert!(self.owns_block(&block), "foreign block");
        // SAFETY: the block is a slot of this pool (caller), valid for a pointer.
        unsafe {
            block
                .ptr()
                .cast::<Option<NonNull<u8>>>()
                .write(self.head.get())
        };
        self.head.set(Some(block.ptr()));
    }
}

// SAFETY: claims exactly the slot-aligned blocks inside its buffer.
unsafe impl BlockOwner for Pool {
    #[inline]
    fn owns_block(&self, block: &Block) -> bool {
        let start = self.base.as_ptr().addr();
        block.is_inside(start, self.len) && (block.addr() - start) % Self::SLOT == 0
    }
}

/// One allocate+free pair per iteration.
fn pair<A: Allocator>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, alloc: &A) {
    group.bench_function(name, |b| {
        b.iter(|| {
            let block = alloc.allocate_raw(black_box(LAYOUT)).unwrap();
            // SAFETY: allocated just above.
            unsafe { alloc.deallocate_raw(black_box(block)) };
        });
    });
}

/// `BATCH` allocations, then frees in the pre-shuffled `order`, per iteration.
fn batch<A: Allocator>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    alloc: &A,
    order: &[usize],
) {
    let mut blocks = Vec::with_capacity(BATCH);
    group.bench_function(name, |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                blocks.push(alloc.allocate_raw(black_box(LAYOUT)).unwrap());
            }
            for &i in order {
                // SAFETY: each block was allocated above and is freed once (`order` is a
                // permutation).
                unsafe { alloc.deallocate_raw(black_box(blocks[i])) };
            }
            blocks.clear();
        });
    });
}

/// Runs `$workload` on each subject, in the same group (so in the same run).
macro_rules! subjects {
    ($group:expr, $workload:ident $(, $extra:expr)*) => {{
        let group = &mut *$group;
        $workload(group, "Heap", &Heap $(, $extra)*);
        $workload(group, "Proxy<Heap,NoLog>", &Heap.proxy(NoLog) $(, $extra)*);
        $workload(group, "Pool", &Pool::new(BATCH) $(, $extra)*);
        $workload(group, "Proxy<Pool,NoLog>", &Pool::new(BATCH).proxy(NoLog) $(, $extra)*);
        $workload(group, "Fallback<Pool,Heap>", &Pool::new(BATCH).with_fallback(Heap) $(, $extra)*);
        $workload(group, "Proxy<Pool,Counters>", &Pool::new(BATCH).proxy(Counters::new()) $(, $extra)*);
        // The real leaves and chains (issue 8), with the peers in the same run.
        $workload(group, "FreeList", &FreeList::new(16, BATCH).unwrap() $(, $extra)*);
        $workload(group, "Proxy<FreeList,NoLog>", &FreeList::new(16, BATCH).unwrap().proxy(NoLog) $(, $extra)*);
        $workload(group, "Fallback<FreeList,Heap>", &FreeList::new(16, BATCH).unwrap().with_fallback(Heap) $(, $extra)*);
        $workload(group, "Locked<FreeList>", &Locked::new(FreeList::new(16, BATCH).unwrap()) $(, $extra)*);
        $workload(group, "Segregator<Bucketizer>", &small_objects() $(, $extra)*);
        $workload(group, "System", &System $(, $extra)*);
        $workload(group, "mimalloc", &Mimalloc $(, $extra)*);
    }};
}

/// The small-object allocator: five power-of-two classes of 16 to 256 bytes, `BATCH`
/// blocks each, then `System`.
fn small_objects() -> impl Allocator {
    Bucketizer::<_, 5>::powers_of_two(16, |size| FreeList::new_in(size, BATCH, System))
        .unwrap()
        .segregate::<256, _>(System)
}

fn pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("compose/alloc_free_pair_16");
    group.throughput(Throughput::Elements(1));
    subjects!(&mut group, pair);
    group.finish();
}

fn batches(c: &mut Criterion) {
    let mut order: Vec<usize> = (0..BATCH).collect();
    Rng::new(42).shuffle(&mut order);
    let mut group = c.benchmark_group("compose/batch_1000x16_shuffled_free");
    group.throughput(Throughput::Elements(BATCH as u64));
    subjects!(&mut group, batch, &order);
    group.finish();
}

/// A batch twice the size of the pool: the second half goes to the fallback.
fn overflow(c: &mut Criterion) {
    let mut order: Vec<usize> = (0..BATCH).collect();
    Rng::new(43).shuffle(&mut order);
    let mut group = c.benchmark_group("compose/fallback_half_overflow_1000x16");
    group.throughput(Throughput::Elements(BATCH as u64));
    let g = &mut group;
    batch(
        g,
        "Fallback<FreeList,Heap>",
        &FreeList::new(16, BATCH / 2).unwrap().with_fallback(Heap),
        &order,
    );
    batch(
        g,
        "Fallback<Pool,Heap>",
        &Pool::new(BATCH / 2).with_fallback(Heap),
        &order,
    );
    batch(g, "Heap", &Heap, &order);
    batch(g, "System", &System, &order);
    batch(g, "mimalloc", &Mimalloc, &order);
    group.finish();
}

criterion_group!(benches, pairs, batches, overflow);
criterion_main!(benches);
