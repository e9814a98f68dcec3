//! [`AllocatorError`]: why a request could not be served; [`InitError`]: why an allocator
//! could not be built.

use core::fmt;

use crate::Block;

/// Why an allocator could not serve a request.
///
/// One byte, `Copy`, no payload: it never allocates (so it can be returned from inside an
/// allocator that is out of memory, and from `no_std` code), it comes back from a function
/// in a register, and `Result<Block, AllocatorError>` is two words, the size of [`Block`]
/// alone (the error lives in the block's niche). A payload, even a `&'static str`, would
/// make every allocation's result three words. Allocators' cold paths return this error
/// alone, and their inlined fast paths build the `Result` (see ARCHITECTURE.md,
/// "Performance rules"). Errors that need words, those of constructors and initialisers,
/// are [`InitError`]s, which carry an `AllocatorError` as their [`kind`](InitError::kind).
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
/// use alloc_core::{AllocatorError, Block};
///
/// let e = AllocatorError::OutOfMemory;
/// assert_eq!(e.to_string(), "out of memory");
/// assert_eq!(size_of::<AllocatorError>(), 1);
/// assert_eq!(size_of::<Result<Block, AllocatorError>>(), size_of::<Block>());
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
    /// An argument (usually to a constructor) is not acceptable. Constructors return it as
    /// the kind of an [`InitError`], whose message says which argument and why.
    InvalidArgument,
    /// Anything else: usually the kind of an [`InitError`] whose message says what (an
    /// initialiser that failed or panicked), or an allocator's own condition.
    Other,
}

// The reason the error has no payload: a one-byte error, and a two-word result.
const _: () = assert!(
    size_of::<AllocatorError>() == 1,
    "AllocatorError is one byte"
);
const _: () = assert!(
    size_of::<Result<Block, AllocatorError>>() == size_of::<Block>(),
    "Result<Block, AllocatorError> is no larger than a Block (two words on 64-bit targets)"
);

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
            Self::InvalidArgument | Self::Other => 5,
        }
    }
}

impl fmt::Display for AllocatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfMemory => "out of memory",
            Self::TooLarge => "request is larger than this allocator can serve",
            Self::UnsupportedAlignment => "unsupported alignment",
            Self::SizeOverflow => "size overflow",
            Self::Busy => "allocator is busy: a child scope is open",
            Self::InvalidArgument => "invalid argument",
            Self::Other => "allocator error",
        })
    }
}

impl core::error::Error for AllocatorError {}

/// Why an allocator could not be built: an [`AllocatorError`] (the [`kind`](Self::kind))
/// and, usually, a message that says what was wrong.
///
/// Returned by constructors and initialisers (`FreeList::new`, `Scoped::new`,
/// `Bucketizer::with_sizes`, the initialiser of a lazy `GlobalAllocator`, ...), which run
/// once, so the message costs nothing where it matters; allocation itself returns the
/// one-byte [`AllocatorError`]. `Copy`, never allocates.
///
/// The two convert into each other, so `?` works in code that mixes them: an
/// `AllocatorError` becomes an `InitError` without a message, and an `InitError` becomes
/// its kind (the message is dropped).
///
/// `Display` writes `kind: message` (`invalid argument: block size is smaller than a
/// pointer`), the message alone for the kind `Other`, and the kind alone without a
/// message.
///
/// # Examples
///
/// ```
/// use alloc_core::{AllocatorError, InitError};
///
/// let e = InitError::invalid_argument("block size is smaller than a pointer");
/// assert_eq!(e.kind(), AllocatorError::InvalidArgument);
/// assert_eq!(e.message(), Some("block size is smaller than a pointer"));
/// assert_eq!(e.to_string(), "invalid argument: block size is smaller than a pointer");
///
/// // `?` converts both ways.
/// fn build() -> Result<u32, InitError> {
///     Err(AllocatorError::OutOfMemory)?
/// }
/// assert_eq!(build().unwrap_err().to_string(), "out of memory");
/// fn allocate() -> Result<u32, AllocatorError> {
///     Ok(build()?)
/// }
/// assert_eq!(allocate(), Err(AllocatorError::OutOfMemory));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InitError {
    /// What kind of failure.
    kind: AllocatorError,
    /// What was wrong, in words; lowercase, no trailing period.
    message: Option<&'static str>,
}

impl InitError {
    /// An error of kind `kind` that says `message`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocatorError, InitError};
    ///
    /// let e = InitError::new(AllocatorError::SizeOverflow, "the region is larger than isize::MAX");
    /// assert_eq!(e.to_string(), "size overflow: the region is larger than isize::MAX");
    /// ```
    #[must_use]
    pub const fn new(kind: AllocatorError, message: &'static str) -> Self {
        Self {
            kind,
            message: Some(message),
        }
    }

