//! A first look: typed boxes from an allocator, a custom allocator written in a dozen
//! lines, and allocator-api2 collections on top of it.
//!
//! Run with `cargo run -p allocators --example quickstart`; the tour (`cargo run --release
//! --example tour`) shows every allocator of the crate.

// An example is a std program: the core/alloc import lints are for the libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use core::alloc::Layout;
use core::cell::Cell;

use allocators::{Allocator, AllocatorError, Api2, Block, Heap};

/// A custom allocator: the heap, counting what it does. Implementing two functions is all
/// it takes; boxes, slices, strings and reallocation come for free.
#[derive(Default)]
struct Counting {
    live: Cell<usize>,
    total: Cell<usize>,
}

// SAFETY: every block comes from `Heap` and goes back to it.
unsafe impl Allocator for Counting {
    fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
        let block = Heap.allocate_raw(layout)?;
        self.live.set(self.live.get() + 1);
        self.total.set(self.total.get() + 1);
        Ok(block)
    }

    unsafe fn deallocate_raw(&self, block: Block) {
        self.live.set(self.live.get() - 1);
        // SAFETY: the caller gives back a block of ours, which `Heap` allocated.
        unsafe { Heap.deallocate_raw(block) }
    }
}

fn main() {
    println!("allocators: a quick start\n");

    let counting = Counting::default();
    {
        let number = counting.allocate(7u32).expect("heap allocation");
        let text = counting
            .allocate_str("hello from a custom allocator")
            .expect("heap allocation");
        let squares = counting
            .allocate_slice_with(8, |i| i * i)
            .expect("heap allocation");
        println!("boxed value:  {}", *number);
        println!("boxed str:    {}", &*text);
        println!("boxed slice:  {:?}", &*squares);
        println!("live blocks:  {}", counting.live.get());
    }
    println!(
        "after drops:  {} live, {} allocated in total\n",
        counting.live.get(),
        counting.total.get()
    );

    // A failed allocation hands the value back instead of losing it.
    struct Refuse;
    // SAFETY: never hands out memory.
    unsafe impl Allocator for Refuse {
        fn allocate_raw(&self, layout: Layout) -> Result<Block, AllocatorError> {
            if layout.size() == 0 {
                return Ok(Block::empty(layout));
            }
            Err(AllocatorError::OutOfMemory)
        }
        unsafe fn deallocate_raw(&self, _block: Block) {}
    }
    let (error, value) = Refuse.allocate(String::from("precious")).unwrap_err();
    println!("refused: {error}; value handed back: {value:?}\n");

    // The heap under an allocator-api2 collection, on stable Rust.
    let mut v: allocators::api2_02::vec::Vec<u64, Heap> =
        allocators::api2_02::vec::Vec::new_in(Heap);
    v.extend(1..=100);
    println!(
        "allocator_api2 Vec on Heap: sum of 1..=100 = {}",
        v.iter().sum::<u64>()
    );

    // A custom allocator under the collections too: wrap it in `Api2`.
    let mut w = allocators::api2_02::vec::Vec::new_in(Api2(&counting));
    w.extend(1..=10u32);
    println!(
        "allocator_api2 Vec on the custom allocator: {:?} ({} live block)",
        w,
        counting.live.get()
    );
}
