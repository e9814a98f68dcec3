//! `GeneralPurpose` as the program's `#[global_allocator]`: the whole recipe is the two
//! lines under `use`. Threads then build `String`s, `Vec`s and `HashMap`s, hand some to
//! other threads that drop them, and the allocator's statistics are printed at the end.
//!
//! Run with `cargo run -p allocators --example global` (add `--release` for speed).

// An example is a std program: the core/alloc import lints are for the libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::collections::HashMap;
use std::sync::mpsc;

use allocators::{GeneralPurpose, GlobalAllocator};

#[global_allocator]
static A: GlobalAllocator<GeneralPurpose> = GlobalAllocator::new(GeneralPurpose::new());

const THREADS: usize = 4;
const ROUNDS: usize = 2_000;

fn main() {
    // Thread `t` sends half of what it builds to thread `t + 1`, which drops it there:
    // those blocks are freed on another thread than the one that allocated them.
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Vec<String>>()).unzip();
    let mut senders: Vec<Option<_>> = senders.into_iter().map(Some).collect();
    senders.rotate_left(1);
    let totals: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = senders
            .iter_mut()
            .zip(receivers)
            .enumerate()
            .map(|(t, (to_next, from_prev))| {
                let to_next = to_next.take().expect("each sender is taken once");
                s.spawn(move || {
                    let mut words: HashMap<String, usize> = HashMap::new();
                    let mut received = 0;
                    for round in 0..ROUNDS {
                        let batch: Vec<String> = (0..8)
                            .map(|i| format!("thread {t} round {round} word {i}"))
                            .collect();
                        for w in &batch[..4] {
                            *words
                                .entry(w.split(' ').nth(4).unwrap_or("").to_owned())
                                .or_default() += 1;
                        }
                        to_next.send(batch).expect("the next thread is alive");
                        while let Ok(theirs) = from_prev.try_recv() {
                            received += theirs.len(); // dropped here, on this thread
                        }
                    }
                    drop(to_next);
                    received += from_prev.iter().map(|v| v.len()).sum::<usize>();
                    assert_eq!(words.values().sum::<usize>(), 4 * ROUNDS);
                    received
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no thread panicked"))
            .collect()
    });
    assert_eq!(totals.iter().sum::<usize>(), THREADS * ROUNDS * 8);

    let stats = A.get().expect("the allocator served this program").stats();
    println!("GeneralPurpose as the global allocator, {THREADS} threads:");
    println!(
        "  requests served by the size classes: {}",
        stats.cache.served
    );
    println!("  busiest classes (block size: requests):");
    let mut classes: Vec<(usize, u64)> =
        stats.cache.served_per_class().filter(|c| c.1 > 0).collect();
    classes.sort_by_key(|c| std::cmp::Reverse(c.1));
    for (size, n) in classes.iter().take(5) {
        println!("    {size:>6} B: {n}");
    }
    println!(
        "  large or over-aligned requests sent to System (spills): {}",
        stats.cache.spills
    );
    println!(
        "  batches refilled / flushed: {} / {}",
        stats.cache.refills, stats.cache.flushes
    );
    println!(
        "  bytes cached by this thread: {}",
        stats.cache.this_thread_bytes
    );
    println!("  bytes in the shared depot: {}", stats.cache.depot_bytes);
    println!(
        "  chunks held: {} ({} KiB)",
        stats.chunks,
        stats.chunk_bytes / 1024
    );
    assert!(stats.cache.served > (THREADS * ROUNDS * 8) as u64);
}