    /// An [`InvalidArgument`](AllocatorError::InvalidArgument) error that says which
    /// argument and why.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocatorError, InitError};
    ///
    /// let e = InitError::invalid_argument("block count is zero");
    /// assert_eq!(e.kind(), AllocatorError::InvalidArgument);
    /// assert_eq!(e.to_string(), "invalid argument: block count is zero");
    /// ```
    #[must_use]
    pub const fn invalid_argument(message: &'static str) -> Self {
        Self::new(AllocatorError::InvalidArgument, message)
    }

    /// An [`Other`](AllocatorError::Other) error: the message says what.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocatorError, InitError};
    ///
    /// let e = InitError::other("no memory at start-up");
    /// assert_eq!(e.kind(), AllocatorError::Other);
    /// assert_eq!(e.to_string(), "no memory at start-up");
    /// ```
    #[must_use]
    pub const fn other(message: &'static str) -> Self {
        Self::new(AllocatorError::Other, message)
    }

    /// What kind of failure: the [`AllocatorError`] this error converts into.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocatorError, InitError};
    ///
    /// assert_eq!(InitError::from(AllocatorError::Busy).kind(), AllocatorError::Busy);
    /// ```
    #[must_use]
    pub const fn kind(&self) -> AllocatorError {
        self.kind
    }

    /// What was wrong, in words; `None` for an error converted from an [`AllocatorError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_core::{AllocatorError, InitError};
    ///
    /// assert_eq!(InitError::other("no").message(), Some("no"));
    /// assert_eq!(InitError::from(AllocatorError::OutOfMemory).message(), None);
    /// ```
    #[must_use]
    pub const fn message(&self) -> Option<&'static str> {
        self.message
    }
}

impl From<AllocatorError> for InitError {
    /// An error of that kind, without a message.
    #[inline]
    fn from(kind: AllocatorError) -> Self {
        Self {
            kind,
            message: None,
        }
    }
}

impl From<InitError> for AllocatorError {
    /// The error's [`kind`](InitError::kind); the message is dropped.
    #[inline]
    fn from(e: InitError) -> Self {
        e.kind
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.message) {
            (_, None) => fmt::Display::fmt(&self.kind, f),
            (AllocatorError::Other, Some(message)) => f.write_str(message),
            (kind, Some(message)) => write!(f, "{kind}: {message}"),
        }
    }
}

impl core::error::Error for InitError {}

#[cfg(test)]
mod tests {
    use super::{AllocatorError, InitError};
    use crate::Block;

    const ALL: [AllocatorError; 7] = [
        AllocatorError::OutOfMemory,
        AllocatorError::TooLarge,
        AllocatorError::UnsupportedAlignment,
        AllocatorError::SizeOverflow,
        AllocatorError::Busy,
        AllocatorError::InvalidArgument,
        AllocatorError::Other,
    ];

    fn check_message(s: &str) {
        assert!(!s.is_empty());
        assert!(!s.ends_with('.'), "{s:?} ends with a period");
        assert!(!s.chars().next().unwrap().is_uppercase(), "{s:?}");
    }

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        for e in ALL {
            check_message(&alloc::format!("{e}"));
            check_message(&alloc::format!("{}", InitError::from(e)));
            check_message(&alloc::format!("{}", InitError::new(e, "what went wrong")));
        }
    }

    #[test]
    fn init_error_display_names_kind_and_message() {
        assert_eq!(
            alloc::format!("{}", InitError::invalid_argument("zero count")),
            "invalid argument: zero count"
        );
        assert_eq!(
            alloc::format!("{}", InitError::other("something else")),
            "something else"
        );
        assert_eq!(
            alloc::format!("{}", InitError::from(AllocatorError::SizeOverflow)),
            "size overflow"
        );
    }

    #[test]
    fn conversions_keep_the_kind() {
        for e in ALL {
            assert_eq!(AllocatorError::from(InitError::from(e)), e);
            assert_eq!(AllocatorError::from(InitError::new(e, "why")), e);
        }
    }

    #[test]
    fn error_is_one_byte_and_the_result_two_words() {
        assert_eq!(core::mem::size_of::<AllocatorError>(), 1);
        assert_eq!(
            core::mem::size_of::<Result<Block, AllocatorError>>(),
            2 * core::mem::size_of::<usize>()
        );
    }
}
