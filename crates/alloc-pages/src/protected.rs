//! [`Protected`]: an electric-fence allocator; every block on pages of its own, its end
//! against an inaccessible page, its pages made inaccessible when it is freed.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

use alloc::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use alloc_core::{Allocator, AllocatorError, Block, BlockOwner};

use crate::pages::round_to_pages;
use crate::sys;

/// One block handed out, live or freed.
#[derive(Clone, Copy, Debug)]
struct Record {
    /// The start of the mapping: `len` accessible bytes then one guard page.
    map: NonNull<u8>,
    /// The accessible bytes of the mapping (a multiple of the page size).
    len: usize,
    /// The size asked for, and the size handed out (up to the guard page).
    requested: usize,
    returned: usize,
    align: usize,
    /// `false` once freed: the pages are inaccessible, the address never used again.
    live: bool,
}

/// The records of every block handed out, by block address, with the live count.
#[derive(Debug, Default)]
struct Records {
    blocks: BTreeMap<usize, Record>,
    live: usize,
}

/// An electric-fence allocator (D's `AscendingPageAllocator`, Bruce Perens' Electric
/// Fence): **every block on pages of its own**, placed so that its **end touches an
/// inaccessible guard page**, and **freed blocks' pages made inaccessible and never
/// reused**. An overflow past the end, or any use of a freed block, faults at once
/// (`SIGSEGV` on unix, an access violation on Windows) at the faulty instruction, instead
/// of being found later from a fill pattern. For debugging and tests only: **memory and
/// address space grow with every allocation** (a freed block keeps its address range
/// reserved until the `Protected` is dropped), and every request costs system calls.
///
/// - **Placement.** A block of `size` bytes aligned to `align` gets
///   `ceil(size / page)` pages (plus `align - page` bytes when `align` is larger than a
///   page) followed by one guard page. Its start is the highest address aligned to
///   `align` that leaves `size` bytes before the guard page, so the slack (less than a
///   page, plus the alignment's) is at the front. The block is handed out with the size
///   that reaches the guard page (less than `size + align`): one byte past what it
///   reports faults.
/// - **Freeing** makes the block's pages inaccessible (`mprotect(PROT_NONE)`,
///   `VirtualProtect(PAGE_NOACCESS)`); they stay mapped (reserved), so the system never
///   hands the addresses out again while the `Protected` lives. Dropping the `Protected`
///   unmaps everything.
/// - **Reallocation** always moves (to new pages, unless the layout is unchanged), so a
///   stale pointer to the old block faults too.
/// - **Checks.** A table (a `BTreeMap` behind a `std` `Mutex`, on the global heap) records
///   every block handed out, live or freed. Giving back a block that was freed panics
///   with **"double free"**; one this allocator never handed out, **"foreign block"**; one
///   whose size or alignment does not fit the allocation, **"wrong layout"**. The panic
///   comes before anything changes, with the lock released. A header on the block's own
///   pages would have been user-visible slack, and a header page a second system call per
///   block; the table keeps the checks exact (addresses are never reused) for
///   O(log n) per operation, which is nothing next to the system calls.
///
/// It is a [`BlockOwner`] (the table knows its blocks), `Send` and `Sync`. It calls no
/// user code. It is not meant as the `#[global_allocator]` (its table lives on the global
/// heap). **The page-protected mode of `Guard`** (alloc-compose) is
/// `Guard::new(Protected::new())`: `Guard`'s fences catch small overflows and underflows
/// and wrong layouts when a block is freed, and `Protected`'s pages make an overflow past
/// the fence and any use after free fault at once.
///
/// Under Miri (which has no `mprotect`), blocks come from the global heap with no
/// guard page and are deallocated when freed, so Miri reports the same bugs as out-of-bounds
/// or use-after-free accesses; the heap may then reuse an address, and the table follows.
///
/// # Examples
///
/// ```
/// use alloc_pages::{Allocator, BlockOwner, Protected};
///
/// let fence = Protected::new();
/// let mut v = fence.allocate_slice_copy(&[1u8, 2, 3]).unwrap();
/// v[2] = 30;
/// assert_eq!(fence.live_blocks(), 1);
/// drop(v); // its page is now inaccessible: reading `v` again would fault
/// assert_eq!(fence.live_blocks(), 0);
/// ```
///
/// A double free is caught and named:
///
/// ```should_panic
/// use alloc_pages::{Allocator, Protected};
/// use core::alloc::Layout;
///
/// let fence = Protected::new();
/// let block = fence.allocate_raw(Layout::new::<u64>()).unwrap();
/// // SAFETY: `block` is currently allocated by `fence`.
/// unsafe { fence.deallocate_raw(block) };
/// // SAFETY: none: a double free on purpose, which `Protected` detects (the table says the
/// // block was freed) before touching any memory.
/// unsafe { fence.deallocate_raw(block) }; // panics: "Protected: double free ..."
/// ```
pub struct Protected {
    records: Mutex<Records>,
}

