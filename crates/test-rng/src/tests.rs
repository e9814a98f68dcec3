//! The generator's sequence, and the bounds and spread of the helpers.

use super::Rng;

/// Draws per statistical test: fewer under Miri, which runs about a thousand times slower.
const DRAWS: usize = if cfg!(miri) { 2_000 } else { 200_000 };

/// Whether `count` successes in `draws` tries of probability `1 / outcomes` are within
/// five standard deviations of the expected count: a fair generator fails that about once
/// in two million tests, a broken one (a stuck bit, a skewed modulo) at once.
fn plausible(count: usize, draws: usize, outcomes: usize) -> bool {
    let expected = draws / outcomes;
    let sd = (draws * (outcomes - 1) / (outcomes * outcomes)).isqrt();
    count.abs_diff(expected) <= 5 * sd + 1
}

/// xorshift64* as the paper writes it (shifts 12, 25, 27, then the multiplier
/// 2685821657736338717), independently of the crate's code.
fn reference(mut state: u64, n: usize) -> impl Iterator<Item = u64> {
    (0..n).map(move |_| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(2_685_821_657_736_338_717)
    })
}

#[test]
fn the_first_number_of_seed_one_worked_by_hand() {
    // From 1: `x >> 12` is 0, `x << 25` sets bit 25, `x >> 27` is 0 again.
    let state = (1u64 << 25) | 1;
    assert_eq!(
        Rng::new(1).next_u64(),
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    );
}

#[test]
fn the_sequence_is_xorshift64_star() {
    for seed in [1, 7, 42, u64::MAX, 0x2545_F491_4F6C_DD1D] {
        assert!(
            Rng::new(seed).take(1000).eq(reference(seed, 1000)),
            "seed {seed}"
        );
    }
}

#[test]
fn a_seed_always_gives_the_same_sequence_and_seeds_differ() {
    let mut a = Rng::new(9);
    let mut b = a.clone();
    for _ in 0..1000 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    let firsts: [u64; 4] = [1, 2, 3, 4].map(|seed| Rng::new(seed).next_u64());
    for i in 0..firsts.len() {
        for j in i + 1..firsts.len() {
            assert_ne!(firsts[i], firsts[j], "seeds {} and {}", i + 1, j + 1);
        }
    }
}

#[test]
fn seed_zero_is_replaced_and_does_not_stick_at_zero() {
    let mut zero = Rng::new(0);
    assert_eq!(zero, Rng::new(super::ZERO_SEED));
    assert!((0..100).all(|_| zero.next_u64() != 0));
}

#[test]
fn below_stays_below_and_reaches_every_value() {
    let mut rng = Rng::new(3);
    for n in 1..=64 {
        let mut seen = [false; 64];
        for _ in 0..(n * 50) {
            let x = rng.below(n);
            assert!(x < n, "below({n}) gave {x}");
            seen[x] = true;
        }
        assert!(seen[..n].iter().all(|&s| s), "below({n}) missed a value");
    }
}

#[test]
fn below_is_spread_evenly() {
    // Seven buckets (not a power of two, where a modulo would show its bias first).
    let mut counts = [0usize; 7];
    let mut rng = Rng::new(11);
    for _ in 0..DRAWS {
        counts[rng.below(7)] += 1;
    }
    for (value, &count) in counts.iter().enumerate() {
        assert!(
            plausible(count, DRAWS, 7),
            "value {value}: {count} times in {DRAWS} ({counts:?})"
        );
    }
}

#[test]
fn every_bit_is_set_about_half_the_time() {
    let mut ones = [0usize; 64];
    let mut rng = Rng::new(5);
    for _ in 0..DRAWS {
        let x = rng.next_u64();
        for (bit, count) in ones.iter_mut().enumerate() {
            *count += (x >> bit) as usize & 1;
        }
    }
    for (bit, &count) in ones.iter().enumerate() {
        assert!(
            plausible(count, DRAWS, 2),
            "bit {bit} set {count} times in {DRAWS}"
        );
    }
}

#[test]
fn range_stays_in_range_and_reaches_both_ends() {
    let mut rng = Rng::new(13);
    let (mut low, mut high) = (false, false);
    for _ in 0..2000 {
        let x = rng.range(8..17);
        assert!((8..17).contains(&x), "{x}");
        low |= x == 8;
        high |= x == 16;
    }
    assert!(low && high);
    assert_eq!(rng.range(usize::MAX - 1..usize::MAX), usize::MAX - 1);
}

#[test]
#[should_panic(expected = "Rng::below(0)")]
fn below_zero_panics() {
    Rng::new(1).below(0);
}

#[test]
#[should_panic(expected = "the range is empty")]
fn an_empty_range_panics() {
    #[allow(clippy::reversed_empty_ranges)]
    Rng::new(1).range(5..5);
}

#[test]
fn shuffle_gives_every_order_about_equally_often() {
    // The 24 orders of four items, counted over many shuffles.
    let shuffles = DRAWS / 10;
    let mut counts = [0usize; 24];
    let mut rng = Rng::new(17);
    for _ in 0..shuffles {
        let mut items = [0u8, 1, 2, 3];
        rng.shuffle(&mut items);
        let mut sorted = items;
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3], "not a permutation: {items:?}");
        // The order's rank among the 24 (a Lehmer code).
        let mut rank = 0;
        for i in 0..4 {
            let smaller_after = items[i + 1..].iter().filter(|&&x| x < items[i]).count();
            rank = rank * (4 - i) + smaller_after;
        }
        counts[rank] += 1;
    }
    for (rank, &count) in counts.iter().enumerate() {
        assert!(
            plausible(count, shuffles, 24),
            "order {rank}: {count} times in {shuffles} ({counts:?})"
        );
    }
}

#[test]
fn shuffling_nothing_or_one_item_is_fine() {
    let mut rng = Rng::new(1);
    rng.shuffle::<u8>(&mut []);
    let mut one = [7];
    rng.shuffle(&mut one);
    assert_eq!(one, [7]);
}
