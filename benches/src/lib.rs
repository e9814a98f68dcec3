//! Shared helpers of the benchmark suite (see `benches/README.md`).

// A std program: the core/alloc import lints are for the `no_std` libraries.
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

/// A fixed, seeded pseudo-random sequence (xorshift64*), so benchmark inputs are
/// pre-generated and identical in every run: no random numbers in a timed loop.
///
/// ```
/// let a: Vec<u64> = allocators_benches::Xorshift::new(7).take(3).collect();
/// let b: Vec<u64> = allocators_benches::Xorshift::new(7).take(3).collect();
/// assert_eq!(a, b);
/// ```
#[derive(Clone, Debug)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator from a non-zero seed (zero is replaced by a fixed constant).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
}

impl Iterator for Xorshift {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        Some(x.wrapping_mul(0x2545_F491_4F6C_DD1D))
    }
}

/// Shuffles `items` in place with a seeded Fisher–Yates shuffle.
///
/// ```
/// let mut v: Vec<u32> = (0..10).collect();
/// allocators_benches::shuffle(&mut v, 1);
/// v.sort();
/// assert_eq!(v, (0..10).collect::<Vec<_>>());
/// ```
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = Xorshift::new(seed);
    for i in (1..items.len()).rev() {
        let j = (rng.next().unwrap_or(0) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
