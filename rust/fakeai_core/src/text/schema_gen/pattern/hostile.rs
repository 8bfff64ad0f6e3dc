use super::*;
use crate::rng::Rng;

fn refused(p: &str) -> String {
    Pattern::compile(p).err().unwrap_or_else(|| panic!("{p} accepted"))
}

#[test]
fn anchors_that_cannot_hold_are_refused_and_edge_ones_honoured() {
    for p in ["a^b", "^x$y", r"^a\z b"] {
        assert!(refused(p).contains("no string matches"), "{p}: {}", refused(p));
    }
    assert!(refused(r"^\w\b\w$").contains("word boundaries"));
    assert!(refused(r"^a\Ba$").contains("word boundaries"));
    assert!(refused("a?^b").contains("only at the start or end"));
    assert!(refused("(^a)+").contains("only at the start or end"));
    for p in [r"^a$|^b$", r"(?m)^a$\n^b$", "(^a)?b", r"\Aab\z", "^(?:x|y)$", "(^)*a"] {
        let (re, c) = (regex::Regex::new(p).unwrap(), Pattern::compile(p).unwrap().unwrap());
        for seed in 0..50 {
            let s = c.generate(&mut Rng::new(seed), 0, u64::MAX, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
            assert!(re.is_match(&s), "{p}: {s:?}");
        }
    }
}

#[test]
fn lengths_no_match_can_have_are_conflicts() {
    let conflict =
        |p: &str, lo, hi| Pattern::compile(p).unwrap().unwrap().lengths_conflict(lo, hi).map(|c| c.0);
    let h1 = "^((((aa)?){1000}){1000}){4}$";
    assert_eq!(conflict(h1, 5, 5), Some("minLength"));
    assert_eq!(conflict(h1, 6, 6), None);
    assert_eq!(conflict("^(ab)+$", 5, 5), Some("minLength"));
    assert_eq!(conflict("^[A-Z]{3}$", 10, u64::MAX), Some("minLength"));
    assert_eq!(conflict("a", 0, 0), Some("maxLength"));
    assert_eq!(conflict("^x(a{100})*$", 2, u64::MAX), None);
    assert_eq!(conflict("^x(a{100})*$", 2, 100), Some("minLength"));
    // Past what the exact search affords, the lengths' step still tells odd from even.
    assert_eq!(conflict(h1, 99_999, 99_999), Some("minLength"));
    assert_eq!(conflict(h1, 99_998, 99_998), None);
    assert_eq!(conflict(r"^(ab|abcd)+$", 0, 1), Some("maxLength"));
    // Only even lengths, aimed at exactly, fast.
    let c = Pattern::compile(h1).unwrap().unwrap();
    let started = std::time::Instant::now();
    for seed in 0..200 {
        let s = c.generate(&mut Rng::new(seed), 6, 6, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
        assert_eq!(s, "aaaaaa");
    }
    let s = c.generate(&mut Rng::new(1), 99_998, 99_998, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
    assert_eq!(s.len(), 99_998);
    let c = Pattern::compile("^x(a{100})*$").unwrap().unwrap();
    for seed in 0..50 {
        let s = c.generate(&mut Rng::new(seed), 2, 150, MAX_OUTPUT_BYTES, &mut { MAX_WORK });
        assert_eq!(s.len(), 101);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

#[test]
fn walks_stop_when_the_work_runs_out() {
    // `((a|b){0,1000}){1000}` aimed at 5000 characters: a walk far over a budget of 100 steps.
    let c = Pattern::compile("^((a|b){0,1000}){1000}$").unwrap().unwrap();
    let mut work = 100;
    let s = c.generate(&mut Rng::new(1), 5000, 5000, MAX_OUTPUT_BYTES, &mut work);
    assert_eq!((s.as_str(), work), ("", 0), "the shortest match, without work");
    // The shortest match is made once and costs no work: `(a{1000}){1000}` with none left.
    let c = Pattern::compile("^(a{1000}){1000}$").unwrap().unwrap();
    assert_eq!(c.generate(&mut Rng::new(1), 0, u64::MAX, MAX_OUTPUT_BYTES, &mut 0).len(), 1_000_000);
    // Deep optional nesting: the empty match is found without walking it.
    let c = Pattern::compile("^((((a?){1000}){1000}){1000})$").unwrap().unwrap();
    assert_eq!(c.generate(&mut Rng::new(1), 0, 0, MAX_OUTPUT_BYTES, &mut 10), "");
}

#[test]
fn distinct_matches_are_counted() {
    let count = |p: &str| Pattern::compile(p).unwrap().unwrap().count();
    assert_eq!(count("^[ab]$"), 2);
    assert_eq!(count("^a$"), 1);
    assert_eq!(count("^[a-z]{3}$"), 17_576);
    assert_eq!(count("^(x|y)?z{1,2}$"), 6);
    assert_eq!(count("^a+$"), MANY);
    assert_eq!(count(r"^\w{20}$"), MANY);
}

#[test]
fn a_schema_s_patterns_share_one_budget_and_compile_once() {
    let unit = r"(?i)[^\p{L}\p{N}]";
    let started = std::time::Instant::now();
    // The same pattern a thousand times: compiled once.
    let mut budget = PatternBudget::default();
    let p = unit.repeat(80);
    for _ in 0..1000 {
        assert!(budget.admit(&p).unwrap().is_some());
    }
    // A thousand different ones: refused after the first few.
    let mut budget = PatternBudget::default();
    let why = (0..1000).find_map(|i| budget.admit(&format!("{i}{p}")).err()).unwrap();
    assert!(why.contains("ranges together"), "{why}");
    let mut budget = PatternBudget::default();
    let why = (0..1000).find_map(|i| budget.admit(&format!("{i}{}", "a".repeat(4000))).err()).unwrap();
    assert!(why.contains("bytes together"), "{why}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}
