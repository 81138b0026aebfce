//! The raw ABI of SPEC §8: JSON bytes in linear memory, answers packed as `(ptr << 32) | len` in
//! an `i64` that the caller frees with `sg_free`. Nothing here calls an import or traps on any
//! input bytes: every malformed input is an answer.

use scopegate_core as core;

/// The entry points of the raw ABI that take a JSON buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Authorize,
    Route,
    CheckIssue,
    MinimalToken,
    Operations,
    CheckHeaderNames,
    CheckRequest,
    CheckAnswer,
    Seal,
    Introspect,
    Scan,
}

/// Answers one raw-ABI call on the input bytes, as JSON bytes. `None` input means the caller's
/// pointer and length do not lie in memory.
pub fn dispatch(call: Call, input: Option<&[u8]>) -> Vec<u8> {
    // An input outside memory reads as nothing, which no entry point takes for valid input.
    let bytes = input.unwrap_or(b"");
    match call {
        Call::Authorize => core::authorize_json(bytes).to_json(),
        Call::Route => core::route_json(bytes, |info| match info {
            Some(info) => info.to_json(),
            None => b"null".to_vec(),
        }),
        Call::CheckIssue => core::check_issue_json(bytes).to_json(),
        Call::MinimalToken => match core::minimal_token_json(bytes) {
            Ok(advice) => advice.to_json(),
            Err(refusal) => refusal.to_json(),
        },
        Call::Operations => core::operations_json(),
        Call::CheckHeaderNames => core::Header::NAMES_JSON.as_bytes().to_vec(),
        Call::CheckRequest => core::check_request_json(bytes),
        Call::CheckAnswer => core::check_answer_json(bytes),
        Call::Seal => core::seal_json(bytes),
        Call::Introspect => core::introspect_json(bytes),
        // Every byte string is something to scan, so an input outside memory must not read as
        // one with nothing in it.
        Call::Scan => match input {
            Some(bytes) => core::scan_json(bytes),
            None => br#"{"error":"bad_input","message":"the input lies outside memory"}"#.to_vec(),
        },
    }
}

// The crate's one `unsafe`: the raw ABI hands out and frees linear-memory buffers, reads the
// caller's input from a pointer and length, and exports unmangled symbols (`#[no_mangle]` counts).
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod exports {
    use std::alloc::{alloc, dealloc, Layout};

    use super::{dispatch, Call};

    const PAGE: usize = 65_536;

    /// Allocates `len` bytes for the caller to write input into; 0 when `len` is not positive or
    /// memory is exhausted.
    #[no_mangle]
    pub extern "C" fn sg_alloc(len: i32) -> i32 {
        let Ok(size) = usize::try_from(len) else {
            return 0;
        };
        match Layout::from_size_align(size, 1) {
            // SAFETY: the layout has a non-zero size.
            Ok(layout) if size > 0 => unsafe { alloc(layout) as i32 },
            _ => 0,
        }
    }

    /// Frees a buffer from `sg_alloc` or an answer; a null pointer or non-positive length is a no-op.
    ///
    /// # Safety
    /// `ptr` and `len` must name a live buffer this module handed out.
    #[no_mangle]
    pub unsafe extern "C" fn sg_free(ptr: i32, len: i32) {
        let Ok(size) = usize::try_from(len) else {
            return;
        };
        if ptr == 0 || size == 0 {
            return;
        }
        // SAFETY: the caller returns a buffer of this size allocated with alignment 1.
        unsafe {
            dealloc(
                ptr as u32 as usize as *mut u8,
                Layout::from_size_align_unchecked(size, 1),
            )
        }
    }

    #[no_mangle]
    pub extern "C" fn sg_abi_version() -> i32 {
        scopegate_core::ABI_VERSION as i32
    }

    #[no_mangle]
    pub extern "C" fn sg_authorize(ptr: i32, len: i32) -> i64 {
        answer(Call::Authorize, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_route(ptr: i32, len: i32) -> i64 {
        answer(Call::Route, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_check_issue(ptr: i32, len: i32) -> i64 {
        answer(Call::CheckIssue, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_minimal_token(ptr: i32, len: i32) -> i64 {
        answer(Call::MinimalToken, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_operations() -> i64 {
        pack(dispatch(Call::Operations, Some(b"null")))
    }

    #[no_mangle]
    pub extern "C" fn sg_check_header_names() -> i64 {
        pack(dispatch(Call::CheckHeaderNames, Some(b"null")))
    }

    #[no_mangle]
    pub extern "C" fn sg_check_request(ptr: i32, len: i32) -> i64 {
        answer(Call::CheckRequest, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_check_answer(ptr: i32, len: i32) -> i64 {
        answer(Call::CheckAnswer, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_seal(ptr: i32, len: i32) -> i64 {
        answer(Call::Seal, ptr, len)
    }

    #[no_mangle]
    pub extern "C" fn sg_introspect(ptr: i32, len: i32) -> i64 {
        answer(Call::Introspect, ptr, len)
    }

    /// The bytes themselves are the input, not JSON: what a scanner reads is files.
    #[no_mangle]
    pub extern "C" fn sg_scan(ptr: i32, len: i32) -> i64 {
        answer(Call::Scan, ptr, len)
    }

    fn answer(call: Call, ptr: i32, len: i32) -> i64 {
        pack(dispatch(call, input(ptr, len)))
    }

    /// The caller's buffer, if it lies wholly inside linear memory.
    fn input<'a>(ptr: i32, len: i32) -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        if len == 0 {
            return Some(&[]);
        }
        let start = ptr as u32 as usize;
        let end = start.checked_add(len)?;
        let memory_end = core::arch::wasm32::memory_size(0).checked_mul(PAGE)?;
        if start == 0 || end > memory_end {
            return None;
        }
        // SAFETY: the range is non-null and inside linear memory; the caller owns its contents.
        Some(unsafe { std::slice::from_raw_parts(start as *const u8, len) })
    }

    fn pack(bytes: Vec<u8>) -> i64 {
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len() as u64;
        let ptr = Box::into_raw(boxed) as *mut u8 as usize as u64;
        ((ptr << 32) | len) as i64
    }
}
