//! The one pseudo-random generator of the workspace's tests, benches and examples: a
//! seeded xorshift64* ([`Rng`]), so that every random input is the same in every run.
//!
//! It is not a library crate of the toolkit (`publish = false`) and depends on nothing,
//! so any crate, a leaf included, may take it as a dev-dependency without depending on
//! another leaf. Not for cryptography, nor for anything a user should rely on: it
//! generates test inputs.
//!
//! ```
//! use test_rng::Rng;
//!
//! let mut rng = Rng::new(7);
//! let size = rng.range(8..257); // a request size, 8 to 256 bytes
//! assert!((8..257).contains(&size));
//! let mut order: Vec<usize> = (0..10).collect();
//! rng.shuffle(&mut order); // a free order
//! ```

// Safe code only (xtask miri leaves this crate out on the strength of it).
#![forbid(unsafe_code)]
#![no_std]

use core::ops::Range;

/// A seeded xorshift64* generator (Vigna, "An experimental exploration of Marsaglia's
/// xorshift generators, scrambled", 2016): three shifts and a multiplication per number.
///
/// The same seed gives the same sequence on every platform and in every run. Draw the
/// numbers before a timed loop, not inside it.
///
/// ```
/// use test_rng::Rng;
///
/// let a: Vec<u64> = Rng::new(42).take(3).collect();
/// let b: Vec<u64> = Rng::new(42).take(3).collect();
/// assert_eq!(a, b);
/// assert_ne!(a, Rng::new(43).take(3).collect::<Vec<_>>());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng(u64);

/// The seed that replaces zero, the one state a xorshift generator never leaves.
const ZERO_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A generator from `seed`. Any seed works: zero, the one state xorshift never
    /// leaves, is replaced by a fixed non-zero constant.
    ///
    /// ```
    /// use test_rng::Rng;
    ///
    /// let mut zero = Rng::new(0);
    /// assert_ne!(zero.next_u64(), zero.next_u64());
    /// ```
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(if seed == 0 { ZERO_SEED } else { seed })
    }

    /// The next number of the sequence, all 64 bits.
    ///
    /// ```
    /// use test_rng::Rng;
    ///
    /// let mut rng = Rng::new(1);
    /// let first = rng.next_u64();
    /// assert_eq!(first, Rng::new(1).next_u64());
    /// assert_ne!(first, rng.next_u64());
    /// ```
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`: an index into a slice of length `n`.
    ///
    /// Computed as `next_u64() % n`: the bias towards small results is at most
    /// `n / 2^64`, far below anything a test or a benchmark input could notice.
    ///
    /// # Panics
    ///
    /// If `n` is zero (there is no number in `0..0`).
    ///
    /// ```
    /// use test_rng::Rng;
    ///
    /// let sizes = [16, 64, 256];
    /// let size = sizes[Rng::new(3).below(sizes.len())];
    /// assert!(sizes.contains(&size));
    /// ```
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0): the range 0..0 is empty");
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `range` (start included, end excluded).
    ///
    /// # Panics
    ///
    /// If `range` is empty.
    ///
    /// ```
    /// use test_rng::Rng;
    ///
    /// let mut rng = Rng::new(5);
    /// assert!((8..509).contains(&rng.range(8..509)));
    /// assert_eq!(rng.range(4..5), 4);
    /// ```
    #[inline]
    pub fn range(&mut self, range: Range<usize>) -> usize {
        assert!(
            range.start < range.end,
            "Rng::range({range:?}): the range is empty"
        );
        range.start + self.below(range.end - range.start)
    }

    /// Shuffles `items` in place (Fisher–Yates): every order about equally likely.
    ///
    /// ```
    /// use test_rng::Rng;
    ///
    /// let mut order: Vec<u32> = (0..100).collect();
    /// Rng::new(1).shuffle(&mut order);
    /// assert_ne!(order, (0..100).collect::<Vec<_>>());
    /// order.sort();
    /// assert_eq!(order, (0..100).collect::<Vec<_>>());
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// An endless sequence of [`Rng::next_u64`], for `take(n).collect()` and adapters.
///
/// ```
/// use test_rng::Rng;
///
/// let keys: Vec<u64> = Rng::new(11).take(1000).collect();
/// assert_eq!(keys.len(), 1000);
/// ```
impl Iterator for Rng {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        Some(self.next_u64())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(test)]
mod tests;
