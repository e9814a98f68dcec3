//! [`GeneralPurpose`]: the ready composition for general use, and the
//! `#[global_allocator]` in one line.

mod backing;

use core::alloc::Layout;

use alloc_core::{Allocator, AllocatorError, Block};

use crate::cache::{CacheStats, ThreadCache};
use backing::Backing;

/// A general-purpose, multi-threaded allocator built from this crate's blocks: per-thread
/// caches ([`ThreadCache`]) in front of growable size classes ([`SizeClasses`](crate::SizeClasses)), with
/// `System` as their parent and for large blocks.
///
/// - Requests of 1 byte to 16 KiB, aligned to at most 16, are served from the calling
///   thread's cache: no lock, no atomic read-modify-write. Its batches come from a shared
///   depot, and the depot's from [`SizeClasses`](crate::SizeClasses) over [`System`](std::alloc::System)
///   (blocks of up to 4 KiB, carved from 16 KiB and 64 KiB chunks) or from `System` (the cache
///   classes of 5 to 16 KiB).
/// - Larger or more aligned requests go to `System` directly.
/// - Blocks freed by another thread join that thread's cache (see [`ThreadCache`]).
/// - Memory: a thread keeps at most [`ThreadCache::MAX_THREAD_BYTES`] of free blocks, the
///   depot at most 256 KiB per class; beyond that, blocks go back to the size classes,
///   which give a chunk back to `System` once it is empty (keeping one empty chunk per
///   class). Blocks of exiting threads wait in the depot for the other threads.
///
/// [`GeneralPurpose::new`] is a `const fn`, so the whole recipe for a program's global
/// allocator is one line (README and `examples/global.rs` of the `allocators` crate):
///
/// ```rust,standalone_crate
/// use alloc_global::{GeneralPurpose, GlobalAllocator};
///
/// #[global_allocator]
/// static A: GlobalAllocator<GeneralPurpose> = GlobalAllocator::new(GeneralPurpose::new());
///
/// fn main() {
///     let words: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
///     assert_eq!(words[999], "999");
///     assert!(A.get().unwrap().stats().cache.served > 0);
/// }
/// ```
///
/// As a value, it is an [`Allocator`] like any other, shared by `&` between threads; its
/// chunks go back to `System` when it is dropped.
///
/// # Examples
///
/// ```
/// use alloc_global::{Allocator, GeneralPurpose};
///
/// let gp = GeneralPurpose::new();
/// std::thread::scope(|s| {
///     for t in 0..2u32 {
///         let gp = &gp;
///         s.spawn(move || {
///             let v = gp.allocate_slice_with(100, |i| t + i as u32).unwrap();
///             assert_eq!(v[99], t + 99);
///         });
///     }
/// });
/// assert!(gp.stats().chunks >= 1);
/// ```
pub struct GeneralPurpose {
    cache: ThreadCache<Backing>,
}

/// The counters of a [`GeneralPurpose`]: its caches' and its size classes'.
///
/// # Examples
///
/// ```
/// use alloc_global::{Allocator, GeneralPurpose};
///
/// let gp = GeneralPurpose::new();
/// let _b = gp.allocate(1u64).unwrap();
/// let stats = gp.stats();
/// assert_eq!((stats.cache.served, stats.chunks), (1, 1));
/// assert_eq!((stats.chunk_bytes, stats.peak_chunk_bytes), (16 * 1024, 16 * 1024));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GeneralStats {
    /// The per-thread caches' counters (requests served per class, spills, bytes cached).
    pub cache: CacheStats,
    /// Chunks the size classes hold now (taken from `System`; given back when empty,
    /// keeping one empty chunk per class, and on drop).
    pub chunks: usize,
    /// Their bytes.
    pub chunk_bytes: usize,
    /// The most bytes of chunks held at once since the allocator was created: its peak
    /// memory for blocks of up to 4 KiB (larger ones are `System`'s).
    pub peak_chunk_bytes: usize,
}

impl GeneralPurpose {
    /// A new allocator; nothing is allocated before the first request. A `const fn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, GeneralPurpose};
    ///
    /// static GP: GeneralPurpose = GeneralPurpose::new();
    /// let b = GP.allocate_str("general").unwrap();
    /// assert_eq!(&*b, "general");
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            cache: ThreadCache::new(Backing::new()),
        }
    }

    /// The counters (see [`GeneralStats`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_global::{Allocator, GeneralPurpose};
    ///
    /// let gp = GeneralPurpose::new();
    /// let b = gp.allocate([0u8; 100_000]).unwrap(); // large: straight to `System`
    /// assert_eq!(gp.stats().cache.spills, 1);
    /// # drop(b);
    /// ```
    #[must_use]
    pub fn stats(&self) -> GeneralStats {
        let classes = self.cache.backing().classes();
        GeneralStats {
            cache: self.cache.stats(),
            chunks: classes.chunks(),
            chunk_bytes: classes.chunk_bytes(),
            peak_chunk_bytes: classes.peak_chunk_bytes(),
        }
    }
}

impl Default for GeneralPurpose {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for GeneralPurpose {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GeneralPurpose")
            .field("stats", &self.stats())
            .finish()
    }
}

// SAFETY: forwards every method to the thread caches, which keep the contract.
unsafe impl Allocator for GeneralPurpose {
    #[inline(always)]
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.cache.allocate_raw(layout)
    }
    #[inline(always)]
    unsafe fn deallocate_raw(&self, block: Block) {
        // SAFETY: forwarded from the caller.
        unsafe { self.cache.deallocate_raw(block) }
    }
    #[inline]
    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.cache.reallocate_raw(block, new_layout) }
    }
    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        self.cache.allocate_zeroed_raw(layout)
    }
}

alloc_core::impl_allocator_api2!(impl[] for GeneralPurpose);
