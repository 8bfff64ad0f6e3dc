//! The budget of one request: every value generated for it (all choices, all tool calls) shares
//! [`MAX_REQUEST_BYTES`] of JSON and [`MAX_REQUEST_WORK`] steps of pattern walking.
//!
//! [`within_request`] opens the budget around the generation of a request's values and says how
//! many values it may generate; each [`generate`] then takes its share of the bytes left (at most
//! [`MAX_OUTPUT_BYTES`], at least what the schema forces while the request has it), and draws on
//! the work left, which only optional work spends (a `pattern`'s natural walk, aiming at
//! `minLength`/`maxLength`, redrawing an item for `uniqueItems`): a forced minimum costs no work
//! (a pattern's shortest match is computed once and reused). Outside [`within_request`] each
//! value has a budget of its own. [`request_check`] refuses, before anything is generated, a
//! request whose values' forced minimums together are over [`MAX_REQUEST_BYTES`].
//!
//! [`generate`]: super::generate
//! [`MAX_OUTPUT_BYTES`]: super::MAX_OUTPUT_BYTES

use super::size::Sizer;
use super::validate::SchemaError;
use super::{MAX_OUTPUT_BYTES, MAX_REQUEST_BYTES, MAX_REQUEST_WORK};
use serde_json::Value;
use std::cell::Cell;

#[derive(Clone, Copy)]
struct Budget {
    bytes: u64,
    values: u64,
    work: u64,
}

thread_local! {
    static REQUEST: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// Run `f`, which generates at most `values` values (choices times calls), within one request's
/// budget. Nested calls keep the outer budget.
pub fn within_request<R>(values: u64, f: impl FnOnce() -> R) -> R {
    if REQUEST.with(Cell::get).is_some() {
        return f();
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            REQUEST.with(|r| r.set(None));
        }
    }
    let budget = Budget { bytes: MAX_REQUEST_BYTES, values: values.max(1), work: MAX_REQUEST_WORK };
    REQUEST.with(|r| r.set(Some(budget)));
    let _reset = Reset;
    f()
}

/// The room (bytes) and work one value may use: its share of the request, or a value's own
/// budget outside a request. `need`: the bytes the schema forces (granted while the request has them).
pub(super) fn take(need: u64) -> (u64, u64) {
    match REQUEST.with(Cell::get) {
        None => (MAX_OUTPUT_BYTES, MAX_REQUEST_WORK),
        Some(b) => {
            let share = (b.bytes / b.values).min(MAX_OUTPUT_BYTES);
            (share.max(need.min(b.bytes)), b.work)
        }
    }
}

/// Book what one value used.
pub(super) fn spend(bytes: u64, work_left: u64) {
    REQUEST.with(|r| {
        if let Some(mut b) = r.get() {
            b.bytes = b.bytes.saturating_sub(bytes);
            b.values = b.values.saturating_sub(1).max(1);
            b.work = work_left.min(b.work);
            r.set(Some(b));
        }
    });
}

/// Refuse a request of `values` values of `schemas` (each generated `values` times at most) whose
/// forced minimums together are over [`MAX_REQUEST_BYTES`]; `param` names the count (`n`).
pub fn request_check(schemas: &[&Value], values: u64, param: &str) -> Result<(), SchemaError> {
    let most = schemas.iter().map(|s| Sizer::new(s).need(s, 0)).max().unwrap_or(0);
    if most.saturating_mul(values) > MAX_REQUEST_BYTES {
        return Err(SchemaError {
            at: param.to_owned(),
            message: format!(
                "the smallest value the schema allows ({most} bytes of JSON) times {values} values (choices times tool calls) is over fakeai's limit of {MAX_REQUEST_BYTES} bytes per request; lower {param}"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::text::schema_gen::generate;
    use crate::text::schema_gen::tests::size;
    use serde_json::json;

    #[test]
    fn a_request_s_values_share_its_bytes_and_work() {
        // 384 values (128 choices x 3 calls) of a string that may be up to 1 MiB each.
        let s = json!({"type": "array", "items": {"type": "string", "pattern": "^(a{1000}){0,1000}$"}, "maxItems": 3});
        let total: usize =
            within_request(384, || (0..384).map(|i| size(&generate(&s, &mut Rng::new(i)))).sum());
        assert!(total as u64 <= MAX_REQUEST_BYTES, "{total}");
        // Forced to 1 MB each: refused for the count before anything is generated.
        let big = json!({"type": "string", "pattern": "^(a{1000}){1000}$"});
        let e = request_check(&[&big], 384, "n").unwrap_err();
        assert_eq!(e.at, "n");
        assert!(request_check(&[&big], 16, "n").is_ok());
        // Past the bytes left, a value is `null` instead of over the budget.
        let made =
            within_request(384, || (0..20).filter(|i| generate(&big, &mut Rng::new(*i)).is_string()).count());
        assert_eq!(made, 16, "16 MiB holds 16 strings of 1 MB");
        // The work of a whole request is bounded: aiming far, 20 times, 128 times.
        let hard = json!({"type": "array", "minItems": 20, "maxItems": 20, "items": {"type": "string",
                          "pattern": "^((a|b){0,1000}){1000}$", "minLength": 5000, "maxLength": 5000}});
        let started = std::time::Instant::now();
        within_request(128, || {
            for i in 0..128 {
                generate(&hard, &mut Rng::new(i));
            }
        });
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
    }
}
