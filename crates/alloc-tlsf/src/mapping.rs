//! The two-level size classes of the TLSF heap: pure index arithmetic over block sizes,
//! no pointers, no `unsafe`.
#![forbid(unsafe_code)]

/// Granularity: every block size and header address is a multiple of two words.
pub(crate) const GRAN: usize = 2 * size_of::<usize>();
/// log2 of [`GRAN`].
pub(crate) const GRAN_LOG2: u32 = GRAN.trailing_zeros();
/// log2 of the number of second-level lists per first-level class.
pub(crate) const SL_LOG2: u32 = 4;
/// Second-level lists per first-level class.
pub(crate) const SL: usize = 1 << SL_LOG2;
/// Sizes below this are in first-level class 0, one list per [`GRAN`] step.
const SMALL: usize = GRAN << SL_LOG2;
/// First-level classes: class `f >= 1` holds sizes in `[2^(f + SHIFT - 1), 2^(f + SHIFT))`.
pub(crate) const FL: usize = if usize::BITS == 64 { 32 } else { 24 };
/// log2 of [`SMALL`].
const SHIFT: u32 = SMALL.trailing_zeros();
/// The largest block size (exclusive): sizes must map below [`FL`].
pub(crate) const MAX_BLOCK: usize = 1 << (FL as u32 + SHIFT - 1);

const _: () = assert!(FL <= 32 && SL <= 32, "the bitmaps are u32");
const _: () = assert!(GRAN_LOG2 + SL_LOG2 == SHIFT);

/// The list of a free block of `size` bytes (a multiple of [`GRAN`], below
/// [`MAX_BLOCK`]), as a flat number `fl * SL + sl` (first level `fl`, second level `sl`).
///
/// Branch-free: with `m` the top bit of `size | SMALL` (so that sizes below [`SMALL`] use
/// the step of class 1, which is [`GRAN`], as class 0 does), the top [`SL_LOG2`]` + 1`
/// bits of `size` below `m` are `SL + sl`, and `(m - SHIFT) * SL + SL + sl` is
/// `fl * SL + sl`.
#[inline(always)]
pub(crate) fn insert_index(size: usize) -> usize {
    let m = usize::BITS - 1 - (size | SMALL).leading_zeros();
    (((m - SHIFT) as usize) << SL_LOG2) + (size >> (m - SL_LOG2))
}

/// The first list whose every block has at least `size` bytes (at least [`GRAN`]), or
/// `None` past the largest class: the list after the one holding `size - 1` (a carry out
/// of the second level moves to the next first level by itself in the flat number).
#[inline(always)]
pub(crate) fn search_index(size: usize) -> Option<usize> {
    let index = insert_index(size - 1) + 1;
    (index < FL * SL).then_some(index)
}

/// `(first level, second level)` of flat list number `index`.
#[cfg(test)]
const fn split_index(index: usize) -> (usize, usize) {
    (index >> SL_LOG2, index & (SL - 1))
}

/// The list of a free block of `size` bytes: `(first level, second level)`.
#[cfg(test)]
fn insert_class(size: usize) -> (usize, usize) {
    split_index(insert_index(size))
}

/// The first list whose every block has at least `size` bytes.
#[cfg(test)]
fn search_class(size: usize) -> Option<(usize, usize)> {
    search_index(size).map(split_index)
}

/// The block size for a request of `size` bytes with a header of `header` bytes: rounded
/// up to [`GRAN`], at least `min`; `None` if it reaches [`MAX_BLOCK`].
#[inline(always)]
pub(crate) fn block_size(size: usize, header: usize, min: usize) -> Option<usize> {
    // `size + header` rounded up stays below MAX_BLOCK exactly when it is at most
    // `MAX_BLOCK - GRAN` (both multiples of GRAN); checked first, the sum cannot overflow.
    if size > (MAX_BLOCK - GRAN).saturating_sub(header) {
        return None;
    }
    Some(((size + header + GRAN - 1) & !(GRAN - 1)).max(min))
}

#[cfg(test)]
mod tests {
    use super::{FL, GRAN, MAX_BLOCK, SL, block_size, insert_class, search_class};

    /// The smallest size of list `(fl, sl)`.
    fn lower_bound(fl: usize, sl: usize) -> usize {
        if fl == 0 {
            sl * GRAN
        } else {
            let base = 1usize << (fl as u32 + super::SHIFT - 1);
            base + sl * (base >> super::SL_LOG2)
        }
    }

    /// The mapping as the TLSF paper writes it, with a branch for the small sizes.
    fn reference_class(size: usize) -> (usize, usize) {
        if size < super::SMALL {
            (0, size / GRAN)
        } else {
            let msb = usize::BITS - 1 - size.leading_zeros();
            let fl = (msb - super::SHIFT + 1) as usize;
            (fl, (size >> (msb - super::SL_LOG2)) & (SL - 1))
        }
    }

    #[test]
    fn branch_free_mapping_matches_the_reference() {
        let mut size = GRAN;
        while size < MAX_BLOCK {
            assert_eq!(insert_class(size), reference_class(size), "{size}");
            let up = search_class(size);
            let exact = reference_class(size);
            if lower_bound(exact.0, exact.1) == size {
                assert_eq!(up, Some(exact), "{size}: on a class boundary");
            } else if let Some(up) = up {
                // The next list after the one holding `size`.
                let next = if exact.1 + 1 == SL {
                    (exact.0 + 1, 0)
                } else {
                    (exact.0, exact.1 + 1)
                };
                assert_eq!(up, next, "{size}: rounded up");
            }
            size = if size < 1 << 14 {
                size + GRAN
            } else {
                (size + (size >> 9)) & !(GRAN - 1)
            };
        }
    }

    #[test]
    fn classes_cover_sizes_in_order() {
        let mut last = (0, 0);
        let mut size = GRAN;
        while size < MAX_BLOCK {
            let c = insert_class(size);
            assert!(c.0 < FL && c.1 < SL, "{size}: {c:?}");
            assert!(c >= last, "not monotone at {size}");
            assert!(
                lower_bound(c.0, c.1) <= size,
                "{size} below its class {c:?}"
            );
            last = c;
            size = if size < 1 << 16 {
                size + GRAN
            } else {
                size + (size >> 7)
            } & !(GRAN - 1);
        }
    }

    #[test]
    fn a_searched_class_only_holds_blocks_that_fit() {
        let mut size = GRAN;
        while size < MAX_BLOCK / 2 {
            let (fl, sl) = search_class(size).unwrap();
            assert!(
                lower_bound(fl, sl) >= size,
                "{size}: list ({fl}, {sl}) holds smaller"
            );
            size = if size < 1 << 14 {
                size + GRAN
            } else {
                size * 3 / 2
            } & !(GRAN - 1);
        }
        assert_eq!(search_class(MAX_BLOCK - GRAN), None);
        assert_eq!(block_size(usize::MAX - 3, 16, 32), None);
        assert_eq!(block_size(1, 2 * GRAN, 4 * GRAN), Some(4 * GRAN));
    }
}
