//! `Pages` (one `mmap`/`munmap` per block) against System and mimalloc for large blocks:
//! `pages/alloc_touch_free/{64KiB,1MiB,16MiB}`, each iteration allocates one block, writes
//! one byte per 4 KiB page (so every allocator pays for the pages it hands out), and frees
//! it. Issue 17's goal: `Pages` within 1.1× System. `pages/alloc_free/..`: the same
//! without touching the pages (the system calls alone).
//!
//! What the numbers mean: glibc's malloc serves these sizes with `mmap` only until its
//! dynamic threshold rises (after the first free of such a block, up to 32 MiB), then from
//! its heap, reusing pages that are already faulted in; mimalloc keeps freed segments too.
//! `Pages` maps fresh pages on every call, which the kernel must zero and fault in.
//! `Recycler<Pages>` (alloc-compose) keeps freed blocks and hands them out again: the
//! composition issue 17 asks to be within 1.1× System.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use alloc_compose::Recycler;
use alloc_pages::{Allocator, Pages};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [(usize, &str); 3] = [(64 << 10, "64KiB"), (1 << 20, "1MiB"), (16 << 20, "16MiB")];

/// Writes one byte in each 4 KiB page of `len` bytes at `p`.
///
/// # Safety
///
/// `p` is valid for writes of `len` bytes.
unsafe fn touch(p: *mut u8, len: usize) {
    for i in (0..len).step_by(4096) {
        // SAFETY: `i < len` (the caller's promise).
        unsafe { p.add(i).write_volatile(1) };
    }
}

fn alloc_touch_free(c: &mut Criterion) {
    let mut group = c.benchmark_group("pages/alloc_touch_free");
    for (size, name) in SIZES {
        let layout = Layout::from_size_align(size, 8).unwrap();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("System/{name}"), |b| {
            b.iter(|| {
                // SAFETY: non-zero size; the block is touched within its size and freed
                // with the same layout.
                unsafe {
                    let p = System.alloc(black_box(layout));
                    touch(p, size);
                    System.dealloc(black_box(p), layout);
                }
            });
        });
        group.bench_function(format!("mimalloc/{name}"), |b| {
            b.iter(|| {
                // SAFETY: as above.
                unsafe {
                    let p = mimalloc::MiMalloc.alloc(black_box(layout));
                    touch(p, size);
                    mimalloc::MiMalloc.dealloc(black_box(p), layout);
                }
            });
        });
        group.bench_function(format!("Pages/{name}"), |b| {
            b.iter(|| {
                let block = Pages.allocate_raw(black_box(layout)).unwrap();
                // SAFETY: the block is valid for `size` bytes (at least), freed just after.
                unsafe {
                    touch(block.as_ptr(), size);
                    Pages.deallocate_raw(black_box(block));
                }
            });
        });
        let recycler = Recycler::new(Pages, 8);
        group.bench_function(format!("Recycler<Pages>/{name}"), |b| {
            b.iter(|| {
                let block = recycler.allocate_raw(black_box(layout)).unwrap();
                // SAFETY: the block is valid for `size` bytes (at least), freed just after.
                unsafe {
                    touch(block.as_ptr(), size);
                    recycler.deallocate_raw(black_box(block));
                }
            });
        });
    }
    group.finish();
}

/// The same without touching the pages: the system calls alone (`mmap` + `munmap` for
/// `Pages`; nothing is faulted in).
fn alloc_free(c: &mut Criterion) {
    let mut group = c.benchmark_group("pages/alloc_free");
    for (size, name) in SIZES {
        let layout = Layout::from_size_align(size, 8).unwrap();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("System/{name}"), |b| {
            b.iter(|| {
                // SAFETY: non-zero size; the block is freed with the same layout.
                unsafe { System.dealloc(black_box(System.alloc(black_box(layout))), layout) };
            });
        });
        group.bench_function(format!("Pages/{name}"), |b| {
            b.iter(|| {
                let block = Pages.allocate_raw(black_box(layout)).unwrap();
                // SAFETY: allocated just above.
                unsafe { Pages.deallocate_raw(black_box(block)) };
            });
        });
        let recycler = Recycler::new(Pages, 8);
        group.bench_function(format!("Recycler<Pages>/{name}"), |b| {
            b.iter(|| {
                let block = recycler.allocate_raw(black_box(layout)).unwrap();
                // SAFETY: allocated just above.
                unsafe { recycler.deallocate_raw(black_box(block)) };
            });
        });
    }
    group.finish();
}

criterion_group!(benches, alloc_touch_free, alloc_free);
criterion_main!(benches);
