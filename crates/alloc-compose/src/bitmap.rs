//! [`Bits`]: a bitmap over a slice of `Cell<usize>` words, scanned a word at a time; the
//! data structure under [`Bitmapped`](crate::Bitmapped), apart from any pointer: only index
//! arithmetic, no `unsafe`, easy to test on its own.
#![forbid(unsafe_code)]

use core::cell::Cell;

/// Bits per word.
pub(crate) const WORD: usize = usize::BITS as usize;

/// How many words hold `bits` bits.
pub(crate) const fn words_for(bits: usize) -> usize {
    bits.div_ceil(WORD)
}

/// The mask of bits `lo..hi` of one word (`lo < hi <= WORD`).
#[inline(always)]
fn mask(lo: usize, hi: usize) -> usize {
    let high = if hi == WORD { !0 } else { (1usize << hi) - 1 };
    high & !((1usize << lo) - 1)
}

/// A bitmap of `len` bits in `words` (shared: `Cell`s, so a `&Bits` can change them).
/// Bits past `len` in the last word are kept set, so that no scan finds a clear run there.
#[derive(Clone, Copy)]
pub(crate) struct Bits<'a> {
    words: &'a [Cell<usize>],
    len: usize,
}

impl<'a> Bits<'a> {
    /// The bitmap of `len` bits in `words`, which must have `words_for(len)` words (checked
    /// in debug builds; fewer would panic on an out-of-bounds index).
    #[inline(always)]
    pub(crate) fn new(words: &'a [Cell<usize>], len: usize) -> Self {
        debug_assert_eq!(words.len(), words_for(len));
        Self { words, len }
    }

    /// Clears every bit below `len` and sets the padding bits above it.
    pub(crate) fn reset(&self) {
        for w in self.words {
            w.set(0);
        }
        let tail = self.len % WORD;
        if tail != 0 {
            if let Some(last) = self.words.last() {
                last.set(mask(tail, WORD));
            }
        }
    }

    /// Bit `i` (`i < len`).
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> bool {
        self.words[i / WORD].get() & (1 << (i % WORD)) != 0
    }

    /// Sets bit `i` to `value`.
    #[inline(always)]
    pub(crate) fn put(&self, i: usize, value: bool) {
        let w = &self.words[i / WORD];
        if value {
            w.set(w.get() | 1 << (i % WORD));
        } else {
            w.set(w.get() & !(1 << (i % WORD)));
        }
    }

    /// Calls `f(word, mask)` for each word that bits `start..start + n` touch.
    #[inline(always)]
    fn spans(start: usize, n: usize, mut f: impl FnMut(usize, usize) -> bool) -> bool {
        let end = start + n;
        let mut i = start;
        while i < end {
            let w = i / WORD;
            let lo = i % WORD;
            let hi = (end - w * WORD).min(WORD);
            if !f(w, mask(lo, hi)) {
                return false;
            }
            i = (w + 1) * WORD;
        }
        true
    }

    /// Whether bits `start..start + n` are all set (all clear if `!set`); `false` if the
    /// range passes `len`.
    pub(crate) fn all(&self, start: usize, n: usize, set: bool) -> bool {
        match start.checked_add(n) {
            Some(end) if end <= self.len => Self::spans(start, n, |w, m| {
                let x = self.words[w].get() & m;
                if set { x == m } else { x == 0 }
            }),
            _ => false,
        }
    }

    /// Sets (or clears) bits `start..start + n` (within `len`).
    pub(crate) fn fill(&self, start: usize, n: usize, set: bool) {
        debug_assert!(start + n <= self.len);
        Self::spans(start, n, |w, m| {
            let word = &self.words[w];
            word.set(if set { word.get() | m } else { word.get() & !m });
            true
        });
    }

    /// The first clear bit at or after word `from`, set; its index.
    #[inline(always)]
    pub(crate) fn take_one(&self, from: usize) -> Option<usize> {
        for (w, word) in self.words.iter().enumerate().skip(from) {
            let x = word.get();
            if x != !0 {
                let bit = (!x).trailing_zeros() as usize;
                word.set(x | 1 << bit);
                return Some(w * WORD + bit);
            }
        }
        None
    }

