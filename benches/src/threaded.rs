//! The subjects of the thread suites (`threads`, `larson`, `xmalloc`, `memory_threads`):
//! one trait for any thread-safe allocator, and **the one list** of them,
//! [`for_each_subject`]. A new allocator joins every thread suite with one line there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::ptr::NonNull;

use alloc_compose::{AllocatorExt, Bucketizer, Fallback, Segregator};
use alloc_freelist::{FreeList, SyncFreeList};
use alloc_global::{GeneralPurpose, GlobalAllocator, Locked, SharedFreeList};
use allocators::{Allocator, Block};

/// A thread-safe allocator under test, through the narrowest interface every kind offers:
/// allocate a layout, free a block with its layout.
///
/// Every subject of [`for_each_subject`] accepts a block freed by another thread than the
/// one that allocated it (the workloads hand blocks over). Allocation failure panics:
/// workloads are sized so that no subject runs out.
///
/// ```
/// use std::alloc::Layout;
/// use allocators_benches::threaded::{Ours, Subject};
/// use alloc_freelist::SyncFreeList;
///
/// let subject = Ours(SyncFreeList::new(64, 4).unwrap());
/// let layout = Layout::from_size_align(48, 8).unwrap();
/// let p = subject.alloc(layout);
/// // SAFETY: allocated just above with `layout`, freed once.
/// unsafe { subject.free(p, layout) };
/// ```
pub trait Subject: Sync {
    /// A block for `layout` (non-zero size); panics if the allocator refuses.
    fn alloc(&self, layout: Layout) -> NonNull<u8>;

    /// Frees `ptr`, on any thread.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`alloc`](Self::alloc) of this subject with `layout`, and is not
    /// used afterwards.
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout);

    /// The bytes a live block holds, for an allocator whose memory is not counted at a
    /// parent (the peers: System, mimalloc, jemalloc report their size-class rounding);
    /// `None` for ours, whose parent is counted.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this subject, allocated with `layout`.
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> Option<usize> {
        let _ = (ptr, layout);
        None
    }

    /// The most bytes the subject has held from the system itself since it was created,
    /// for an allocator of ours without a parent to count (`GeneralPurpose`); `None`
    /// otherwise.
    fn held(&self) -> Option<usize> {
        None
    }
}

impl<S: Subject + ?Sized> Subject for &S {
    #[inline]
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        (**self).alloc(layout)
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded (caller's contract).
        unsafe { (**self).free(ptr, layout) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> Option<usize> {
        // SAFETY: forwarded (caller's contract).
        unsafe { (**self).usable_size(ptr, layout) }
    }

    fn held(&self) -> Option<usize> {
        (**self).held()
    }
}

/// One of our [`Allocator`]s as a [`Subject`] (see [`Subject`]'s example).
#[derive(Debug)]
pub struct Ours<A>(pub A);

impl<A: Allocator + Sync> Subject for Ours<A> {
    #[inline]
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        match self.0.allocate_raw(layout) {
            Ok(block) => block.ptr(),
            Err(e) => panic!("subject refused {layout:?}: {e}"),
        }
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: a live block of this allocator with this layout (caller).
        unsafe { self.0.deallocate_raw(Block::from_raw_parts(ptr, layout)) }
    }
}

/// [`GeneralPurpose`] as a [`Subject`], with its memory: the peak of the chunks its size
/// classes took from `System` (workloads of at most 4 KiB blocks send nothing elsewhere,
/// which is checked).
///
/// ```
/// use std::alloc::Layout;
/// use allocators_benches::threaded::{General, Subject};
///
/// let subject = General(alloc_global::GeneralPurpose::new());
/// let layout = Layout::new::<u64>();
/// let p = subject.alloc(layout);
/// // SAFETY: allocated just above with `layout`, freed once.
/// unsafe { subject.free(p, layout) };
/// assert_eq!(subject.held(), Some(16 * 1024));
/// ```
#[derive(Debug)]
pub struct General(pub GeneralPurpose);

impl Subject for General {
    #[inline]
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        Ours(&self.0).alloc(layout)
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded (caller's contract).
        unsafe { Ours(&self.0).free(ptr, layout) }
    }

