//! The guard's table on its own: lookups, insertion, freeing, rebuilds (growth, dropped
//! freed entries, memory that does not fit), the walk of live entries, against a model.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use alloc::vec::Vec;

use alloc_core::{Allocator, Block, Heap};

use super::{AlreadyLive, Entry, MIN_SLOTS, Slot, Table};

/// A pointer to `addr` (never dereferenced: the table only records pointers).
fn at(addr: usize) -> NonNull<u8> {
    NonNull::new(ptr::without_provenance_mut(addr)).expect("a non-zero address")
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// A table that gives its memory back to the heap when dropped.
struct Owned(Table);

impl Owned {
    fn new() -> Self {
        Self(Table::new())
    }

    /// Rebuilds with memory of the size the table asks for (as the guard does).
    fn rebuild(&self) {
        let memory = Heap.allocate_raw(self.0.rebuild_layout().unwrap()).unwrap();
        // SAFETY: fresh heap memory, valid for its size and used by nothing else.
        let old = unsafe { self.0.rebuild_into(memory) }.expect("memory of the size asked");
        give_back(old);
    }

    /// Inserts, rebuilding first when needed.
    fn insert(&self, addr: usize, size: usize) -> Result<(), AlreadyLive> {
        if self.0.find(addr).is_none() && self.0.needs_room() {
            self.rebuild();
        }
        self.0.insert(at(addr), layout(size))
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        give_back(self.0.take_memory());
    }
}

fn give_back(memory: Option<Block>) {
    if let Some(memory) = memory {
        // SAFETY: memory of the heap (all tables here get theirs from it), handed back by
        // the table, so no longer used.
        unsafe { Heap.deallocate_raw(memory) };
    }
}

#[test]
fn a_new_table_has_no_entries_and_needs_room() {
    let table = Table::new();
    assert_eq!(table.find(64), None);
    assert!(!table.is_live(64));
    assert!(table.needs_room());
    assert_eq!(table.mark_freed(64), None);
    assert_eq!(table.live_slots().count(), 0);
    assert_eq!(
        table.rebuild_layout(),
        Layout::array::<Slot>(MIN_SLOTS).ok()
    );
    assert_eq!(table.take_memory(), None);
}

#[test]
#[should_panic = "an insertion without room"]
fn inserting_without_room_panics() {
    Table::new().insert(at(64), layout(8)).ok();
}

#[test]
fn entries_are_found_freed_and_reused() {
    let t = Owned::new();
    t.insert(0x1000, 24).unwrap();
    t.insert(0x2000, 8).unwrap();
    let entry = Entry {
        user: at(0x1000),
        size: 24,
        align: 8,
        live: true,
    };
    assert_eq!(t.0.find(0x1000), Some(entry));
    assert_eq!((t.0.live(), t.0.live_bytes()), (2, 32));
    assert_eq!(t.insert(0x1000, 24), Err(AlreadyLive));
    assert_eq!((t.0.live(), t.0.live_bytes()), (2, 32));

    assert_eq!(t.0.mark_freed(0x1000), Some(entry));
    assert_eq!(t.0.mark_freed(0x1000), None, "already freed");
    assert_eq!(t.0.find(0x1000).map(|e| e.live), Some(false));
    assert!(!t.0.is_live(0x1000) && t.0.is_live(0x2000));
    assert_eq!((t.0.live(), t.0.live_bytes()), (1, 8));
    assert_eq!(t.0.mark_freed(0x3000), None, "never recorded");

    // Reused with another layout: the freed entry is replaced.
    t.insert(0x1000, 100).unwrap();
    assert_eq!(
        t.0.find(0x1000).map(|e| (e.size, e.live)),
        Some((100, true))
    );
    assert_eq!((t.0.live(), t.0.live_bytes()), (2, 108));
}

#[test]
fn reusing_a_freed_entry_takes_no_room() {
    let t = Owned::new();
    t.rebuild();
    let capacity = t.0.rebuild_layout().unwrap();
    for _ in 0..10 * MIN_SLOTS {
        t.0.insert(at(0x40), layout(1)).unwrap();
        t.0.mark_freed(0x40).unwrap();
    }
    assert_eq!(t.0.rebuild_layout().unwrap(), capacity);
    assert!(!t.0.needs_room());
}

#[test]
fn a_rebuild_keeps_live_entries_and_drops_freed_ones() {
    let t = Owned::new();
    // Enough to grow the table several times; every third one freed.
    let addrs: Vec<usize> = (1..=1000).map(|k| k * 48).collect();
    for (k, &addr) in addrs.iter().enumerate() {
        t.insert(addr, k + 1).unwrap();
        if k % 3 == 0 {
            t.0.mark_freed(addr).unwrap();
        }
    }
    let live = addrs.len() - addrs.len().div_ceil(3);
    assert_eq!(t.0.live(), live);
    // Freed entries remembered since the last rebuild, but not all of them.
    let remembered = addrs
        .iter()
        .filter(|&&a| t.0.find(a).is_some_and(|e| !e.live));
    assert!(remembered.count() > 0);

    t.rebuild();
    for (k, &addr) in addrs.iter().enumerate() {
        let found = t.0.find(addr);
        if k % 3 == 0 {
            assert_eq!(found, None, "a freed entry survived the rebuild: {addr:#x}");
        } else {
            assert_eq!(found.map(|e| (e.size, e.live)), Some((k + 1, true)));
        }
    }
    let mut walked: Vec<usize> = t.0.live_slots().map(|e| e.user.addr().get()).collect();
    walked.sort_unstable();
    let expected: Vec<usize> = (addrs.iter().enumerate())
        .filter_map(|(k, &a)| (k % 3 != 0).then_some(a))
        .collect();
    assert_eq!(walked, expected);
    let bytes: usize = (1..=addrs.len()).filter(|k| (k - 1) % 3 != 0).sum();
    assert_eq!((t.0.live(), t.0.live_bytes()), (live, bytes));
}

#[test]
fn the_table_stays_at_most_three_quarters_full() {
    let t = Owned::new();
    for k in 1..=500 {
        t.insert(k * 16, 1).unwrap();
        let slots = t.0.cap.get();
        assert!(
            t.0.used.get() * 4 <= slots * 3,
            "{} of {slots}",
            t.0.used.get()
        );
        assert!(slots.is_power_of_two() && slots >= MIN_SLOTS);
    }
}

#[test]
fn a_rebuild_with_few_live_entries_keeps_the_size() {
    let t = Owned::new();
    t.rebuild();
    let size = t.0.rebuild_layout().unwrap();
    t.insert(16, 1).unwrap();
    assert_eq!(t.0.rebuild_layout().unwrap(), size);
    for k in 2..=MIN_SLOTS / 2 {
        t.insert(16 * k, 1).unwrap();
    }
    assert!(
        t.0.rebuild_layout().unwrap().size() > size.size(),
        "more than half live"
    );
}

#[test]
fn memory_that_does_not_fit_is_handed_back_untouched() {
    let t = Owned::new();
    t.rebuild();
    for k in 1..=40 {
        t.insert(k * 16, 1).unwrap();
    }
    let wanted = t.0.rebuild_layout().unwrap();
    let small = Heap
        .allocate_raw(Layout::from_size_align(wanted.size() / 2, wanted.align()).unwrap())
        .unwrap();
    // SAFETY: the block's bytes are initialised before they are read back.
    unsafe { small.as_ptr().write_bytes(0x5A, small.size()) };
    // SAFETY: fresh heap memory, valid for its size and used by nothing else.
    assert_eq!(unsafe { t.0.rebuild_into(small) }, Err(small));
    // SAFETY: still allocated (handed back), `size` initialised bytes.
    let bytes = unsafe { core::slice::from_raw_parts(small.as_ptr(), small.size()) };
    assert!(
        bytes.iter().all(|&b| b == 0x5A),
        "the table wrote to memory it refused"
    );
    give_back(Some(small));

    // Misaligned: one byte into a larger block.
    let big = Heap.allocate_raw(layout(wanted.size() + 64)).unwrap();
    // SAFETY: one byte in, with room for `wanted.size()` bytes after it.
    let inside = unsafe { big.ptr().add(1) };
    let odd = Block::from_raw_parts(inside, Layout::from_size_align(wanted.size(), 1).unwrap());
    // SAFETY: inside `big`, valid for its size, used by nothing else.
    assert_eq!(unsafe { t.0.rebuild_into(odd) }, Err(odd));
    give_back(Some(big));

    // The table is as it was.
    assert_eq!(t.0.live(), 40);
    assert!((1..=40).all(|k| t.0.is_live(k * 16)));
}

#[test]
fn a_rebuild_hands_back_the_memory_it_replaced() {
    let table = Table::new();
    let first = Heap.allocate_raw(table.rebuild_layout().unwrap()).unwrap();
    // SAFETY: fresh heap memory, valid for its size and used by nothing else.
    assert_eq!(unsafe { table.rebuild_into(first) }, Ok(None));
    table.insert(at(0x80), layout(4)).unwrap();
    // Larger memory than asked for is used whole (a power of two of slots).
    let larger = Layout::array::<Slot>(4 * MIN_SLOTS + 3).unwrap();
    let second = Heap.allocate_raw(larger).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { table.rebuild_into(second) }, Ok(Some(first)));
    assert_eq!(table.cap.get(), 4 * MIN_SLOTS);
    assert!(table.is_live(0x80));
    give_back(Some(first));
    assert_eq!(table.take_memory(), Some(second));
    assert_eq!((table.live(), table.find(0x80)), (0, None));
    give_back(Some(second));
}