// SAFETY: the records' pointers are the starts of mappings owned by the `Protected` (made
// by it, unmapped only by its `drop`), not tied to a thread; every access to the records
// goes through the mutex.
unsafe impl Send for Protected {}
// SAFETY: as above: shared access reaches the records only through the mutex, and the
// mappings themselves are plain memory handed to callers.
unsafe impl Sync for Protected {}

impl Default for Protected {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Protected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let records = self.lock();
        f.debug_struct("Protected")
            .field("live_blocks", &records.live)
            .field("freed_blocks", &(records.blocks.len() - records.live))
            .finish()
    }
}

/// What `deallocate_raw` found, decided under the lock and acted on after it.
enum Free {
    Retire(NonNull<u8>, usize),
    Foreign,
    Double,
    WrongLayout(Record),
}

impl Protected {
    /// An allocator with no blocks yet (`const`: no system call until the first request).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_pages::{Allocator, Protected};
    ///
    /// static FENCE: Protected = Protected::new();
    /// assert_eq!(*FENCE.allocate(7u32).unwrap(), 7);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            records: Mutex::new(Records {
                blocks: BTreeMap::new(),
                live: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        // A panic never happens with the lock held (the checks decide first, then the lock
        // is released, then the panic): a poisoned lock's records are still consistent.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of blocks currently allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_pages::{Allocator, Protected};
    ///
    /// let fence = Protected::new();
    /// let a = fence.allocate(1u8).unwrap();
    /// assert_eq!(fence.live_blocks(), 1);
    /// drop(a);
    /// assert_eq!(fence.live_blocks(), 0);
    /// ```
    #[must_use]
    pub fn live_blocks(&self) -> usize {
        self.lock().live
    }

    /// The number of blocks freed so far, whose pages stay reserved and inaccessible until
    /// the `Protected` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_pages::{Allocator, Protected};
    ///
    /// let fence = Protected::new();
    /// drop(fence.allocate(1u8).unwrap());
    /// drop(fence.allocate(2u8).unwrap());
    /// assert_eq!(fence.freed_blocks(), 2);
    /// ```
    #[must_use]
    pub fn freed_blocks(&self) -> usize {
        let records = self.lock();
        records.blocks.len() - records.live
    }

    #[cold]
    #[inline(never)]
    fn refuse(block: &Block, why: Free) -> ! {
        match why {
            Free::Foreign => panic!(
                "Protected: deallocate_raw of a foreign block: {block:?} was never handed out \
                 by this allocator"
            ),
            Free::Double => panic!(
                "Protected: double free: {block:?} was already given back (its pages are \
                 inaccessible)"
            ),
            Free::WrongLayout(r) => panic!(
                "Protected: deallocate_raw with the wrong layout: {block:?} was allocated \
                 with size {} (handed out as {}) and alignment {}",
                r.requested, r.returned, r.align
            ),
            Free::Retire(..) => unreachable!(),
        }
    }
}

