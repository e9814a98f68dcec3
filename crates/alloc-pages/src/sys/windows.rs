//! Pages from Windows through `windows-sys`: `VirtualAlloc` (reserve and commit),
//! `VirtualFree` (release), `VirtualProtect`.
//!
//! Windows releases only whole reservations (`MEM_RELEASE` with size 0 at the address
//! `VirtualAlloc` returned), so nothing is trimmed or shrunk in place: reallocations that
//! change the page count move, and alignments above the allocation granularity (64 KiB)
//! are found by reserving more, releasing, and reserving again at the aligned address.

use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use windows_sys::Win32::System::Memory::{
    MEM_COMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_NOACCESS, PAGE_READWRITE, VirtualAlloc, VirtualFree,
    VirtualProtect,
};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};

use super::page_size;

fn system_info() -> SYSTEM_INFO {
    let mut info = MaybeUninit::<SYSTEM_INFO>::uninit();
    // SAFETY: `GetSystemInfo` fills the whole structure it is given and cannot fail.
    unsafe { GetSystemInfo(info.as_mut_ptr()) };
    // SAFETY: initialised by the call above.
    unsafe { info.assume_init() }
}

pub(crate) fn os_page_size() -> usize {
    system_info().dwPageSize as usize
}

/// Reserves and commits `len` bytes at `at` (null: anywhere), readable and writable.
fn map_at(at: *const u8, len: usize) -> Option<NonNull<u8>> {
    // SAFETY: reserving fresh address space touches no existing memory; at a given
    // address it fails (null) if any of the range is already in use.
    let p = unsafe { VirtualAlloc(at.cast(), len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) };
    NonNull::new(p.cast::<u8>())
}

/// Releases a whole reservation.
///
/// # Safety
///
/// `ptr` is the address `VirtualAlloc` returned for a reservation that is no longer used.
unsafe fn release(ptr: NonNull<u8>) {
    // SAFETY: the caller's promise.
    let ok = unsafe { VirtualFree(ptr.as_ptr().cast(), 0, MEM_RELEASE) };
    debug_assert!(ok != 0, "alloc_pages: VirtualFree failed");
}

/// A reservation of `len` bytes aligned to `align` (a power of two, at least a page).
pub(crate) fn map_aligned(len: usize, align: usize) -> Option<NonNull<u8>> {
    let granularity = system_info().dwAllocationGranularity as usize;
    if align <= granularity.max(page_size()) {
        return map_at(ptr::null(), len);
    }
    let total = len.checked_add(align)?;
    // Another thread may take the address between the release and the second
    // reservation: try a few times.
    for _ in 0..16 {
        let probe = map_at(ptr::null(), total)?;
        let aligned = probe.as_ptr().addr().next_multiple_of(align);
        // SAFETY: `probe` was reserved just above and is used by no one.
        unsafe { release(probe) };
        if let Some(p) = map_at(probe.as_ptr().with_addr(aligned), len) {
            return Some(p);
        }
    }
    None
}

/// Releases a reservation of [`map_aligned`].
///
/// # Safety
///
/// `ptr` is the pointer `map_aligned` returned, no longer used.
pub(crate) unsafe fn unmap_aligned(ptr: NonNull<u8>, _len: usize, _align: usize) {
    // SAFETY: forwarded from the caller: the address of a whole reservation.
    unsafe { release(ptr) }
}

/// Windows has no `mremap`.
pub(crate) const CAN_REMAP: bool = false;

/// Never called ([`CAN_REMAP`] is false).
///
/// # Safety
///
/// As the unix version's.
pub(crate) unsafe fn remap(_ptr: NonNull<u8>, _old: usize, _new: usize) -> Option<NonNull<u8>> {
    None
}

/// A reservation is released whole: shrinking moves.
///
/// # Safety
///
/// As the unix version's.
pub(crate) unsafe fn shrink(_ptr: NonNull<u8>, _old: usize, _new: usize) -> bool {
    false
}

/// Committed memory of a fresh reservation reads as zero.
pub(crate) const FRESH_IS_ZERO: bool = true;

/// `len` bytes followed by one inaccessible guard page.
pub(crate) fn map_guarded(len: usize) -> Option<NonNull<u8>> {
    let page = page_size();
    let base = map_at(ptr::null(), len.checked_add(page)?)?;
    // SAFETY: `len` bytes into the reservation just made: its last page.
    let guard = unsafe { base.add(len) };
    let mut old = 0;
    // SAFETY: the last page of our reservation, unused.
    if unsafe { VirtualProtect(guard.as_ptr().cast(), page, PAGE_NOACCESS, &raw mut old) } == 0 {
        // SAFETY: the reservation just made, unused.
        unsafe { release(base) };
        return None;
    }
    Some(base)
}

/// Makes `len` bytes of a [`map_guarded`] reservation inaccessible, keeping it reserved.
///
/// # Safety
///
/// `ptr..ptr + len` is the accessible part of a `map_guarded` reservation, unused.
pub(crate) unsafe fn retire(ptr: NonNull<u8>, len: usize) {
    let mut old = 0;
    // SAFETY: the caller's promise: our pages, unused.
    let ok = unsafe { VirtualProtect(ptr.as_ptr().cast(), len, PAGE_NOACCESS, &raw mut old) };
    debug_assert!(ok != 0, "alloc_pages: VirtualProtect(PAGE_NOACCESS) failed");
}

/// Releases a whole [`map_guarded`] reservation, live or retired.
///
/// # Safety
///
/// `ptr` is the pointer `map_guarded` returned, no longer used.
pub(crate) unsafe fn unmap_guarded(ptr: NonNull<u8>, _len: usize, _retired: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { release(ptr) }
}
