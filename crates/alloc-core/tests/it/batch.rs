//! `Allocator::allocate_batch` and `deallocate_batch`: the provided versions stop at the
//! first refusal and report how many blocks they allocated; references forward them.

use alloc_core::{Allocator, AllocatorError, Block, Heap};
use core::alloc::Layout;
use core::cell::Cell;

/// `Heap`, refusing every request once `left` reaches zero; counts frees.
struct Rationed {
    left: Cell<usize>,
    freed: Cell<usize>,
}

// SAFETY: every block is `Heap`'s, unchanged; refusals allocate nothing.
unsafe impl Allocator for Rationed {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        if self.left.get() == 0 {
            return Err(AllocatorError::OutOfMemory);
        }
        self.left.set(self.left.get() - 1);
        Heap.allocate_raw(layout)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        self.freed.set(self.freed.get() + 1);
        // SAFETY: forwarded from the caller: a block of `Heap`.
        unsafe { Heap.deallocate_raw(block) }
    }
}

#[test]
fn a_batch_stops_at_the_first_refusal_and_fails_only_when_empty() {
    let a = Rationed {
        left: Cell::new(5),
        freed: Cell::new(0),
    };
    let layout = Layout::new::<[u64; 3]>();
    let mut out = [Block::empty(layout); 8];
    // Through a reference: forwarded to the provided method.
    let n = Allocator::allocate_batch(&&a, layout, &mut out).unwrap();
    assert_eq!(n, 5);
    for (i, b) in out[..n].iter().enumerate() {
        assert_eq!(b.size(), 24);
        // SAFETY: a live block of `a`, valid for 24 bytes.
        unsafe { b.as_ptr().cast::<u64>().write(i as u64) };
    }
    for (i, b) in out[..n].iter().enumerate() {
        // SAFETY: written above.
        assert_eq!(unsafe { b.as_ptr().cast::<u64>().read() }, i as u64);
    }
    assert_eq!(
        a.allocate_batch(layout, &mut out),
        Err(AllocatorError::OutOfMemory),
        "nothing left: the first refusal is the answer"
    );
    assert_eq!(a.allocate_batch(layout, &mut []), Ok(0));
    // SAFETY: the five blocks allocated above, each given back once.
    unsafe { a.deallocate_batch(&out[..n]) };
    assert_eq!(a.freed.get(), 5);
}
