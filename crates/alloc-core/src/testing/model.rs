//! The model a run checks an allocator against: the live blocks of one actor (the
//! sequence, or the hostile code of the re-entrancy mode), each filled with its own byte,
//! and the checks of every step.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;

use super::{Op, Reentry, Report, Violation, catch_panic};
use crate::{Allocator, Block, BlockOwner};

/// A live block in the model: the block, the size that was requested, and the byte it is
/// filled with.
struct Live {
    block: Block,
    requested: usize,
    fill: u8,
}

/// Runs `ops` on `alloc`, checking the allocator contract at each step, then gives every
/// live block back. See the [module docs](crate::testing) for what is checked.
///
/// After a violation the live blocks are not given back: the allocator has broken its
/// contract, and freeing into it could make matters worse. An allocator that owns its
/// memory (a region it frees when dropped) loses nothing; one that forwards to the heap
/// leaks those blocks.
///
/// # Errors
///
/// The first [`Violation`] found.
///
/// # Examples
///
/// The building block of custom set-ups, here an allocator behind a reference:
///
/// ```
/// use alloc_core::{testing::{run_ops, Conformance}, Allocator, Heap};
///
/// let shared: &dyn Allocator = &Heap;
/// let report = Conformance::new().tests(50).check_with(|ops| run_ops(&shared, ops));
/// assert!(report.allocations > 0);
/// ```
pub fn run_ops<A: Allocator + ?Sized>(alloc: &A, ops: &[Op]) -> Result<Report, Violation> {
    run(alloc, ops, None, None)
}

/// As [`run_ops`], and also checks that `owns_block` is true for every live block and
/// false for memory the allocator never handed out.
///
/// # Errors
///
/// The first [`Violation`] found.
///
/// # Examples
///
/// With `Bump`, the small owner of [`Conformance::check_owner`](super::Conformance::check_owner)'s example:
///
/// ```
/// use alloc_core::testing::{run_ops_owner, Op};
/// # use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
/// # use core::{alloc::Layout, cell::Cell, ptr::NonNull};
/// #
/// # /// Bump allocation over 4 KiB from the heap (never reuses; frees are no-ops).
/// # struct Bump { start: NonNull<u8>, top: Cell<usize> }
/// # const REGION: Layout = match Layout::from_size_align(4096, 8) { Ok(l) => l, Err(_) => panic!() };
/// #
/// # impl Bump {
/// #     fn new() -> Self {
/// #         Bump { start: Heap.allocate_raw(REGION).unwrap().ptr(), top: Cell::new(0) }
/// #     }
/// # }
/// # impl Drop for Bump {
/// #     fn drop(&mut self) {
/// #         // SAFETY: allocated in `new` with this layout.
/// #         unsafe { Heap.deallocate_raw(Block::from_raw_parts(self.start, REGION)) }
/// #     }
/// # }
/// # // SAFETY: blocks are disjoint parts of the region, aligned as asked, valid until drop.
/// # unsafe impl Allocator for Bump {
/// #     fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
/// #         if layout.size() == 0 {
/// #             return Ok(Block::empty(layout));
/// #         }
/// #         if layout.align() > 8 {
/// #             return Err(AllocatorError::UnsupportedAlignment);
/// #         }
/// #         let offset = self.top.get().next_multiple_of(layout.align());
/// #         if layout.size() > REGION.size() - offset.min(REGION.size()) {
/// #             return Err(AllocatorError::OutOfMemory);
/// #         }
/// #         self.top.set(offset + layout.size());
/// #         // SAFETY: `offset + size` is within the region.
/// #         let ptr = unsafe { self.start.add(offset) };
/// #         Ok(Block::from_raw_parts(ptr, layout))
/// #     }
/// #     unsafe fn deallocate_raw(&self, _block: Block) {}
/// # }
/// # // SAFETY: true exactly for non-empty blocks inside the region, which are ours.
/// # unsafe impl BlockOwner for Bump {
/// #     fn owns_block(&self, block: &Block) -> bool {
/// #         let start = self.start.as_ptr().addr();
/// #         !block.is_empty() && (start..start + REGION.size()).contains(&block.addr())
/// #     }
/// # }
///
/// let bump = Bump::new();
/// let ops = [Op::Alloc { size: 10, align_log2: 2, zeroed: false }, Op::Free { index: 0 }];
/// let report = run_ops_owner(&bump, &ops).unwrap();
/// assert_eq!((report.allocations, report.deallocations), (1, 1));
/// ```
pub fn run_ops_owner<A: BlockOwner + ?Sized>(alloc: &A, ops: &[Op]) -> Result<Report, Violation> {
    run(alloc, ops, Some(&|b: &Block| alloc.owns_block(b)), None)
}