#[test]
fn the_walk_survives_changes_between_steps() {
    let t = Owned::new();
    for k in 1..=40 {
        t.insert(k * 32, 1).unwrap();
    }
    let mut walk = t.0.live_slots();
    let first = walk.next().unwrap();
    // Between steps: free everything else and rebuild into new memory.
    for k in 1..=40 {
        if k * 32 != first.user.addr().get() {
            t.0.mark_freed(k * 32).unwrap();
        }
    }
    t.rebuild();
    let rest: Vec<Entry> = walk.collect();
    assert!(rest.len() <= 1, "{rest:?}");
    assert!(rest.iter().all(|e| *e == first));
}

/// A model check over a long sequence: the table answers as a list of records does.
#[test]
fn the_table_agrees_with_a_model() {
    let t = Owned::new();
    // (address, size, live) for every address recorded since the last rebuild.
    let mut model: Vec<(usize, usize, bool)> = Vec::new();
    let steps = if cfg!(miri) { 150 } else { 20_000 };
    let mut x: usize = 1;
    for step in 0..steps {
        // A simple permutation of 2048 addresses, 16 bytes apart, so addresses recur.
        x = (x * 5 + 3) % 2048;
        let addr = 16 * (x + 1);
        let model_entry = model.iter_mut().find(|(a, ..)| *a == addr);
        match model_entry {
            Some((_, size, live)) if *live => {
                assert_eq!(t.0.mark_freed(addr).map(|e| e.size), Some(*size));
                *live = false;
            }
            _ => {
                let rebuilds = t.0.needs_room() && t.0.find(addr).is_none();
                t.insert(addr, step % 100 + 1).unwrap();
                if rebuilds {
                    model.retain(|e| e.2);
                }
                match model.iter_mut().find(|(a, ..)| *a == addr) {
                    Some(e) => *e = (addr, step % 100 + 1, true),
                    None => model.push((addr, step % 100 + 1, true)),
                }
            }
        }
        if step % 97 == 0 {
            for &(a, size, live) in &model {
                assert_eq!(t.0.find(a).map(|e| (e.size, e.live)), Some((size, live)));
            }
            let live: Vec<_> = model.iter().filter(|e| e.2).collect();
            assert_eq!(t.0.live(), live.len());
            assert_eq!(t.0.live_bytes(), live.iter().map(|e| e.1).sum::<usize>());
            assert_eq!(t.0.live_slots().count(), live.len());
        }
    }
}
