//! The boundary: no panic crosses it, and every failure leaves a message for `bv_last_error`.
// Safe code; only the unit tests read the message back through a raw pointer.
#![cfg_attr(not(test), forbid(unsafe_code))]

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// This thread's last error message (kept until the next failing call on this thread).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last error. Interior NUL bytes (which a C string cannot
/// hold) become `?`.
pub(crate) fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', "?")).unwrap_or_default();
    // During thread teardown the slot may be gone; the return value still says "error".
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(message);
        }
    });
}

/// A pointer to this thread's last error message, or to `""` when there was none. The pointer
/// stays valid until the next failing call on this thread (which replaces the message) or the
/// thread's exit.
pub(crate) fn last_error() -> *const c_char {
    const NONE: &CStr = c"";
    LAST_ERROR
        .try_with(|slot| match slot.try_borrow() {
            // The CString's heap buffer does not move when the `Ref` is dropped; it lives
            // until the slot is overwritten, which is what the header promises.
            Ok(slot) => slot.as_ref().map_or(NONE.as_ptr(), |m| m.as_ptr()),
            Err(_) => NONE.as_ptr(),
        })
        .unwrap_or(NONE.as_ptr())
}

/// Runs one entry point's body: `Ok(value)` is returned as is; `Err(message)` records the
/// message and returns `failure`; a panic (a bug: no input should cause one) is caught, recorded
/// as an internal error, and returns `failure` too — it never unwinds into C.
pub(crate) fn boundary<T>(failure: T, body: impl FnOnce() -> Result<T, String>) -> T {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(message)) => {
            set_last_error(&message);
            failure
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error (a panic inside blockverify, please report it): {}",
                panic_message(payload.as_ref())
            ));
            failure
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> String {
        // SAFETY: `last_error` returns a NUL-terminated string that lives until the next error.
        unsafe { CStr::from_ptr(last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_an_error_value_with_its_message() {
        let got = boundary(-1, || -> Result<i32, String> { panic!("boom {}", 7) });
        assert_eq!(got, -1);
        assert!(message().contains("internal error"), "{}", message());
        assert!(message().contains("boom 7"), "{}", message());
    }

    #[test]
    fn errors_are_per_thread_and_successes_leave_them() {
        std::thread::spawn(|| {
            assert_eq!(message(), "");
            assert_eq!(boundary(0, || Err("first".to_string())), 0);
            assert_eq!(message(), "first");
            assert_eq!(boundary(0, || Ok(5)), 5);
            assert_eq!(message(), "first");
            std::thread::spawn(|| assert_eq!(message(), ""))
                .join()
                .unwrap();
            assert_eq!(boundary(0, || Err("nul\0inside".to_string())), 0);
            assert_eq!(message(), "nul?inside");
        })
        .join()
        .unwrap();
    }
}