pub(super) fn run<A: Allocator + ?Sized>(
    alloc: &A,
    ops: &[Op],
    owns: Option<&dyn Fn(&Block) -> bool>,
    reentry: Option<(&Reentry, &[Op])>,
) -> Result<Report, Violation> {
    let mut model = Model::default();
    // Memory the allocator never handed out: owners must disclaim it.
    let mut foreign = [0u64; 4];
    let foreign_block = Block::from_raw_parts(
        core::ptr::NonNull::from(&mut foreign).cast(),
        Layout::new::<[u64; 4]>(),
    );
    // Hostile code, if any, runs only while `alloc` is alive and this run is on.
    let armed = reentry.map(|(reentry, script)| {
        let armed = reentry.arm(alloc);
        armed.set_script(script);
        armed
    });

    for (step, op) in ops.iter().enumerate() {
        let fail = |message: String| Violation { step, message };
        // A panic (of the allocator, or of hostile code inside it) is a violation of this
        // step; the blocks live then are not given back (see `run_ops`).
        catch_panic(|| model.apply(alloc, *op)).map_err(fail)?;
        if let Some(armed) = &armed {
            armed.take_violation().map_err(fail)?;
        }
        if let Some(owns) = owns {
            for entry in model.live.iter().filter(|e| !e.block.is_empty()) {
                if !owns(&entry.block) {
                    return Err(fail(format!(
                        "owns_block is false for live block {:?}",
                        entry.block
                    )));
                }
            }
            if let Some(armed) = &armed {
                armed.take_violation().map_err(fail)?;
            }
            if owns(&foreign_block) {
                return Err(fail(String::from(
                    "owns_block is true for memory the allocator never handed out",
                )));
            }
        }
    }

    let step = ops.len();
    let fail = |message: String| Violation { step, message };
    catch_panic(|| model.free_all(alloc)).map_err(fail)?;
    if let Some(armed) = armed {
        armed.take_violation().map_err(fail)?;
        model.report.reentrant = catch_panic(|| armed.finish()).map_err(fail)?;
    }
    Ok(model.report)
}

/// The model of the live blocks of one actor (the sequence, or the hostile code of the
/// re-entrancy mode) and what it did.
#[derive(Default)]
pub(super) struct Model {
    live: Vec<Live>,
    pub(super) report: Report,
    /// The fill of the next block (never 0: zeroed memory must not look like a pattern).
    next_fill: u8,
}

