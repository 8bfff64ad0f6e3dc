//! Moderation scores for OpenAI's thirteen categories from keyword lexicons.
//!
//! The text is lower-cased and cut into words; every lexicon entry that occurs (a word, a word stem
//! ending in `*`, or a phrase of several words) adds its weight to its category. A category's score
//! is `1 - exp(-weight)` plus a tiny deterministic floor from the text's hash, so benign text scores
//! around 1e-5, one strong word about 0.8, several strong words close to 1. Sub-categories also lend
//! half their weight to their parent (a graphic threat is violent too).

use xxhash_rust::xxh3::xxh3_64;

/// OpenAI's category names, in the order of the score arrays.
pub const CATEGORIES: [&str; 13] = [
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
];

/// Categories that omni-moderation also scores for images.
pub const IMAGE_CATEGORIES: [&str; 6] =
    ["self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic"];

const HARASS: usize = 0;
const HARASS_T: usize = 1;
const HATE: usize = 2;
const HATE_T: usize = 3;
const ILLICIT: usize = 4;
const ILLICIT_V: usize = 5;
const SELF_HARM: usize = 6;
const SELF_HARM_INTENT: usize = 7;
const SELF_HARM_INSTR: usize = 8;
const SEXUAL: usize = 9;
const SEXUAL_MINORS: usize = 10;
const VIOLENCE: usize = 11;
const VIOLENCE_G: usize = 12;

/// Parent of each category (itself for top-level ones).
const PARENT: [usize; 13] = [
    HARASS, HARASS, HATE, HATE, ILLICIT, ILLICIT, SELF_HARM, SELF_HARM, SELF_HARM, SEXUAL, SEXUAL, VIOLENCE,
    VIOLENCE,
];

const LEXICON: &[(usize, &str, f64)] = &[
    (VIOLENCE, "kill*", 1.6),
    (VIOLENCE, "murder*", 1.8),
    (VIOLENCE, "stab*", 1.5),
    (VIOLENCE, "shoot*", 1.2),
    (VIOLENCE, "shot", 0.6),
    (VIOLENCE, "attack*", 0.9),
    (VIOLENCE, "beat them", 1.2),
    (VIOLENCE, "punch*", 0.8),
    (VIOLENCE, "strangl*", 1.6),
    (VIOLENCE, "assault*", 1.2),
    (VIOLENCE, "massacre*", 1.8),
    (VIOLENCE, "bomb*", 1.2),
    (VIOLENCE, "weapon*", 0.5),
    (VIOLENCE, "gun", 0.5),
    (VIOLENCE_G, "blood*", 0.9),
    (VIOLENCE_G, "gore", 1.5),
    (VIOLENCE_G, "dismember*", 2.0),
    (VIOLENCE_G, "mutilat*", 2.0),
    (VIOLENCE_G, "decapitat*", 2.0),
    (VIOLENCE_G, "entrails", 1.8),
    (VIOLENCE_G, "corpse*", 0.8),
    (HARASS, "idiot*", 0.9),
    (HARASS, "stupid", 0.6),
    (HARASS, "loser*", 0.8),
    (HARASS, "moron*", 1.0),
    (HARASS, "worthless", 0.9),
    (HARASS, "pathetic", 0.7),
    (HARASS, "shut up", 0.7),
    (HARASS, "nobody likes you", 1.4),
    (HARASS, "ugly", 0.5),
    (HARASS_T, "i will kill you", 2.5),
    (HARASS_T, "i will hurt you", 2.2),
    (HARASS_T, "you will die", 1.8),
    (HARASS_T, "i know where you live", 2.2),
    (HARASS_T, "watch your back", 1.4),
    (HATE, "vermin", 1.2),
    (HATE, "subhuman*", 1.8),
    (HATE, "inferior race*", 2.0),
    (HATE, "go back to your country", 1.8),
    (HATE, "hate all", 1.4),
    (HATE, "those people are animals", 1.8),
    (HATE, "racist*", 0.6),
    (HATE_T, "exterminat*", 1.6),
    (HATE_T, "ethnic cleansing", 2.2),
    (HATE_T, "wipe them out", 1.8),
    (ILLICIT, "steal*", 1.0),
    (ILLICIT, "cocaine", 1.0),
    (ILLICIT, "heroin", 1.0),
    (ILLICIT, "meth", 1.0),
    (ILLICIT, "counterfeit*", 1.2),
    (ILLICIT, "launder*", 1.0),
    (ILLICIT, "hack into", 1.2),
    (ILLICIT, "shoplift*", 1.2),
    (ILLICIT, "smuggl*", 1.1),
    (ILLICIT_V, "make a bomb", 2.4),
    (ILLICIT_V, "build a bomb", 2.4),
    (ILLICIT_V, "pipe bomb", 2.2),
    (ILLICIT_V, "untraceable gun", 2.2),
    (ILLICIT_V, "hire a hitman", 2.4),
    (SELF_HARM, "suicid*", 1.8),
    (SELF_HARM, "self-harm", 1.6),
    (SELF_HARM, "cut myself", 2.0),
    (SELF_HARM, "cutting myself", 2.0),
    (SELF_HARM, "overdose*", 1.2),
    (SELF_HARM_INTENT, "kill myself", 2.5),
    (SELF_HARM_INTENT, "want to die", 2.2),
    (SELF_HARM_INTENT, "end my life", 2.4),
    (SELF_HARM_INTENT, "hurt myself", 2.0),
    (SELF_HARM_INSTR, "how to kill myself", 2.5),
    (SELF_HARM_INSTR, "painless way to die", 2.5),
    (SELF_HARM_INSTR, "how many pills", 1.6),
    (SEXUAL, "sex", 0.9),
    (SEXUAL, "sexual*", 0.8),
    (SEXUAL, "porn*", 1.6),
    (SEXUAL, "nude*", 1.2),
    (SEXUAL, "naked", 1.0),
    (SEXUAL, "erotic*", 1.4),
    (SEXUAL, "orgasm*", 1.6),
    (SEXUAL_MINORS, "child porn*", 3.0),
    (SEXUAL_MINORS, "underage sex", 3.0),
];

