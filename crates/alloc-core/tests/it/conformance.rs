//! The conformance kit passes `Heap`, and reports real bugs in broken allocators.

use alloc_core::testing::{Conformance, Op, run_ops, run_ops_owner};
use alloc_core::{Allocator, AllocatorError, Block, BlockOwner, Heap};
use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;

#[test]
fn heap_passes() {
    let report = Conformance::new().check(|| Heap);
    assert!(report.allocations > 0 && report.reallocations > 0 && report.deallocations > 0);
}

#[test]
fn system_passes() {
    Conformance::new().tests(300).check(|| std::alloc::System);
}

#[test]
fn heap_through_references_and_boxes_passes() {
    let heap = Heap;
    Conformance::new().tests(100).check(|| &heap);
    Conformance::new().tests(100).check(|| Box::new(Heap));
    let dynamic: &dyn Allocator = &heap;
    Conformance::new().tests(100).check(|| dynamic);
}

/// A bump allocator over a 4 KiB buffer with a deliberate bug chosen by `Bug`.
struct Broken {
    buf: NonNull<u8>,
    len: usize,
    top: Cell<usize>,
    bug: Bug,
}

#[derive(Clone, Copy, PartialEq)]
enum Bug {
    /// Every allocation starts at the beginning of the buffer: blocks overlap.
    Overlap,
    /// Ignores the requested alignment (and says so in the block).
    Misaligned,
    /// Reallocation moves to a fresh block without copying.
    ForgetsContents,
    /// Claims every block, even foreign ones.
    OwnsEverything,
    /// No bug at all (the control).
    None,
}

impl Broken {
    fn new(bug: Bug) -> Self {
        let len = 64 * 1024;
        // Zeroed, so even the buggy variants hand out initialised bytes: reading them gives
        // a wrong value that the kit reports, not undefined behaviour.
        let block = Heap
            .allocate_zeroed_raw(Layout::from_size_align(len, 4096).unwrap())
            .unwrap();
        Self {
            buf: block.ptr(),
            len,
            top: Cell::new(0),
            bug,
        }
    }
}

impl Drop for Broken {
    fn drop(&mut self) {
        let block =
            Block::from_raw_parts(self.buf, Layout::from_size_align(self.len, 4096).unwrap());
        // SAFETY: allocated by `Heap` in `new` with this layout.
        unsafe { Heap.deallocate_raw(block) };
    }
}

// SAFETY: not safe at all for the buggy variants: these allocators exist to prove the kit
// detects broken promises. The control (`Bug::None`) keeps the contract.
unsafe impl Allocator for Broken {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if layout.size() == 0 {
            return Ok(Block::empty(layout));
        }
        let align = if self.bug == Bug::Misaligned {
            1
        } else {
            layout.align()
        };
        let mut start = self.top.get().next_multiple_of(align);
        if self.bug == Bug::Misaligned && (self.buf.as_ptr() as usize + start) % 2 == 0 {
            start += 1;
        }
        let end = start
            .checked_add(layout.size())
            .ok_or(AllocatorError::SizeOverflow)?;
        if end > self.len {
            return Err(AllocatorError::OutOfMemory);
        }
        if self.bug != Bug::Overlap {
            self.top.set(end);
        }
        // SAFETY: `start < end <= len`, inside the buffer.
        let ptr = unsafe { self.buf.add(start) };
        // The misaligned variant reports the alignment it really gave (1), not the one
        // requested: `Block` itself refuses to describe a misaligned block.
        let given = if self.bug == Bug::Misaligned {
            Layout::from_size_align(layout.size(), 1).unwrap()
        } else {
            layout
        };
        Ok(Block::from_raw_parts(ptr, given))
    }

    unsafe fn deallocate_raw(&self, _block: Block) {}

    unsafe fn reallocate_raw(
        &self,
        block: Block,
        new_layout: Layout,
    ) -> Result<Block, AllocatorError> {
        let new = self.allocate_raw(new_layout)?;
        if self.bug != Bug::ForgetsContents {
            // `ptr::copy`, not `copy_nonoverlapping`: the overlapping variant may move a
            // block onto itself, and the test must not be undefined behaviour itself.
            // SAFETY: both blocks lie inside the buffer, valid for these lengths.
            unsafe { core::ptr::copy(block.as_ptr(), new.as_ptr(), block.size().min(new.size())) };
        }
        Ok(new)
    }
}

// SAFETY: as above: only the control keeps the promise.
unsafe impl BlockOwner for Broken {
    fn owns_block(&self, block: &Block) -> bool {
        self.bug == Bug::OwnsEverything || block.is_inside(self.buf.as_ptr() as usize, self.len)
    }
}

fn counterexample(bug: Bug) -> alloc_core::testing::Counterexample {
    Conformance::new()
        .tests(500)
        .quicktest(|ops| run_ops_owner(&Broken::new(bug), ops))
        .expect_err("the kit must report the broken allocator")
}

#[test]
fn control_passes() {
    Conformance::new()
        .tests(300)
        .check_owner(|| Broken::new(Bug::None));
}

#[test]
fn overlapping_blocks_are_reported() {
    let c = counterexample(Bug::Overlap);
    assert!(c.violation.message.contains("overlaps"), "{c}");
    // Shrunk to the minimum: two allocations of one byte.
    assert_eq!(c.ops.len(), 2, "{c}");
}

#[test]
fn misaligned_blocks_are_reported() {
    let c = counterexample(Bug::Misaligned);
    assert!(
        c.violation
            .message
            .contains("does not report the requested"),
        "{c}"
    );
    assert_eq!(c.ops.len(), 1, "{c}");
}

#[test]
fn lost_contents_are_reported() {
    let c = counterexample(Bug::ForgetsContents);
    assert!(c.violation.message.contains("contents lost"), "{c}");
}

#[test]
fn lying_owner_is_reported() {
    let c = counterexample(Bug::OwnsEverything);
    assert!(c.violation.message.contains("never handed out"), "{c}");
}

#[test]
fn run_ops_is_deterministic_and_counts() {
    let ops = [
        Op::Alloc {
            size: 8,
            align_log2: 3,
            zeroed: true,
        },
        Op::Alloc {
            size: 0,
            align_log2: 6,
            zeroed: false,
        },
        Op::Realloc {
            index: 0,
            size: 100,
            align_log2: 3,
        },
        Op::Free { index: 1 },
        Op::Free { index: 7 },
    ];
    let report = run_ops(&Heap, &ops).unwrap();
    assert_eq!(report.allocations, 2);
    assert_eq!(report.reallocations, 1);
    assert_eq!(report.deallocations, 2);
    assert_eq!(report.failures, 0);
}