impl Model {
    /// Performs `op` on `alloc` and checks the result against the model.
    pub(super) fn apply<A: Allocator + ?Sized>(&mut self, alloc: &A, op: Op) -> Result<(), String> {
        match op {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
            } => {
                let layout = layout(size, align_log2);
                let result = if zeroed {
                    alloc.allocate_zeroed_raw(layout)
                } else {
                    alloc.allocate_raw(layout)
                };
                let Ok(block) = result else {
                    self.report.failures += 1;
                    return Ok(());
                };
                check_block(&block, layout)?;
                if zeroed {
                    // SAFETY: the block is valid for reads of its size (contract).
                    let bytes = unsafe { bytes_of(&block) };
                    if let Err(i) = check_fill(bytes, 0) {
                        return Err(format!(
                            "allocate_zeroed_raw({layout:?}) returned a block whose byte {i} is {:#x}",
                            bytes[i]
                        ));
                    }
                }
                check_disjoint(&block, &self.live)?;
                let fill = self.next_fill.max(1);
                self.next_fill = fill.wrapping_add(1).max(1);
                // SAFETY: the block is valid for writes of its size (contract).
                unsafe { fill_block(&block, fill) };
                self.live.push(Live {
                    block,
                    requested: size,
                    fill,
                });
                self.report.allocations += 1;
            }
            Op::Free { index } => {
                if self.live.is_empty() {
                    return Ok(());
                }
                let entry = self.live.swap_remove(index % self.live.len());
                check_contents(&entry, entry.block.size())?;
                // SAFETY: the block is live in the model, hence currently allocated.
                unsafe { alloc.deallocate_raw(entry.block) };
                self.report.deallocations += 1;
            }
            Op::Realloc {
                index,
                size,
                align_log2,
            } => {
                if self.live.is_empty() {
                    return Ok(());
                }
                let i = index % self.live.len();
                let new_layout = layout(size, align_log2);
                let old = self.live.swap_remove(i);
                check_contents(&old, old.block.size())?;
                // SAFETY: the block is live in the model, hence currently allocated.
                match unsafe { alloc.reallocate_raw(old.block, new_layout) } {
                    Ok(block) => {
                        check_block(&block, new_layout)?;
                        let kept = old.block.size().min(size);
                        let moved = Live {
                            block,
                            requested: size,
                            fill: old.fill,
                        };
                        check_contents(&moved, kept).map_err(|m| {
                            format!("contents lost by reallocate_raw to {new_layout:?}: {m}")
                        })?;
                        check_disjoint(&block, &self.live)?;
                        // SAFETY: the block is valid for writes of its size (contract).
                        unsafe { fill_block(&block, moved.fill) };
                        self.live.push(moved);
                        self.report.reallocations += 1;
                    }
                    Err(_) => {
                        check_contents(&old, old.block.size()).map_err(|m| {
                            format!("a failed reallocate_raw changed the block: {m}")
                        })?;
                        self.live.push(old);
                        self.report.failures += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks and gives back every live block.
    pub(super) fn free_all<A: Allocator + ?Sized>(&mut self, alloc: &A) -> Result<(), String> {
        while let Some(entry) = self.live.pop() {
            check_contents(&entry, entry.block.size())?;
            // SAFETY: the block is live in the model, hence currently allocated.
            unsafe { alloc.deallocate_raw(entry.block) };
            self.report.deallocations += 1;
        }
        Ok(())
    }
}

pub(super) fn layout(size: usize, align_log2: u8) -> Layout {
    Layout::from_size_align(size, 1 << align_log2).expect("generated layouts are valid")
}

fn check_block(block: &Block, layout: Layout) -> Result<(), String> {
    if block.size() < layout.size() {
        return Err(format!(
            "block {block:?} is smaller than the requested {layout:?}"
        ));
    }
    if block.align() != layout.align() {
        return Err(format!(
            "block {block:?} does not report the requested {layout:?}"
        ));
    }
    if block.addr() % layout.align() != 0 {
        return Err(format!(
            "block {block:?} is not aligned as requested by {layout:?}"
        ));
    }
    Ok(())
}

fn check_disjoint(block: &Block, live: &[Live]) -> Result<(), String> {
    if block.is_empty() {
        return Ok(());
    }
    let (start, end) = (block.addr(), block.addr() + block.size());
    for other in live.iter().filter(|e| !e.block.is_empty()) {
        let (o_start, o_end) = (other.block.addr(), other.block.addr() + other.block.size());
        if start < o_end && o_start < end {
            return Err(format!(
                "block {block:?} overlaps live block {:?}",
                other.block
            ));
        }
    }
    Ok(())
}

/// Checks that the first `len` bytes of the block still hold its fill pattern.
fn check_contents(entry: &Live, len: usize) -> Result<(), String> {
    // SAFETY: the block is live, valid for reads of its size, which is at least `len`
    // (callers pass at most the block's size) and was fully written by `fill_block`.
    let bytes = unsafe { &bytes_of(&entry.block)[..len] };
    match check_fill(bytes, entry.fill) {
        Ok(()) => Ok(()),
        Err(i) => Err(format!(
            "byte {i} of block {:?} (requested {} bytes) is {:#x}, expected {:#x}: \
             another block overlaps it, or the allocator wrote into it",
            entry.block, entry.requested, bytes[i], entry.fill
        )),
    }
}

/// Checks that every byte is `fill`; the error is the index of the first that is not.
fn check_fill(bytes: &[u8], fill: u8) -> Result<(), usize> {
    // Compare whole chunks first (a `memcmp`, fast even under Miri), then find the byte.
    let pattern = [fill; 256];
    if bytes
        .chunks(pattern.len())
        .all(|chunk| chunk == &pattern[..chunk.len()])
    {
        return Ok(());
    }
    Err(bytes.iter().position(|&b| b != fill).unwrap_or(0))
}

/// # Safety
///
/// `block` is valid for reads of `block.size()` initialised bytes.
unsafe fn bytes_of(block: &Block) -> &[u8] {
    // SAFETY: forwarded from the caller.
    unsafe { core::slice::from_raw_parts(block.as_ptr(), block.size()) }
}

/// # Safety
///
/// `block` is valid for writes of `block.size()` bytes.
unsafe fn fill_block(block: &Block, fill: u8) {
    // SAFETY: forwarded from the caller.
    unsafe { block.as_ptr().write_bytes(fill, block.size()) }
}