    fn held(&self) -> Option<usize> {
        let stats = self.0.stats();
        assert_eq!(
            stats.cache.spills, 0,
            "blocks past the classes are not counted"
        );
        Some(stats.peak_chunk_bytes)
    }
}

/// A [`GlobalAlloc`] as a [`Subject`]: how a program calls its `#[global_allocator]`.
///
/// ```
/// use std::alloc::{Layout, System};
/// use allocators_benches::threaded::{Global, Subject};
///
/// let subject = Global(System);
/// let layout = Layout::new::<u64>();
/// let p = subject.alloc(layout);
/// // SAFETY: allocated just above with `layout`, freed once.
/// unsafe { subject.free(p, layout) };
/// ```
#[derive(Debug)]
pub struct Global<G>(pub G);

impl<G: GlobalAlloc + Sync> Subject for Global<G> {
    #[inline]
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        // SAFETY: workloads never ask for zero bytes (`Subject::alloc`'s contract).
        NonNull::new(unsafe { self.0.alloc(layout) })
            .unwrap_or_else(|| panic!("subject refused {layout:?}"))
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: a live block of this allocator with this layout (caller).
        unsafe { self.0.dealloc(ptr.as_ptr(), layout) }
    }
}

/// A peer (a `GlobalAlloc` a user would otherwise pick) with its usable-size function.
struct Peer<G> {
    alloc: G,
    /// Safety: called only on live blocks of `alloc`.
    usable: unsafe fn(NonNull<u8>) -> usize,
}

impl<G: GlobalAlloc + Sync> Subject for Peer<G> {
    #[inline]
    fn alloc(&self, layout: Layout) -> NonNull<u8> {
        // SAFETY: workloads never ask for zero bytes (`Subject::alloc`'s contract).
        NonNull::new(unsafe { self.alloc.alloc(layout) })
            .unwrap_or_else(|| panic!("subject refused {layout:?}"))
    }

    #[inline]
    unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: a live block of this allocator with this layout (caller).
        unsafe { self.alloc.dealloc(ptr.as_ptr(), layout) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, _: Layout) -> Option<usize> {
        // SAFETY: a live block of `alloc` (caller), which `usable` reads.
        Some(unsafe { (self.usable)(ptr) })
    }
}

unsafe extern "C" {
    /// glibc: the usable size of a live block of `malloc`.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
    /// mimalloc: the usable size of a live block (linked in by the `mimalloc` crate).
    fn mi_usable_size(ptr: *const c_void) -> usize;
}

/// # Safety
///
/// `ptr` is a live block of `System`.
unsafe fn system_usable(ptr: NonNull<u8>) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: a live block of `System`, which is glibc's `malloc` here (caller).
        unsafe { malloc_usable_size(ptr.as_ptr().cast()) }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = ptr;
        0
    }
}

/// # Safety
///
/// `ptr` is a live block of mimalloc.
unsafe fn mimalloc_usable(ptr: NonNull<u8>) -> usize {
    // SAFETY: a live block of mimalloc (caller).
    unsafe { mi_usable_size(ptr.as_ptr().cast_const().cast()) }
}

/// # Safety
///
/// `ptr` is a live block of jemalloc.
unsafe fn jemalloc_usable(ptr: NonNull<u8>) -> usize {
    // SAFETY: a live block of jemalloc (caller).
    unsafe { tikv_jemallocator::usable_size(ptr.as_ptr().cast_const()) }
}

/// What a workload needs of a subject: request sizes up to `max_size` bytes, at most
/// `live` blocks live at once (so that fixed-capacity subjects never run out, and
/// fixed-size ones take part only where their block size serves every request).
///
/// ```
/// let shape = allocators_benches::threaded::Shape { max_size: 64, live: 1024 };
/// assert!(shape.max_size <= 64);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// The largest request, in bytes (alignment at most 8).
    pub max_size: usize,
    /// The most blocks live at once, over all threads.
    pub live: usize,
}

/// Receives each subject of [`for_each_subject`] in turn.
///
/// ```
/// use allocators_benches::threaded::{Subject, Visit};
///
/// struct Names(Vec<String>);
/// impl Visit for Names {
///     fn visit<S: Subject>(&mut self, name: &str, _: &S) {
///         self.0.push(name.into());
///     }
/// }
/// let mut names = Names(Vec::new());
/// let shape = allocators_benches::threaded::Shape { max_size: 64, live: 16 };
/// allocators_benches::threaded::for_each_subject(std::alloc::System, shape, &mut names);
/// assert_eq!(&names.0[..2], ["System", "mimalloc"]);
/// ```
pub trait Visit {
    /// Runs the workload on `subject`, reported as `name`.
    fn visit<S: Subject>(&mut self, name: &str, subject: &S);
}

