//! Pages from a unix kernel through `libc`: anonymous private mappings.

use core::ptr::{self, NonNull};

use super::page_size;

pub(crate) fn os_page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions; `_SC_PAGESIZE` is defined on every unix.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // POSIX requires a positive answer; fall back to the most common size if a system
    // says otherwise (4 KiB is a divisor of every real page size, hence still correct for
    // `mmap`, which rounds lengths up itself).
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// A fresh anonymous mapping of `len` bytes (readable and writable, zero-filled), or
/// `None` if the kernel refuses.
fn map(len: usize) -> Option<NonNull<u8>> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches
    // no existing memory; the arguments are valid for any `len`.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        None
    } else {
        advise_huge(p, len);
        NonNull::new(p.cast::<u8>())
    }
}

/// The smallest mapping that asks for transparent huge pages: one huge page of x86-64 and
/// AArch64 (4 KiB base pages).
const HUGE: usize = 2 << 20;

/// Whether mappings ask for transparent huge pages (Linux's `madvise(MADV_HUGEPAGE)`).
const HUGE_HINT: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Asks Linux for transparent huge pages on a mapping of [`HUGE`] bytes or more: where the
/// system leaves them to the program (`/sys/kernel/mm/transparent_hugepage/enabled` set
/// to `madvise`, a common default), a large block otherwise pays one page fault per 4 KiB
/// when first written (measured: a 16 MiB block 1.26x System without, 0.77x with). A hint
/// only: where huge pages are off or unsupported, nothing changes.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn advise_huge(p: *mut libc::c_void, len: usize) {
    if len >= HUGE {
        // SAFETY: `p..p + len` is the mapping just made; `madvise` only changes how the
        // kernel backs it, never its contents or validity. Its result is only a hint's.
        let _ = unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn advise_huge(_: *mut libc::c_void, _: usize) {}

/// Unmaps `len` bytes at `ptr`.
///
/// # Safety
///
/// `ptr..ptr + len` is page-aligned memory mapped by this module and no longer used.
unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller's promise; `munmap` of a mapped, unused range cannot affect any
    // other memory.
    let r = unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
    // `munmap` fails only for arguments that are not a mapped page range: a broken
    // promise of the caller. Say so rather than leak silently.
    debug_assert_eq!(r, 0, "alloc_pages: munmap failed");
}

/// A mapping of `len` bytes aligned to `align` (a power of two, at least a page): maps
/// `len + align - page` bytes and unmaps the excess before and after the aligned part.
pub(crate) fn map_aligned(len: usize, align: usize) -> Option<NonNull<u8>> {
    let page = page_size();
    // A block of huge pages or more starts on a huge page boundary, so that all of it can
    // be backed by huge pages (see `advise_huge`), not only the aligned middle.
    let align = if HUGE_HINT && len >= HUGE {
        align.max(HUGE)
    } else {
        align
    };
    if align <= page {
        return map(len);
    }
    let total = len.checked_add(align - page)?;
    let base = map(total)?;
    let head = base.as_ptr().addr().next_multiple_of(align) - base.as_ptr().addr();
    let tail = total - head - len;
    // SAFETY: `head + len <= total`: the aligned part lies inside the mapping.
    let aligned = unsafe { base.add(head) };
    if head > 0 {
        // SAFETY: the first `head` bytes (a multiple of the page size: both addresses are
        // page-aligned) belong to the mapping just made and are used by no one.
        unsafe { unmap(base, head) };
    }
    if tail > 0 {
        // SAFETY: the last `tail` bytes (a multiple of the page size) likewise.
        unsafe { unmap(aligned.add(len), tail) };
    }
    Some(aligned)
}

/// Gives back a mapping of [`map_aligned`].
///
/// # Safety
///
/// `ptr` and `len` are those of a mapping returned by `map_aligned` (possibly resized by
/// [`remap`] or [`shrink`]), no longer used.
pub(crate) unsafe fn unmap_aligned(ptr: NonNull<u8>, len: usize, _align: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { unmap(ptr, len) }
}