// SAFETY: every block lies in a mapping of its own (made by `map_guarded` for this block
// only), before its guard page, aligned as asked and at least as large; mappings are
// disjoint (the system hands out unused address space) and live outside the `Protected`
// value, until it is dropped. A block is given back only when the table says it is live
// with a fitting layout; anything else panics before any change.
unsafe impl Allocator for Protected {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let page = sys::page_size();
        let (size, align) = (layout.size(), layout.align());
        // The accessible pages: the size's, and room to move the start down to `align`.
        let len = round_to_pages(size, page)?
            .checked_add(align.saturating_sub(page))
            .ok_or(AllocatorError::SizeOverflow)?;
        // With the guard page, the mapping must stay a valid size too.
        round_to_pages(len.saturating_add(page), page)?;
        let map = sys::map_guarded(len).ok_or(AllocatorError::OutOfMemory)?;
        let end = map.as_ptr().addr() + len;
        // The highest `align`-aligned start with `size` bytes before the guard page: at or
        // after `map` (there are `align - page` spare bytes when `align > page`, and `map`
        // is page-aligned otherwise).
        let start = (end - size) & !(align - 1);
        // SAFETY: `map <= start <= end - size`: inside the mapping.
        let ptr = unsafe { map.add(start - map.as_ptr().addr()) };
        let returned = end - start;
        let record = Record {
            map,
            len,
            requested: size,
            returned,
            align,
            live: true,
        };
        {
            let mut records = self.lock();
            // Natively the address was never handed out (mappings are never unmapped
            // while the `Protected` lives); under Miri it may be a retired one's.
            records.blocks.insert(start, record);
            records.live += 1;
        }
        // SAFETY: `returned <= len <= Block::MAX_SIZE` (checked by `round_to_pages`).
        Ok(unsafe {
            Block::from_raw_parts_unchecked(ptr, Layout::from_size_align_unchecked(returned, align))
        })
    }

    #[inline]
    fn allocate_zeroed_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = self.allocate_raw(layout)?;
        if !sys::FRESH_IS_ZERO {
            // SAFETY: a block just allocated, valid for writes of `size()` bytes.
            unsafe { block.as_ptr().write_bytes(0, block.size()) };
        }
        Ok(block)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        if block.is_empty() {
            return;
        }
        let outcome = {
            let mut records = self.lock();
            match records.blocks.get_mut(&block.addr()) {
                None => Free::Foreign,
                Some(r) if !r.live => Free::Double,
                Some(r)
                    if block.size() < r.requested
                        || block.size() > r.returned
                        || block.align() != r.align =>
                {
                    Free::WrongLayout(*r)
                }
                Some(r) => {
                    r.live = false;
                    let retire = Free::Retire(r.map, r.len);
                    records.live -= 1;
                    retire
                }
            }
        };
        match outcome {
            // SAFETY: the table said the block was live and ours: its mapping's accessible
            // part is `map..map + len`, which the caller no longer uses (the contract), and
            // which no other call retires (the record is marked freed under the lock).
            Free::Retire(map, len) => unsafe { sys::retire(map, len) },
            why => Self::refuse(&block, why),
        }
    }
}

// SAFETY: `true` exactly for blocks whose address is that of a live record and whose
// layout fits it: every currently allocated block (and every block that fits one) is
// recorded live; memory never handed out has no record.
unsafe impl BlockOwner for Protected {
    fn owns_block(&self, block: &Block) -> bool {
        !block.is_empty()
            && self.lock().blocks.get(&block.addr()).is_some_and(|r| {
                r.live
                    && (r.requested..=r.returned).contains(&block.size())
                    && r.align == block.align()
            })
    }
}

impl Drop for Protected {
    fn drop(&mut self) {
        let records = self
            .records
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for r in records.blocks.values() {
            // SAFETY: every mapping recorded was made by `map_guarded` and is unmapped only
            // here, once; live blocks end with the allocator (the contract), retired ones
            // were retired exactly when `live` is false.
            unsafe { sys::unmap_guarded(r.map, r.len, !r.live) };
        }
    }
}

alloc_core::impl_allocator_api2!(impl[] for Protected);
