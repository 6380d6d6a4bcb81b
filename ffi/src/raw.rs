//! The caller's pointers, turned into slices after every check the library can make.
//!
//! This module and the handle casts in `lib.rs` are the crate's only `unsafe`. What cannot be
//! checked (that a non-NULL pointer really points to as many bytes as the caller says, that
//! the memory stays unchanged during the call) is the caller's promise, stated in the header;
//! everything else (NULL, alignment, sizes that overflow, offsets that go backwards, an output
//! buffer that overlaps an input) is refused with a message before any byte is read.

use std::mem::{align_of, size_of};
use std::ops::Range;

/// A usage error: the message `bv_last_error` returns.
pub(crate) type Usage = String;

/// The caller's buffers seen so far, by address, so that the output can be checked not to
/// overlap any of them.
#[derive(Default)]
pub(crate) struct Regions {
    regions: Vec<(&'static str, Range<usize>)>,
}

impl Regions {
    fn add<T>(&mut self, what: &'static str, slice: &[T]) {
        let start = slice.as_ptr() as usize;
        self.regions
            .push((what, start..start + std::mem::size_of_val(slice)));
    }

    /// Refuses an output buffer that shares a byte with any input or earlier output.
    fn check_disjoint(&self, what: &'static str, out: Range<usize>) -> Result<(), Usage> {
        if out.is_empty() {
            return Ok(());
        }
        for (input, range) in &self.regions {
            if range.start < out.end && out.start < range.end {
                return Err(format!("{what} overlaps {input}"));
            }
        }
        Ok(())
    }
}

/// `len` elements of `T` at `ptr`, checked for everything but the caller's promise.
///
/// An empty slice never reads `ptr` (it may be NULL). Otherwise `ptr` must be non-NULL and
/// aligned for `T`, and the size must fit in `isize`.
///
/// # Safety
/// When `len > 0` and `ptr` is non-NULL, `ptr` must point to `len` initialised `T`s that stay
/// readable and unmodified for `'a` (the duration of the call).
pub(crate) unsafe fn slice<'a, T>(
    regions: &mut Regions,
    what: &'static str,
    ptr: *const T,
    len: usize,
) -> Result<&'a [T], Usage> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(format!("{what} is NULL but must hold {len} element(s)"));
    }
    if !ptr.is_aligned() {
        return Err(format!(
            "{what} is not aligned to {} bytes (its address is {ptr:p})",
            align_of::<T>()
        ));
    }
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => {}
        _ => return Err(format!("{what}: {len} elements do not fit in memory")),
    }
    // SAFETY: `ptr` is non-NULL and aligned (checked above), the size is at most isize::MAX
    // bytes (checked above), and the caller promises `len` initialised `T`s there that nobody
    // writes during `'a`.
    let slice = unsafe { std::slice::from_raw_parts(ptr, len) };
    regions.add(what, slice);
    Ok(slice)
}

/// `n` rows of `N` bytes at `ptr` (keys, signatures).
///
/// # Safety
/// As [`slice`], for `n * N` bytes.
pub(crate) unsafe fn rows<'a, const N: usize>(
    regions: &mut Regions,
    what: &'static str,
    ptr: *const u8,
    n: usize,
) -> Result<&'a [[u8; N]], Usage> {
    // `[u8; N]` has alignment 1, so the cast cannot misalign; `slice` checks NULL and size.
    // SAFETY: the caller's promise for `n * N` bytes is the promise for `n` rows of `N`.
    unsafe { slice(regions, what, ptr.cast::<[u8; N]>(), n) }
}

/// Variable-length items, all concatenated in one buffer, with `n + 1` offsets: item `i` is
/// bytes `offsets[i]..offsets[i + 1]` of the buffer.
pub(crate) struct Concatenated<'a> {
    data: &'a [u8],
    offsets: &'a [usize],
}

impl<'a> Concatenated<'a> {
    /// An empty list, for `n = 0`.
    pub(crate) fn empty() -> Self {
        Concatenated {
            data: &[],
            offsets: &[],
        }
    }

