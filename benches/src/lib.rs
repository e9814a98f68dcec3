//! Shared helpers of the benchmark suite (see `benches/README.md`). Random inputs come
//! from `test_rng::Rng`, the generator of the whole workspace.

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

pub mod threaded;
pub mod workloads;

/// mimalloc (a `GlobalAlloc`) as an [`Allocator`](allocators::Allocator), so that it runs
/// through the same generic workloads as our allocators.
///
/// ```
/// use allocators::Allocator;
/// use std::alloc::Layout;
///
/// let block = allocators_benches::Mimalloc.allocate_raw(Layout::new::<u64>()).unwrap();
/// // SAFETY: allocated just above.
/// unsafe { allocators_benches::Mimalloc.deallocate_raw(block) };
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Mimalloc;

/// The one adapter over `GlobalAlloc` (`Heap` and `System` use it too).
const MI: allocators::FromGlobalAlloc<'static, mimalloc::MiMalloc> =
    allocators::FromGlobalAlloc(&mimalloc::MiMalloc);

// SAFETY: every method forwards to `FromGlobalAlloc` over mimalloc, whose blocks live in
// mimalloc, independently of this zero-size handle.
unsafe impl allocators::Allocator for Mimalloc {
    #[inline]
    fn allocate_raw(
        &self,
        layout: std::alloc::Layout,
    ) -> Result<allocators::Block, allocators::AllocatorError> {
        MI.allocate_raw(layout)
    }

    #[inline]
    fn allocate_zeroed_raw(
        &self,
        layout: std::alloc::Layout,
    ) -> Result<allocators::Block, allocators::AllocatorError> {
        MI.allocate_zeroed_raw(layout)
    }

    #[inline]
    unsafe fn deallocate_raw(&self, block: allocators::Block) {
        // SAFETY: forwarded (the caller's contract: a block of mimalloc).
        unsafe { MI.deallocate_raw(block) }
    }

    /// With `mi_realloc` (in place where it can), as a `GlobalAlloc` user gets it.
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: allocators::Block,
        new_layout: std::alloc::Layout,
    ) -> Result<allocators::Block, allocators::AllocatorError> {
        // SAFETY: forwarded (the caller's contract: a block of mimalloc).
        unsafe { MI.reallocate_raw(block, new_layout) }
    }
}

/// The allocation sizes of the size curves: 8 B to 64 KiB, every factor of four, and
/// 64 KiB itself.
///
/// ```
/// assert_eq!(allocators_benches::SIZE_CURVE.first(), Some(&8));
/// assert_eq!(allocators_benches::SIZE_CURVE.last(), Some(&65536));
/// ```
pub const SIZE_CURVE: [usize; 8] = [8, 32, 128, 512, 2048, 8192, 32768, 65536];

/// The thread counts of the thread curves: 1 and 2, then doubling up to the machine's
/// available parallelism, and that number itself.
///
/// ```
/// let counts = allocators_benches::thread_curve();
/// assert_eq!(&counts[..2], &[1, 2]);
/// assert!(counts.windows(2).all(|w| w[0] < w[1]));
/// ```
#[must_use]
pub fn thread_curve() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut counts = vec![1, 2];
    let mut n = 4;
    while n <= cores {
        counts.push(n);
        n *= 2;
    }
    if cores > 2 && !counts.contains(&cores) {
        counts.push(cores);
    }
    counts
}
