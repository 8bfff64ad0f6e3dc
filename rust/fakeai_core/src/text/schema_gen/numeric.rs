//! Numbers and integers within `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum` and
//! `multipleOf`: [`check_integer`]/[`check_number`] reject a schema that no value satisfies, and
//! [`integer`]/[`number`] draw one uniformly.
//!
//! A missing bound sits 100 (integers) or 1000 (numbers) from the other, or the range is 0..=100
//! (0..=1000); values are drawn within +-[`NUMBER_RANGE`], and a schema whose bounds lie wholly
//! beyond it is rejected. An integer's `multipleOf` may be fractional (`2.5`: multiples of 5). A
//! number that is a multiple is `k * multipleOf` for an integer `k` drawn within the range, written
//! with the decimals of `multipleOf`, and drawn again (a few times) until it passes what validators
//! check ([`is_multiple`]: `value / multipleOf` an exact integer in floating point, and the
//! remainder `value % multipleOf` zero but for rounding, as pydantic checks). `k` stays within
//! [`reach`]: where `k * multipleOf` is exact (any `k` up to 2^52 for `0.5`, whose mantissa is
//! short), or else within 2^20, where its rounding error stays below what pydantic tolerates (so
//! `multipleOf: 0.1` on 0..1e15 draws from 0..1e5). A range that holds no such multiple
//! (`multipleOf: 1e-300` with `minimum: 1`: no validator working in floating point could confirm
//! one) is rejected. An exclusive bound is honoured to the nearest double: `exclusiveMinimum: 0`,
//! `exclusiveMaximum: 5e-324` holds no number and is rejected. Numbers in messages are written in
//! their shortest round-trip form ([`num`]).

use super::pattern::MANY;
use super::view::View;
use crate::rng::Rng;
use serde_json::{Number, Value};

/// Numbers are drawn within +-this bound (JSON Schema bounds beyond it are clamped).
pub(super) const NUMBER_RANGE: f64 = 1e15;
/// Most multiples of `multipleOf` a number is away from 0 (2^52: `k * m / m` stays exact).
pub(super) const MAX_MULTIPLE: f64 = 4_503_599_627_370_496.0;
/// Multiples of `multipleOf` a number may be away from 0 when `k * m` is not exact (2^20).
const ROUNDED_MULTIPLE: f64 = 1_048_576.0;

/// How many multiples of `m` away from 0 a number is drawn: as far as `k * m` is exact (the odd
/// part of `m`'s mantissa times `k` fits in 53 bits), at least [`ROUNDED_MULTIPLE`], at most
/// [`MAX_MULTIPLE`].
fn reach(m: f64) -> f64 {
    let bits = m.to_bits();
    let exponent = (bits >> 52) & 0x7ff;
    let mut mantissa = bits & ((1 << 52) - 1);
    if exponent != 0 {
        mantissa |= 1 << 52;
    }
    let odd = (mantissa >> mantissa.trailing_zeros().min(63)).max(1);
    ((1u64 << 53) / odd).max(1) as f64
}

/// Whether validators take `x` as a multiple of `m`: `x / m` is an integer in floating point
/// (`jsonschema`), and `x % m` is 0 or `m` but for a rounding of `m * 1e-10` (pydantic).
pub(super) fn is_multiple(x: f64, m: f64) -> bool {
    let q = x / m;
    let r = (x % m).abs();
    q.is_finite() && q.fract() == 0.0 && r.min((m - r).abs()) <= m * 1e-10
}

/// `x` in its shortest round-trip form (`1e-320`, `0.5`), for messages.
pub(super) fn num(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        return format!("{}", x as i64);
    }
    ryu::Buffer::new().format(x).to_owned()
}

