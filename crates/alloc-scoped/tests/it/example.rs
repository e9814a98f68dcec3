//! The example of the issue, with the explosions counted.

use alloc_core::{Allocator, AllocatorError};
use alloc_scoped::Scoped;
use std::cell::Cell;

thread_local! {
    static BOOMS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Debug)]
struct Bomb(u8);

impl Drop for Bomb {
    fn drop(&mut self) {
        println!("Boom! {}", self.0);
        BOOMS.with(|b| b.set(b.get() + 1));
    }
}

#[test]
fn the_bombs_go_off_and_the_memory_comes_back() {
    // a new scoped allocator with a kilobyte of memory from the heap.
    let alloc = Scoped::new(1024).unwrap();
    alloc
        .scope(|inner| {
            let mut bombs = Vec::new();
            for i in 0..100 {
                bombs.push(inner.allocate(Bomb(i)).unwrap());
            }
            assert_eq!(inner.used(), 100);
            assert_eq!(bombs[42].0, 42);
            // the parent refuses to allocate while the scope is open.
            assert!(matches!(
                alloc.allocate(Bomb(200)),
                Err((AllocatorError::Busy, _))
            ));
            BOOMS.with(|b| b.set(0));
            // the bombs go off here, and the scope's memory is reclaimed when it returns.
        })
        .unwrap();
    assert_eq!(BOOMS.with(Cell::get), 100);
    assert_eq!(alloc.used(), 0);
    let my_int = alloc.allocate_with(|| 23).unwrap(); // constructed in place
    assert_eq!(*my_int, 23);
    assert_eq!(alloc.used(), 4);
}

#[test]
fn a_kilobyte_holds_what_it_should() {
    let alloc = Scoped::new(1024).unwrap();
    let r = alloc.scope(|inner| {
        let mut held = Vec::new();
        loop {
            match inner.allocate(0u64) {
                Ok(b) => held.push(b),
                Err((e, _)) => return (held.len(), e),
            }
        }
    });
    assert_eq!(r, Ok((128, AllocatorError::OutOfMemory)));
}