/// Whether [`remap`] exists: `mremap` is Linux's (and Android's).
pub(crate) const CAN_REMAP: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Resizes a page-aligned mapping from `old` to `new` bytes, moving it if needed
/// (`mremap` with `MREMAP_MAYMOVE`: the kernel moves the page table entries, no bytes are
/// copied). `None` if the kernel refuses: the old mapping is then unchanged.
///
/// # Safety
///
/// `ptr..ptr + old` is a mapping of this module, not used during the call; afterwards
/// only the returned pointer is valid (for `new` bytes).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) unsafe fn remap(ptr: NonNull<u8>, old: usize, new: usize) -> Option<NonNull<u8>> {
    // SAFETY: the caller's promise: the range is ours and unused; `MREMAP_MAYMOVE` lets
    // the kernel choose a new place, which it takes from unmapped address space.
    let p = unsafe { libc::mremap(ptr.as_ptr().cast(), old, new, libc::MREMAP_MAYMOVE) };
    if p == libc::MAP_FAILED {
        None
    } else {
        NonNull::new(p.cast::<u8>())
    }
}

/// Not available here ([`CAN_REMAP`] is false): never called.
///
/// # Safety
///
/// As the Linux version's.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) unsafe fn remap(_ptr: NonNull<u8>, _old: usize, _new: usize) -> Option<NonNull<u8>> {
    None
}

/// Shrinks a mapping from `old` to `new` bytes in place by unmapping its tail; returns
/// whether it did (always, on unix).
///
/// # Safety
///
/// `ptr..ptr + old` is a mapping of this module; the bytes from `new` on are not used
/// any more. `new < old`, both multiples of the page size.
pub(crate) unsafe fn shrink(ptr: NonNull<u8>, old: usize, new: usize) -> bool {
    // SAFETY: the tail `ptr + new .. ptr + old` lies inside the mapping (caller), is
    // page-aligned and no longer used.
    unsafe { unmap(ptr.add(new), old - new) };
    true
}

/// Memory from a fresh mapping reads as zero.
pub(crate) const FRESH_IS_ZERO: bool = true;

/// A mapping of `len` bytes followed by one inaccessible guard page (`len + page` bytes
/// mapped in all). `None` if the system refuses or `len + page` overflows.
pub(crate) fn map_guarded(len: usize) -> Option<NonNull<u8>> {
    let page = page_size();
    let base = map(len.checked_add(page)?)?;
    // SAFETY: the last page of the mapping just made, used by no one.
    let guard = unsafe { base.add(len) };
    // SAFETY: `guard..guard + page` is the mapping's last page, page-aligned.
    if unsafe { libc::mprotect(guard.as_ptr().cast(), page, libc::PROT_NONE) } != 0 {
        // SAFETY: the whole mapping just made, unused.
        unsafe { unmap(base, len + page) };
        return None;
    }
    Some(base)
}

/// Makes the `len` bytes of a [`map_guarded`] mapping inaccessible, keeping the address
/// range reserved (it is never handed out again while it stays mapped).
///
/// # Safety
///
/// `ptr..ptr + len` is the accessible part of a `map_guarded` mapping, no longer used.
pub(crate) unsafe fn retire(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller's promise: our pages, page-aligned, unused.
    let r = unsafe { libc::mprotect(ptr.as_ptr().cast(), len, libc::PROT_NONE) };
    // `mprotect` of our own mapping fails only when the kernel cannot split its mapping
    // records (ENOMEM, too many mappings): the pages then stay accessible, which loses the
    // fault but breaks nothing. Release builds go on; debug builds say it.
    debug_assert_eq!(r, 0, "alloc_pages: mprotect(PROT_NONE) failed");
}

/// Unmaps a whole [`map_guarded`] mapping of `len` accessible bytes, live or retired.
///
/// # Safety
///
/// `ptr` and `len` are those of a `map_guarded` mapping, no longer used.
pub(crate) unsafe fn unmap_guarded(ptr: NonNull<u8>, len: usize, _retired: bool) {
    // SAFETY: forwarded from the caller: the mapping is `len + page` bytes.
    unsafe { unmap(ptr, len + page_size()) }
}
