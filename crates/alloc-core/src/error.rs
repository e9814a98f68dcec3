//! [`AllocatorError`]: why a request could not be served.

use core::fmt;

/// Why an allocator could not serve a request.
///
/// The error never allocates (it is `Copy` and holds at most a `&'static str`), so it can
/// be returned from inside an allocator that is out of memory, and from `no_std` code.
///
/// The variants say whether retrying elsewhere can help: a [`Fallback`]-style composite
/// tries its second allocator on any error, and returns the more informative of the two
/// errors when both fail (see [`AllocatorError::is_more_informative_than`]).
///
/// [`Fallback`]: https://docs.rs/alloc-compose
///
/// # Examples
///
/// ```
/// use alloc_core::AllocatorError;
///
/// let e = AllocatorError::OutOfMemory;
/// assert_eq!(e.to_string(), "out of memory");
/// let e = AllocatorError::InvalidArgument("block size is smaller than a pointer");
/// assert_eq!(e.to_string(), "invalid argument: block size is smaller than a pointer");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllocatorError {
    /// The allocator has no memory left for this request now; freeing blocks may help.
    OutOfMemory,
    /// The request is larger than this allocator can ever serve (for example larger than
    /// a fixed-size pool's blocks), though it is a valid layout.
    TooLarge,
    /// The requested alignment is more than this allocator supports.
    UnsupportedAlignment,
    /// A size computation overflowed, or the size exceeds `isize::MAX`.
    SizeOverflow,
    /// The allocator is in use by an open child scope and cannot serve requests until the
    /// scope ends.
    Busy,
    /// An argument (usually to a constructor) is not acceptable; the text says which.
    InvalidArgument(&'static str),
    /// Anything else; the text says what.
    Other(&'static str),
}

impl AllocatorError {
    /// Ranks errors by how much they tell the user, for composites that must pick one of
    /// two errors: `Other`/`InvalidArgument` (most specific) > `Busy` >
    /// `UnsupportedAlignment` > `SizeOverflow` > `TooLarge` > `OutOfMemory` (least).
    ///
    /// `OutOfMemory` ranks lowest because it is the usual answer of an allocator at the
    /// end of a chain (for example [`Null`](https://docs.rs/alloc-compose)) and says the
    /// least about the request.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::AllocatorError;
    ///
    /// assert!(AllocatorError::TooLarge.is_more_informative_than(&AllocatorError::OutOfMemory));
    /// assert!(!AllocatorError::OutOfMemory.is_more_informative_than(&AllocatorError::TooLarge));
    /// ```
    #[must_use]
    pub const fn is_more_informative_than(&self, other: &Self) -> bool {
        self.rank() > other.rank()
    }

    const fn rank(&self) -> u8 {
        match self {
            Self::OutOfMemory => 0,
            Self::TooLarge => 1,
            Self::SizeOverflow => 2,
            Self::UnsupportedAlignment => 3,
            Self::Busy => 4,
            Self::InvalidArgument(_) | Self::Other(_) => 5,
        }
    }
}

impl fmt::Display for AllocatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfMemory => f.write_str("out of memory"),
            Self::TooLarge => f.write_str("request is larger than this allocator can serve"),
            Self::UnsupportedAlignment => f.write_str("unsupported alignment"),
            Self::SizeOverflow => f.write_str("size overflow"),
            Self::Busy => f.write_str("allocator is busy: a child scope is open"),
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::Other(what) => f.write_str(what),
        }
    }
}

impl core::error::Error for AllocatorError {}

#[cfg(test)]
mod tests {
    use super::AllocatorError;

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let all = [
            AllocatorError::OutOfMemory,
            AllocatorError::TooLarge,
            AllocatorError::UnsupportedAlignment,
            AllocatorError::SizeOverflow,
            AllocatorError::Busy,
            AllocatorError::InvalidArgument("zero count"),
            AllocatorError::Other("something else"),
        ];
        for e in all {
            let s = alloc::format!("{e}");
            assert!(!s.is_empty());
            assert!(!s.ends_with('.'), "{s:?} ends with a period");
            assert!(!s.chars().next().unwrap().is_uppercase(), "{s:?}");
        }
    }

    #[test]
    fn error_is_small_and_copy() {
        // A `&'static str` plus a tag: never a heap allocation.
        assert!(core::mem::size_of::<AllocatorError>() <= 3 * core::mem::size_of::<usize>());
    }
}
