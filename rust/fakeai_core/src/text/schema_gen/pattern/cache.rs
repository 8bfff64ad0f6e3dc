//! Compiled patterns cached per thread, and the budget a schema's distinct patterns share.

use super::{
    Pattern, PatternError, CACHE_PATTERNS, CACHE_RANGES, MAX_SCHEMA_CLASS_RANGES, MAX_SCHEMA_PATTERNS,
    MAX_SCHEMA_PATTERN_BYTES, MAX_SCHEMA_PATTERN_WORK,
};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

thread_local! {
    /// Compiled patterns by their text (dropped all at once past [`CACHE_PATTERNS`] of them or
    /// [`CACHE_RANGES`] class ranges).
    static CACHE: RefCell<(HashMap<String, Compiled>, usize)> = RefCell::new((HashMap::new(), 0));
}

/// A compiled pattern, `None` when it is not interpreted (see [`Pattern::compile`]).
pub(in crate::text::schema_gen) type Compiled = Result<Option<Rc<Pattern>>, PatternError>;

/// [`Pattern::compile`], once per thread for each text.
pub(in crate::text::schema_gen) fn compiled(source: &str) -> Compiled {
    if let Some(hit) = CACHE.with(|c| c.borrow().0.get(source).cloned()) {
        return hit;
    }
    let made = Pattern::compile(source).map(|p| p.map(Rc::new));
    let ranges = made.as_ref().ok().and_then(Option::as_ref).map_or(0, |p| p.ranges);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0.len() >= CACHE_PATTERNS || c.1 + ranges > CACHE_RANGES {
            *c = (HashMap::new(), 0);
        }
        c.1 += ranges;
        c.0.insert(source.to_owned(), made.clone());
    });
    made
}

/// The patterns of one schema: each distinct one compiled once, all of them together within
/// [`MAX_SCHEMA_PATTERN_BYTES`], [`MAX_SCHEMA_CLASS_RANGES`] and [`MAX_SCHEMA_PATTERN_WORK`].
#[derive(Default)]
pub(in crate::text::schema_gen) struct PatternBudget {
    seen: HashSet<String>,
    bytes: usize,
    ranges: usize,
    work: u64,
}

impl PatternBudget {
    pub(in crate::text::schema_gen) fn admit(&mut self, source: &str) -> Compiled {
        if self.seen.contains(source) {
            return compiled(source);
        }
        self.bytes += source.len();
        if self.seen.len() >= MAX_SCHEMA_PATTERNS {
            return Err(format!("the schema has over {MAX_SCHEMA_PATTERNS} distinct patterns"));
        }
        if self.bytes > MAX_SCHEMA_PATTERN_BYTES {
            return Err(format!(
                "the schema's distinct patterns are over fakeai's limit of {MAX_SCHEMA_PATTERN_BYTES} bytes together"
            ));
        }
        let made = compiled(source)?;
        if let Some(p) = &made {
            self.ranges += p.ranges;
            self.work = self.work.saturating_add(p.nodes).saturating_add(p.root.work);
        }
        if self.ranges > MAX_SCHEMA_CLASS_RANGES {
            return Err(format!(
                "the schema's patterns' character classes are over fakeai's limit of {MAX_SCHEMA_CLASS_RANGES} ranges together"
            ));
        }
        if self.work > MAX_SCHEMA_PATTERN_WORK {
            return Err(format!(
                "the schema's patterns are too complex together (over {MAX_SCHEMA_PATTERN_WORK} steps)"
            ));
        }
        self.seen.insert(source.to_owned());
        Ok(made)
    }
}
