use super::*;
use crate::rng::Rng;

fn matcher(p: &str) -> regex::Regex {
    regex::Regex::new(p).unwrap()
}

fn compiled(p: &str) -> Pattern {
    Pattern::compile(p).unwrap().unwrap()
}

fn gen(c: &Pattern, seed: u64, lo: u64, hi: u64, room: u64) -> String {
    c.generate(&mut Rng::new(seed), lo, hi, room, &mut { MAX_WORK })
}

const PATTERNS: [&str; 14] = [
    r"^[A-Z]{3}-\d{4}$",
    r"^\+?[1-9]\d{1,14}$",
    r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$",
    r"^(red|green|blue)$",
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$",
    r"^(?i)hello\s+world$",
    r"^[^\s]{5,10}$",
    r"^(ab)+c?$",
    r"^#[0-9a-fA-F]{6}$",
    r"v\d+\.\d+",
    r"^\w+(\s\w+)*$",
    r#"^["\\]{2}[\x00-\x1f]$"#,
    r"^(?:[a-z]+/)*[a-z]+\.(?:json|yaml)$",
    r"^[\p{Greek}]{3}$",
];

#[test]
fn generated_strings_match() {
    for p in PATTERNS {
        let (re, c) = (matcher(p), compiled(p));
        for seed in 0..300 {
            let s = gen(&c, seed, 0, u64::MAX, MAX_OUTPUT_BYTES);
            assert!(re.is_match(&s), "{p}: {s:?}");
        }
    }
}

#[test]
fn lengths_are_honoured_when_the_pattern_allows() {
    let cases: [(&str, u64, u64); 5] = [
        (r"^[a-z]+$", 40, 50),
        (r"^\w+@\w+\.com$", 20, 20),
        (r"^(ab)+$", 7, 9),
        (r"^[A-Z]{2}\d*$", 0, 3),
        (r"^[a-z]{3,}(-[a-z]+)*$", 100, u64::MAX),
    ];
    for (p, lo, hi) in cases {
        let (re, c) = (matcher(p), compiled(p));
        for seed in 0..300 {
            let s = gen(&c, seed, lo, hi, MAX_OUTPUT_BYTES);
            let n = s.chars().count() as u64;
            assert!(re.is_match(&s) && (lo..=hi).contains(&n), "{p} {lo}..={hi}: {s:?}");
        }
    }
    // Lengths only some splits reach: aimed at often enough, and always a match.
    let (re, c) = (matcher(r"^(x|yyyyy)+$"), compiled(r"^(x|yyyyy)+$"));
    let mut hits = 0;
    for seed in 0..300 {
        let s = gen(&c, seed, 12, 12, MAX_OUTPUT_BYTES);
        assert!(re.is_match(&s), "{s:?}");
        hits += usize::from(s.len() == 12);
    }
    assert!(hits > 200, "{hits}");
    // No match has 5..=6 characters: the pattern wins, with its shortest match.
    let c = compiled(r"^[A-Z]{3}-\d{4}$");
    let s = gen(&c, 1, 5, 6, MAX_OUTPUT_BYTES);
    assert!(matcher(r"^[A-Z]{3}-\d{4}$").is_match(&s));
}

#[test]
fn room_bounds_the_string() {
    for p in [r"^[a-z]+(,[a-z]+)*$", r#"^["a]{10,}$"#, r"^.{3,}$"] {
        let (re, c) = (matcher(p), compiled(p));
        for seed in 0..200 {
            let need = c.need(0, u64::MAX);
            let s = gen(&c, seed, 0, u64::MAX, need);
            let bytes = serde_json::Value::from(s.clone()).to_string().len() as u64;
            assert!(re.is_match(&s) && bytes <= need, "{p}: {s:?} {bytes} > {need}");
        }
    }
}

#[test]
fn bad_and_unsupported_patterns() {
    assert!(Pattern::compile("[a-").err().unwrap().contains("invalid regular expression"));
    assert!(Pattern::compile("(").is_err());
    assert!(Pattern::compile(r"^(?=a)b").unwrap().is_none());
    assert!(Pattern::compile(r"(a)\1").unwrap().is_none());
    assert!(Pattern::compile(r"[^\s\S]").err().unwrap().contains("no string"));
    assert!(Pattern::compile(&"a".repeat(MAX_PATTERN_LEN + 1)).is_err());
    assert!(Pattern::compile(&r"\w".repeat(200)).err().unwrap().contains("classes"));
    assert!(Pattern::compile(&format!("{}a{}", "(".repeat(200), ")".repeat(200))).is_err());
    assert!(Pattern::compile(r"^(a{1000}){1100}$").err().unwrap().contains("limit"));
    assert!(Pattern::compile(r"((a(x?)(x?)(x?)(x?)(x?)(x?)(x?)(x?)){1000}){1000}")
        .err()
        .unwrap()
        .contains("repeats"));
    // Deep optional nesting forces nothing: its shortest match (empty) costs nothing.
    assert!(Pattern::compile(r"((((a?){1000}){1000}){1000})").unwrap().is_some());
    // Big but within the limits: generated quickly, exactly.
    let c = compiled(r"^(a{1000}){1000}$");
    assert_eq!(gen(&c, 1, 0, u64::MAX, MAX_OUTPUT_BYTES).len(), 1_000_000);
    let c = compiled(r"^(((a|b)+)+)+$");
    let s = gen(&c, 1, 0, u64::MAX, MAX_OUTPUT_BYTES);
    assert!(matcher(r"^(((a|b)+)+)+$").is_match(&s));
}