/// Why no value fits: the keyword to blame (`""` for the schema itself) and the message.
pub(super) type Unsatisfiable = (&'static str, String);

/// How a schema's keywords are read (a plain object, or a `View` with `allOf` merged).
pub(super) trait Keywords {
    fn keyword(&self, key: &str) -> Option<&Value>;
    fn float(&self, key: &str) -> Option<f64> {
        self.keyword(key).and_then(Value::as_f64)
    }
}

impl Keywords for View<'_> {
    fn keyword(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

impl Keywords for serde_json::Map<String, Value> {
    fn keyword(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// The range a number is drawn from: `(low, high, low_exclusive, high_exclusive)`.
type Range = (f64, f64, bool, bool);

fn limits(k: &impl Keywords, width: f64) -> Result<Range, Unsatisfiable> {
    let lo = [k.float("minimum"), k.float("exclusiveMinimum")].into_iter().flatten().reduce(f64::max);
    let hi = [k.float("maximum"), k.float("exclusiveMaximum")].into_iter().flatten().reduce(f64::min);
    let lo_x = lo.is_some() && lo == k.float("exclusiveMinimum");
    let hi_x = hi.is_some() && hi == k.float("exclusiveMaximum");
    let out_of_range = |key: &'static str| {
        Err((
            key,
            format!("bounds beyond +-{NUMBER_RANGE:e} are not supported (fakeai draws numbers within them)"),
        ))
    };
    if lo.is_some_and(|l| l > NUMBER_RANGE) {
        return out_of_range(if lo_x { "exclusiveMinimum" } else { "minimum" });
    }
    if hi.is_some_and(|h| h < -NUMBER_RANGE) {
        return out_of_range(if hi_x { "exclusiveMaximum" } else { "maximum" });
    }
    let (lo, hi) = match (lo, hi) {
        (Some(l), Some(h)) => (l, h),
        (Some(l), None) => (l, l + width),
        (None, Some(h)) => (if h > 0.0 { 0.0 } else { h - width }, h),
        (None, None) => (0.0, width),
    };
    let clamp = |x: f64| x.clamp(-NUMBER_RANGE, NUMBER_RANGE);
    Ok((clamp(lo), clamp(hi), lo_x, hi_x))
}

/// The step of integers that are multiples of `m`: `m` itself when whole, else the least whole
/// multiple of it (2.5 -> 5; 0.1 -> 1), if there is one up to 1000.
fn integer_step(m: f64) -> Option<f64> {
    if m.fract() == 0.0 {
        return Some(m);
    }
    (1..=1000).map(f64::from).find(|s| {
        let q = s / m;
        q.is_finite() && (q - q.round()).abs() <= q.abs() * 1e-12
    })
}

/// Integers allowed: `(first, count - 1, step)`, the values `first + i * step`.
fn integer_plan(k: &impl Keywords) -> Result<(f64, u64, f64), Unsatisfiable> {
    let (lo, hi, lo_x, hi_x) = limits(k, 100.0)?;
    let lo = if lo_x { lo.floor() + 1.0 } else { lo.ceil() };
    let hi = if hi_x { hi.ceil() - 1.0 } else { hi.floor() };
    let Some(m) = k.float("multipleOf").filter(|m| *m > 0.0) else {
        if hi < lo {
            return Err(("", "no integer lies within minimum and maximum".to_owned()));
        }
        return Ok((lo, (hi - lo) as u64, 1.0));
    };
    let no_multiple =
        || ("multipleOf", format!("no integer multiple of {} lies within minimum and maximum", num(m)));
    let step = integer_step(m).ok_or_else(no_multiple)?;
    let (first, last) = ((lo / step).ceil(), (hi / step).floor());
    if first > last {
        return Err(no_multiple());
    }
    Ok((first * step, (last - first) as u64, step))
}

/// How numbers are drawn: multiples `first..=last` of `m`, or a continuous range.
enum NumberPlan {
    Multiples { m: f64, first: f64, last: f64 },
    Range,
}

fn number_plan(k: &impl Keywords) -> Result<(Range, NumberPlan), Unsatisfiable> {
    let (lo, hi, lo_x, hi_x) = limits(k, 1000.0)?;
    // The least and most doubles inside: an exclusive bound excludes itself, nothing more.
    let (least, most) = (if lo_x { lo.next_up() } else { lo }, if hi_x { hi.next_down() } else { hi });
    if least > most {
        return Err(("", "no number lies within minimum and maximum".to_owned()));
    }
    let range = (lo, hi, lo_x, hi_x);
    let Some(m) = k.float("multipleOf").filter(|m| *m > 0.0) else { return Ok((range, NumberPlan::Range)) };
    // Multiples k * m with |k| within `reach`: beyond it validators cannot confirm them.
    let steps = reach(m).clamp(ROUNDED_MULTIPLE, MAX_MULTIPLE);
    let reach = steps * m;
    let (first, last) = ((least.max(-reach) / m).ceil(), (most.min(reach) / m).floor());
    let (first, last) = (first.max(-steps), last.min(steps));
    let inside = |x: f64| x >= least && x <= most;
    let (mut first, mut last) = (first, last);
    // Rounding may leave the first or last multiple just outside: step in.
    for _ in 0..2 {
        if first <= last && !inside(first * m) {
            first += 1.0;
        }
        if first <= last && !inside(last * m) {
            last -= 1.0;
        }
    }
    if first.is_nan() || last.is_nan() || first > last {
        let why = if least.abs().min(most.abs()) > reach {
            format!(
                "multipleOf {} is too small for minimum and maximum: their multiples are over {} steps from 0, where validators can no longer confirm one",
                num(m),
                num(steps)
            )
        } else {
            format!("no multiple of {} lies within minimum and maximum", num(m))
        };
        return Err(("multipleOf", why));
    }
    Ok((range, NumberPlan::Multiples { m, first, last }))
}

/// Reject an `integer` schema no value satisfies.
pub(super) fn check_integer(k: &impl Keywords) -> Result<(), Unsatisfiable> {
    integer_plan(k).map(|_| ())
}

/// Reject a `number` schema no value satisfies.
pub(super) fn check_number(k: &impl Keywords) -> Result<(), Unsatisfiable> {
    number_plan(k).map(|_| ())
}

/// At most how many integers are allowed (up to [`MANY`]; 0 when none is).
pub(super) fn integer_count(k: &impl Keywords) -> u64 {
    integer_plan(k).map_or(0, |(_, span, _)| span.saturating_add(1).min(MANY))
}

/// At most how many numbers are allowed: the multiples of `multipleOf`, one for a range of one
/// value, else [`MANY`].
pub(super) fn number_count(k: &impl Keywords) -> u64 {
    match number_plan(k) {
        Err(_) => 0,
        Ok((_, NumberPlan::Multiples { first, last, .. })) => {
            ((last - first) as u64).saturating_add(1).min(MANY)
        }
        Ok(((lo, hi, lo_x, hi_x), NumberPlan::Range)) => {
            let (least, most) =
                (if lo_x { lo.next_up() } else { lo }, if hi_x { hi.next_down() } else { hi });
            if least == most {
                1
            } else {
                MANY
            }
        }
    }
}

/// An integer drawn uniformly among those allowed (0 when none is: [`check_integer`] rejects that).
pub(super) fn integer(k: &impl Keywords, rng: &mut Rng) -> Value {
    match integer_plan(k) {
        Ok((first, span, step)) => Value::from((first + rng.range(0, span) as f64 * step) as i64),
        Err(_) => Value::from(0),
    }
}

/// The decimals `m` is written with, when it has at most 15 (0.25 -> 2), and `m` scaled by them.
fn decimals(m: f64) -> Option<(i32, f64)> {
    (0..=15).find_map(|d| {
        let scaled = m * 10f64.powi(d);
        ((scaled - scaled.round()).abs() <= scaled * 1e-9).then_some((d, scaled.round()))
    })
}

/// A number drawn uniformly among those allowed; `exact`: not rounded to two decimals (a value drawn
/// again because it repeated one, for `uniqueItems`).
pub(super) fn number(k: &impl Keywords, rng: &mut Rng, exact: bool) -> Value {
    let Ok(((lo, hi, lo_x, hi_x), plan)) = number_plan(k) else { return Value::from(0.0) };
    let inside = |x: f64| x >= lo && x <= hi && !(lo_x && x <= lo) && !(hi_x && x >= hi);
    let x =
        match plan {
            NumberPlan::Multiples { m, first, last } => {
                let span = (last - first) as u64;
                let written = decimals(m);
                let at = |i: f64| match written {
                    // Integer arithmetic, then one division: 3 * 0.1 is 0.3, not 0.30000000000000004.
                    Some((d, scaled)) if (i * scaled).abs() < 9e15 => i * scaled / 10f64.powi(d),
                    _ => i * m,
                };
                let good = |x: f64| inside(x) && is_multiple(x, m);
                let drawn = (0..32).map(|_| at(first + rng.range(0, span) as f64)).find(|x| good(*x));
                // Past the draws: the ends of the range, 0, or at least a value inside.
                drawn
                    .or_else(|| [first, last, 0.0].into_iter().map(at).find(|x| good(*x)))
                    .unwrap_or_else(|| if inside(at(first)) { at(first) } else { lo })
            }
            NumberPlan::Range => {
                let raw = lo + (hi - lo) * rng.unit();
                // Two decimals when that stays inside (not for `exact`: a value drawn again to differ).
                let x = (raw * 100.0).round() / 100.0;
                let least = if lo_x { lo.next_up() } else { lo };
                let candidates =
                    if exact { [raw, raw, lo + (hi - lo) / 2.0] } else { [x, raw, lo + (hi - lo) / 2.0] };
                candidates.into_iter().find(|x| inside(*x)).unwrap_or(least)
            }
        };
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// What pydantic-core checks for `multiple_of` on floats, and what `jsonschema` checks.
    fn multiple(x: f64, m: f64) -> bool {
        let rem = (x % m).abs();
        let threshold = x.abs() / 1e9;
        let tolerant = rem <= threshold || (rem - m).abs() <= threshold;
        tolerant && (x / m).fract() == 0.0 && is_multiple(x, m)
    }

    #[test]
    fn numbers_honour_bounds_and_steps() {
        let cases = [
            json!({"minimum": 1, "maximum": 5}),
            json!({"exclusiveMinimum": 0, "exclusiveMaximum": 1}),
            json!({"minimum": 0, "maximum": 1, "multipleOf": 0.1}),
            json!({"exclusiveMinimum": 0, "maximum": 10, "multipleOf": 0.25}),
            json!({"minimum": -3.5, "exclusiveMaximum": 2, "multipleOf": 0.5}),
            json!({"exclusiveMinimum": 0.001, "exclusiveMaximum": 0.002}),
            json!({"minimum": 0.01, "maximum": 0.05, "multipleOf": 0.01}),
            json!({"multipleOf": 1.5}),
            json!({"exclusiveMaximum": 0, "multipleOf": 7}),
        ];
        for case in cases {
            let k = map(case.clone());
            let get = |key: &str| case.get(key).and_then(Value::as_f64);
            let mut seen = std::collections::HashSet::new();
            for seed in 0..300 {
                let x = number(&k, &mut Rng::new(seed), false).as_f64().unwrap();
                seen.insert(x.to_bits());
                assert!(get("minimum").is_none_or(|b| x >= b), "{case} {x}");
                assert!(get("maximum").is_none_or(|b| x <= b), "{case} {x}");
                assert!(get("exclusiveMinimum").is_none_or(|b| x > b), "{case} {x}");
                assert!(get("exclusiveMaximum").is_none_or(|b| x < b), "{case} {x}");
                assert!(get("multipleOf").is_none_or(|m| multiple(x, m)), "{case} {x}");
            }
            assert!(seen.len() > 3, "{case}: drawn, not fixed");
        }
    }

    #[test]
    fn integers_honour_bounds_and_steps() {
        let cases = [
            (json!({"minimum": 1, "maximum": 5}), vec![1, 2, 3, 4, 5]),
            (json!({"exclusiveMinimum": 1, "exclusiveMaximum": 5}), vec![2, 3, 4]),
            (json!({"minimum": 0.5, "maximum": 3.5}), vec![1, 2, 3]),
            (json!({"minimum": -12, "maximum": 12, "multipleOf": 5}), vec![-10, -5, 0, 5, 10]),
            (json!({"exclusiveMinimum": 0, "maximum": 20, "multipleOf": 2.5}), vec![5, 10, 15, 20]),
            (json!({"minimum": 7, "maximum": 9, "multipleOf": 0.5}), vec![7, 8, 9]),
        ];
        for (case, allowed) in cases {
            let k = map(case.clone());
            let mut seen = std::collections::HashSet::new();
            for seed in 0..300 {
                let x = integer(&k, &mut Rng::new(seed)).as_i64().unwrap();
                assert!(allowed.contains(&x), "{case} {x}");
                seen.insert(x);
            }
            assert_eq!(seen.len(), allowed.len(), "{case}: uniform over all of them");
        }
    }

    #[test]
    fn empty_ranges_are_rejected_naming_the_keyword() {
        let int = |v: Value| check_integer(&map(v)).map_err(|e| e.0);
        let num = |v: Value| check_number(&map(v)).map_err(|e| e.0);
        assert_eq!(int(json!({"exclusiveMinimum": 1, "exclusiveMaximum": 2})), Err(""));
        assert_eq!(int(json!({"minimum": 1.2, "maximum": 1.8})), Err(""));
        assert_eq!(int(json!({"minimum": 1, "maximum": 4, "multipleOf": 5})), Err("multipleOf"));
        assert_eq!(int(json!({"minimum": 1, "maximum": 4, "multipleOf": 0.3})), Ok(()));
        assert_eq!(num(json!({"exclusiveMinimum": 1, "maximum": 1})), Err(""));
        assert_eq!(num(json!({"minimum": 0.1, "maximum": 0.9, "multipleOf": 1})), Err("multipleOf"));
        assert_eq!(
            num(json!({"exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 1})),
            Err("multipleOf")
        );
        assert_eq!(num(json!({"minimum": 1e16})), Err("minimum"));
        assert_eq!(int(json!({"exclusiveMaximum": -1e20})), Err("exclusiveMaximum"));
        assert_eq!(num(json!({"minimum": -1e300, "maximum": 1e300, "multipleOf": 1e-300})), Ok(()));
    }

    #[test]
    fn multiples_are_exact_however_many_the_range_holds() {
        let cases = [
            json!({"minimum": 0, "maximum": 1e15, "multipleOf": 0.5}),
            json!({"minimum": -1e15, "maximum": 1e15, "multipleOf": 0.7}),
            json!({"minimum": 0, "maximum": 1e15, "multipleOf": 0.1}),
            json!({"minimum": -1e300, "maximum": 1e300, "multipleOf": 1e-300}),
            json!({"multipleOf": 1e-320}),
            json!({"exclusiveMinimum": 0, "multipleOf": 3e-5}),
        ];
        for case in cases {
            let k = map(case.clone());
            let m = case["multipleOf"].as_f64().unwrap();
            check_number(&k).unwrap();
            let mut seen = std::collections::HashSet::new();
            for seed in 0..300 {
                let x = number(&k, &mut Rng::new(seed), false).as_f64().unwrap();
                assert!(multiple(x, m), "{case} {x}");
                assert!(case.get("minimum").and_then(Value::as_f64).is_none_or(|b| x >= b), "{case} {x}");
                assert!(case.get("maximum").and_then(Value::as_f64).is_none_or(|b| x <= b), "{case} {x}");
                assert!(case.get("exclusiveMinimum").is_none() || x > 0.0, "{case} {x}");
                seen.insert(x.to_bits());
            }
            assert!(seen.len() > 100, "{case}: drawn, not fixed ({})", seen.len());
        }
        // Where `k * m` is exact, the whole range: 0.5 on 0..1e15 reaches past 5e14.
        let k = map(json!({"minimum": 0, "maximum": 1e15, "multipleOf": 0.5}));
        assert!((0..100).any(|s| number(&k, &mut Rng::new(s), false).as_f64().unwrap() > 5e14));
        // No multiple a validator can confirm (every quotient overflows): refused, compactly said.
        let e = check_number(&map(json!({"minimum": 1, "maximum": 2, "multipleOf": 1e-320}))).unwrap_err();
        assert_eq!(e.0, "multipleOf");
        assert!(e.1.contains("1e-320") && e.1.len() < 250, "{}", e.1);
        let e = check_integer(&map(json!({"multipleOf": 1e-320}))).unwrap_err();
        assert!(e.1.contains("1e-320") && !e.1.contains("0000"), "{}", e.1);
    }

    #[test]
    fn exclusive_bounds_hold_to_the_nearest_double() {
        assert!(check_number(&map(json!({"exclusiveMinimum": 0, "exclusiveMaximum": 5e-324}))).is_err());
        let k = map(json!({"exclusiveMinimum": 0, "exclusiveMaximum": 1e-323}));
        check_number(&k).unwrap();
        assert_eq!(number(&k, &mut Rng::new(1), false).as_f64(), Some(5e-324));
        assert_eq!(num(1e-320), "1e-320");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(5.0), "5");
    }
}