/// Blocks per size class of [`composition`], as in the composition test of the facade.
pub const CLASS_BLOCKS: usize = 4096;

/// Our thread-safe composition without a lock, as `crates/allocators/tests/global_allocator.rs`
/// builds it: requests up to 256 bytes to five power-of-two classes of `SyncFreeList`
/// (16 to 256 bytes, [`CLASS_BLOCKS`] blocks each; a full class spills to `parent`),
/// larger ones to `parent`.
///
/// # Panics
///
/// If `parent` cannot hold the classes' regions.
///
/// ```
/// use allocators::Allocator;
/// let alloc = allocators_benches::threaded::composition(std::alloc::System);
/// let b = alloc.allocate([0u8; 100]).unwrap();
/// assert_eq!(b[99], 0);
/// ```
pub fn composition<P: Allocator + Clone>(
    parent: P,
) -> Segregator<256, Fallback<Bucketizer<SyncFreeList<P>, 5>, P>, P> {
    Bucketizer::powers_of_two(16, |size| {
        SyncFreeList::new_in(size, CLASS_BLOCKS, parent.clone())
    })
    .unwrap()
    .with_fallback(parent.clone())
    .segregate::<256, _>(parent)
}

/// The small-object allocator of the pool suite behind one lock: five power-of-two classes
/// of `FreeList` (16 to 256 bytes, `per_class` blocks each), larger requests to `parent`.
fn locked_small_objects<P: Allocator + Clone + Send>(
    per_class: usize,
    parent: P,
) -> Locked<Segregator<256, Bucketizer<FreeList<P>, 5>, P>> {
    let classes =
        Bucketizer::powers_of_two(16, |size| FreeList::new_in(size, per_class, parent.clone()))
            .unwrap();
    Locked::new(classes.segregate::<256, _>(parent))
}

/// **The list of thread-safe subjects**: hands each, built for `shape` over `parent`
/// (our allocators take their memory there; the peers ignore it), to `visitor`. Every
/// thread suite runs this list; an allocator joins them all with one line here.
///
/// The peers first (System, mimalloc, jemalloc), then ours: `SyncFreeList` (where 64-byte
/// blocks serve the workload), the small-object allocator behind a `Locked` spin lock, and
/// the lock-free [`composition`] behind `GlobalAllocator`, called as a `#[global_allocator]`
/// is.
///
/// # Panics
///
/// If `parent` refuses the memory an allocator reserves up front.
///
/// (Example: [`Visit`].)
pub fn for_each_subject<P>(parent: P, shape: Shape, visitor: &mut impl Visit)
where
    P: Allocator + Clone + Send + Sync,
{
    let system = Peer {
        alloc: System,
        usable: system_usable,
    };
    visitor.visit("System", &system);
    let mimalloc = Peer {
        alloc: mimalloc::MiMalloc,
        usable: mimalloc_usable,
    };
    visitor.visit("mimalloc", &mimalloc);
    let jemalloc = Peer {
        alloc: tikv_jemallocator::Jemalloc,
        usable: jemalloc_usable,
    };
    visitor.visit("jemalloc", &jemalloc);
    // Each of ours is built just before its turn and dropped just after (a block each), so
    // that none holds memory during another's run.
    if shape.max_size <= 64 {
        let list = SyncFreeList::new_in(64, shape.live, parent.clone()).unwrap();
        visitor.visit("SyncFreeList", &Ours(list));
    }
    {
        let small = locked_small_objects(shape.live, parent.clone());
        visitor.visit("Locked<Segregator<Bucketizer>>", &Ours(small));
    }
    {
        let global = GlobalAllocator::new(composition(parent.clone()));
        let name = "GlobalAllocator<Segregator<Bucketizer<SyncFreeList>>>";
        visitor.visit(name, &Global(global));
    }
    // Issue 14's allocators. `GeneralPurpose` takes its chunks from `System` itself (no
    // parent to count: `General` reports them; the `GlobalAllocator` form has no such
    // report, and the memory suite leaves it out).
    if shape.max_size <= 64 {
        let list = SharedFreeList::new_in(64, shape.live, parent.clone()).unwrap();
        visitor.visit("SharedFreeList", &Ours(list));
    }
    visitor.visit("GeneralPurpose", &General(GeneralPurpose::new()));
    {
        let global = GlobalAllocator::new(GeneralPurpose::new());
        visitor.visit("GlobalAllocator<GeneralPurpose>", &Global(global));
    }
}