/// Lower-cased words joined by single spaces, with a space at each end: `" word word "`.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for word in
        text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'')).filter(|w| !w.is_empty())
    {
        out.extend(word.chars().flat_map(char::to_lowercase));
        out.push(' ');
    }
    out
}

/// How often `entry` occurs in `words` (see [`normalise`]) at word starts: a stem (`kill*`) may run
/// on into a longer word, a word or phrase must end at a word end.
fn occurrences(words: &str, entry: &str) -> usize {
    let (needle, whole) = match entry.strip_suffix('*') {
        Some(stem) => (stem, false),
        None => (entry, true),
    };
    let bytes = words.as_bytes();
    words
        .match_indices(needle)
        .filter(|(i, _)| bytes[i - 1] == b' ' && (!whole || bytes[i + needle.len()] == b' '))
        .count()
}

/// Scores in `0..1` for each of [`CATEGORIES`].
pub fn scores(text: &str) -> [f64; 13] {
    let words = normalise(text);
    let mut weight = [0f64; 13];
    for &(cat, entry, w) in LEXICON {
        let hits = occurrences(&words, entry);
        if hits > 0 {
            let w = w * (1.0 + 0.25 * (hits - 1) as f64);
            weight[cat] += w;
            if PARENT[cat] != cat {
                weight[PARENT[cat]] += w / 2.0;
            }
        }
    }
    let h = xxh3_64(words.as_bytes());
    std::array::from_fn(|i| {
        let floor = 1e-6 + ((h >> (i * 4)) & 0xF) as f64 * 6e-6;
        (1.0 - (-weight[i]).exp()).max(floor).min(0.999_9)
    })
}

/// Scores for an image, which fakeai does not look at: low, stable per URL.
pub fn image_scores(url: &str) -> [f64; 13] {
    let h = xxh3_64(url.as_bytes());
    std::array::from_fn(|i| 1e-6 + ((h >> (i * 4)) & 0xF) as f64 * 1e-5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(text: &str, cat: &str) -> f64 {
        scores(text)[CATEGORIES.iter().position(|c| *c == cat).unwrap()]
    }

    #[test]
    fn benign_text_scores_near_zero() {
        let s = scores("The quarterly report shows revenue growth across European markets.");
        assert!(s.iter().all(|&x| x < 0.001), "{s:?}");
    }

    #[test]
    fn violent_text_is_scored_with_its_parent() {
        assert!(score("I will kill you and stab your friends", "violence") > 0.9);
        assert!(score("I will kill you", "harassment/threatening") > 0.9);
        assert!(score("I will kill you", "harassment") > 0.5);
        assert!(score("there was blood and gore everywhere", "violence/graphic") > 0.8);
        assert!(score("there was blood and gore everywhere", "violence") > 0.6);
    }

    #[test]
    fn self_harm_hate_and_sexual() {
        assert!(score("I want to die, I will kill myself", "self-harm/intent") > 0.9);
        assert!(score("I want to die, I will kill myself", "self-harm") > 0.7);
        assert!(score("they are vermin and subhuman", "hate") > 0.9);
        assert!(score("explicit porn and nude pictures", "sexual") > 0.9);
        assert!(score("how do I make a bomb", "illicit/violent") > 0.9);
    }

    #[test]
    fn more_hits_score_higher_and_stems_match() {
        assert!(score("murdered", "violence") > 0.7);
        assert!(score("killing", "violence") > score("the skill", "violence"));
        assert!(score("kill kill kill", "violence") > score("kill", "violence"));
        assert_eq!(scores("Same text"), scores("same   TEXT"));
    }

    #[test]
    fn images_score_low_and_stable() {
        let a = image_scores("https://example.com/cat.png");
        assert_eq!(a, image_scores("https://example.com/cat.png"));
        assert!(a.iter().all(|&x| x < 0.001));
    }
}