    /// Reads `n + 1` offsets (none when `n = 0`: both pointers may then be NULL), checks that
    /// they never decrease, and takes the buffer to hold `offsets[n]` bytes — the length the
    /// caller declares. `data` may be NULL when that length is 0 (every item empty).
    ///
    /// # Safety
    /// When `n > 0`: `offsets` (if non-NULL) points to `n + 1` `size_t`s and `data` (if
    /// non-NULL) to at least `offsets[n]` bytes, all readable and unmodified during `'a`.
    pub(crate) unsafe fn new(
        regions: &mut Regions,
        data_name: &'static str,
        offsets_name: &'static str,
        n: usize,
        data: *const u8,
        offsets: *const usize,
    ) -> Result<Self, Usage> {
        if n == 0 {
            return Ok(Concatenated::empty());
        }
        let count = n
            .checked_add(1)
            .ok_or_else(|| format!("{offsets_name}: n + 1 overflows"))?;
        // SAFETY: the caller's promise for `offsets`, forwarded.
        let offsets = unsafe { slice(regions, offsets_name, offsets, count) }?;
        if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(format!(
                "{offsets_name} decrease at item {i}: {} then {}",
                offsets[i],
                offsets[i + 1]
            ));
        }
        let total = offsets[n];
        // SAFETY: the caller's promise for `data` and the `offsets[n]` bytes it declares.
        let data = unsafe { slice(regions, data_name, data, total) }?;
        Ok(Concatenated { data, offsets })
    }

    /// Item `i` (`i < n`). The offsets were checked to be non-decreasing and at most the
    /// buffer's length, so this cannot go out of bounds.
    pub(crate) fn get(&self, i: usize) -> &'a [u8] {
        &self.data[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// An output buffer of the caller's: `len` `T`s at a pointer checked to be non-NULL (when
/// `len > 0`), aligned, and disjoint from every input of the call. Written once, through
/// [`Out::write`], after the work is done (so an error leaves it untouched), and never read
/// (it may be uninitialised memory).
pub(crate) struct Out<T> {
    ptr: *mut T,
    len: usize,
}

impl<T: Copy> Out<T> {
    /// Checks `len` `T`s at `ptr` as an output of this call.
    ///
    /// # Safety
    /// When `len > 0` and `ptr` is non-NULL and aligned, `ptr` must point to `len` writable
    /// `T`s that nothing else reads or writes until the returned value is written or dropped.
    pub(crate) unsafe fn new(
        regions: &mut Regions,
        what: &'static str,
        ptr: *mut T,
        len: usize,
    ) -> Result<Self, Usage> {
        if len == 0 {
            return Ok(Out {
                ptr: std::ptr::NonNull::dangling().as_ptr(),
                len: 0,
            });
        }
        if ptr.is_null() {
            return Err(format!("{what} is NULL but must hold {len} element(s)"));
        }
        if !ptr.is_aligned() {
            return Err(format!(
                "{what} is not aligned to {} bytes (its address is {ptr:p})",
                align_of::<T>()
            ));
        }
        let bytes = match len.checked_mul(size_of::<T>()) {
            Some(bytes) if bytes <= isize::MAX as usize => bytes,
            _ => return Err(format!("{what}: {len} elements do not fit in memory")),
        };
        let start = ptr as usize;
        let range = start..start.saturating_add(bytes);
        regions.check_disjoint(what, range.clone())?;
        // Later outputs of the same call must not overlap this one either.
        regions.regions.push((what, range));
        Ok(Out { ptr, len })
    }

    /// Writes `values` (exactly `len` of them) to the caller's buffer.
    pub(crate) fn write(self, values: &[T]) {
        assert_eq!(values.len(), self.len, "an output is written whole");
        // SAFETY: `Out::new` checked the pointer non-NULL (or `len` = 0, with a dangling but
        // aligned pointer and nothing copied), aligned, of at most isize::MAX bytes and
        // disjoint from every input, and its caller promised `len` writable `T`s that nothing
        // else touches; `values` is our own memory, so the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), self.ptr, self.len) }
    }
}