    /// The first run of `n` clear bits (`n >= 1`) starting at or after word `from`, set;
    /// the index of its first bit. First fit, a word at a time: full and empty words cost
    /// one compare each.
    pub(crate) fn take_run(&self, n: usize, from: usize) -> Option<usize> {
        let mut run_start = from * WORD;
        let mut run = 0;
        for (w, word) in self.words.iter().enumerate().skip(from) {
            let x = word.get();
            if x == 0 {
                run += WORD;
            } else if x == !0 {
                run = 0;
                run_start = (w + 1) * WORD;
                continue;
            } else {
                let mut pos = 0;
                loop {
                    // Clear bits from `pos`, then set bits.
                    let zeros = ((x >> pos).trailing_zeros() as usize).min(WORD - pos);
                    run += zeros;
                    if run >= n {
                        break;
                    }
                    pos += zeros;
                    if pos >= WORD {
                        break;
                    }
                    pos += (x >> pos).trailing_ones() as usize;
                    run = 0;
                    run_start = w * WORD + pos;
                    if pos >= WORD {
                        break;
                    }
                }
            }
            if run >= n {
                // Padding bits are set, so a run of clear bits ends below `len`.
                self.fill(run_start, n, true);
                return Some(run_start);
            }
        }
        None
    }

    /// The number of set bits below `len`.
    pub(crate) fn count(&self) -> usize {
        let ones: usize = self
            .words
            .iter()
            .map(|w| w.get().count_ones() as usize)
            .sum();
        ones - (self.words.len() * WORD - self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::{Bits, WORD, words_for};
    use core::cell::Cell;

    fn with_bits(len: usize, f: impl FnOnce(Bits<'_>)) {
        let words: [Cell<usize>; 4] = Default::default();
        let bits = Bits::new(&words[..words_for(len)], len);
        bits.reset();
        f(bits);
    }

    #[test]
    fn runs_are_first_fit_and_never_pass_the_end() {
        with_bits(150, |b| {
            assert_eq!(b.take_run(3, 0), Some(0));
            assert_eq!(b.take_one(0), Some(3));
            assert_eq!(b.take_run(70, 0), Some(4));
            assert_eq!(b.take_run(80, 0), None, "only 76 left");
            assert_eq!(b.take_run(76, 0), Some(74));
            assert_eq!(b.count(), 150);
            assert_eq!(b.take_one(0), None);
            b.fill(10, 5, false);
            b.fill(60, 8, false);
            assert!(b.all(60, 8, false) && !b.all(59, 8, false));
            assert_eq!(b.take_run(6, 0), Some(60));
            assert_eq!(b.take_run(6, 0), None);
            assert_eq!(b.take_run(5, 0), Some(10));
            assert_eq!(b.take_run(2, 0), Some(66));
            assert!(b.all(0, 150, true) && !b.all(0, 151, true));
        });
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "safe code only (the module forbids unsafe): nothing for Miri to find; it runs natively"
    )]
    fn a_model_of_bools_agrees() {
        // Every run length at every offset, against a plain array of bools.
        for len in [1, 63, 64, 65, 130, 4 * WORD] {
            for n in 1..=len.min(70) {
                with_bits(len, |b| {
                    let mut model = [false; 4 * WORD];
                    let mut k = 0u64;
                    for (i, m) in model.iter_mut().enumerate().take(len) {
                        k = k
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        if k >> 62 == 0 {
                            b.put(i, true);
                            *m = true;
                        }
                    }
                    let expect = (0..=len.saturating_sub(n))
                        .find(|&s| s + n <= len && model[s..s + n].iter().all(|&x| !x));
                    assert_eq!(b.take_run(n, 0), expect, "len {len} n {n}");
                    if let Some(s) = expect {
                        assert!(b.all(s, n, true));
                        assert!(
                            (0..len).all(|i| b.get(i) == (model[i] || (s..s + n).contains(&i)))
                        );
                    }
                });
            }
        }
    }
}
