"""The ``text_similarity`` grader's metrics, computed for real in pure Python; ``input`` is the
candidate, ``reference`` the reference. Each score is from 0 to 1.

Which are exact and which approximate OpenAI's (which does not publish its implementations):

- ``fuzzy_match``: rapidfuzz's ``fuzz.ratio`` / 100, the normalised InDel similarity of the two
  strings (``2 * LCS / (len(a) + len(b))`` over characters; two empty strings score 1). Exact.
- ``bleu``: sentence BLEU with uniform weights up to 4-grams (up to the candidate's length when it is
  shorter), clipped counts, the brevity penalty, and NLTK's ``method1`` smoothing (a zero n-gram
  count becomes 0.1); no unigram match scores 0. Tokens are words and punctuation marks, case kept.
  As NLTK's ``sentence_bleu`` with that smoothing.
- ``gleu``: Google-BLEU as NLTK's ``sentence_gleu``: the smaller of n-gram precision and recall,
  over 1- to 4-grams together. Exact to that definition.
- ``meteor``: an approximation of NLTK's ``meteor_score``: lowercased exact word matches only (no
  stemming, no WordNet synonyms), aligned left to right, then the harmonic mean with alpha 0.9 and
  the fragmentation penalty 0.5 * (chunks / matches) ** 3.
- ``rouge_1`` ... ``rouge_5``, ``rouge_l``: the F1 measures of Google's ``rouge_score`` (its
  tokenizer: lowercase, ASCII letters and digits only; no stemming): n-gram overlap, or the longest
  common subsequence of tokens. Exact to that definition.
- ``cosine``: an approximation: OpenAI compares two embeddings; here two deterministic bag-of-words
  vectors (lowercased word counts), so only shared words make texts similar.

The longest common subsequence is the bit-parallel algorithm (Hyyrö 2004: one big-integer step per
element of the second sequence), so its cost is ``len(a) * len(b) / 64`` machine words; each text
is at most :data:`MAX_CHARS` characters (:class:`TooLong` past it).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Sequence

MAX_CHARS = 20_000
METRICS = (
    "cosine",
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
)

_WORDS = re.compile(r"\w+|[^\w\s]")
_ROUGE = re.compile(r"[a-z0-9]+")
_LOWER_WORDS = re.compile(r"\w+")


class TooLong(ValueError):
    """A text is longer than :data:`MAX_CHARS` characters."""


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """The length of the longest common subsequence of ``a`` and ``b`` (bit-parallel)."""
    if len(a) < len(b):
        a, b = b, a  # the shorter one is iterated
    if not b:
        return 0
    positions: dict[Hashable, list[int]] = {}
    for i, x in enumerate(a):
        positions.setdefault(x, []).append(i)
    masks = {x: sum(1 << i for i in at) for x, at in positions.items()}
    full = (1 << len(a)) - 1
    v = full
    for y in b:
        m = masks.get(y)
        if m is not None:
            u = v & m
            v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _f1(overlap: int, candidate: int, reference: int) -> float:
    if overlap == 0 or candidate == 0 or reference == 0:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def fuzzy_match(candidate: str, reference: str) -> float:
    total = len(candidate) + len(reference)
    return 1.0 if total == 0 else 2 * lcs_length(candidate, reference) / total


def bleu(candidate: str, reference: str) -> float:
    hyp, ref = _WORDS.findall(candidate), _WORDS.findall(reference)
    order = min(4, len(hyp))
    if order == 0 or not ref:
        return 0.0
    logs = []
    for n in range(1, order + 1):
        counts, refs = _ngrams(hyp, n), _ngrams(ref, n)
        matches = sum(min(c, refs[g]) for g, c in counts.items())
        if n == 1 and matches == 0:
            return 0.0
        logs.append(math.log((matches or 0.1) / sum(counts.values())))
    penalty = 1.0 if len(hyp) > len(ref) else math.exp(1 - len(ref) / len(hyp))
    return penalty * math.exp(sum(logs) / order)


def gleu(candidate: str, reference: str) -> float:
    hyp, ref = _WORDS.findall(candidate), _WORDS.findall(reference)
    matches = hyp_total = ref_total = 0
    for n in range(1, 5):
        counts, refs = _ngrams(hyp, n), _ngrams(ref, n)
        matches += sum(min(c, refs[g]) for g, c in counts.items())
        hyp_total += sum(counts.values())
        ref_total += sum(refs.values())
    if hyp_total == 0 or ref_total == 0:
        return 0.0
    return min(matches / hyp_total, matches / ref_total)


def meteor(
    candidate: str, reference: str, alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5
) -> float:
    hyp, ref = _LOWER_WORDS.findall(candidate.lower()), _LOWER_WORDS.findall(reference.lower())
    unused: dict[str, list[int]] = {}
    for j, word in enumerate(ref):
        unused.setdefault(word, []).append(j)
    pairs = []
    for i, word in enumerate(hyp):
        free = unused.get(word)
        if free:
            pairs.append((i, free.pop(0)))
    matches = len(pairs)
    if matches == 0:
        return 0.0
    precision, recall = matches / len(hyp), matches / len(ref)
    fmean = precision * recall / (alpha * precision + (1 - alpha) * recall)
    chunks = 1 + sum(
        1 for (i0, j0), (i1, j1) in zip(pairs, pairs[1:], strict=False) if (i1, j1) != (i0 + 1, j0 + 1)
    )
    return fmean * (1 - gamma * (chunks / matches) ** beta)


def _rouge_n(n: int) -> Callable[[str, str], float]:
    def score(candidate: str, reference: str) -> float:
        hyp, ref = (
            _ngrams(_ROUGE.findall(candidate.lower()), n),
            _ngrams(_ROUGE.findall(reference.lower()), n),
        )
        overlap = sum(min(c, ref[g]) for g, c in hyp.items())
        return _f1(overlap, sum(hyp.values()), sum(ref.values()))

    return score


def rouge_l(candidate: str, reference: str) -> float:
    hyp, ref = _ROUGE.findall(candidate.lower()), _ROUGE.findall(reference.lower())
    return _f1(lcs_length(hyp, ref), len(hyp), len(ref))


def cosine(candidate: str, reference: str) -> float:
    a, b = Counter(_LOWER_WORDS.findall(candidate.lower())), Counter(_LOWER_WORDS.findall(reference.lower()))
    dot = sum(c * b[w] for w, c in a.items())
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return 0.0 if norm == 0 else min(1.0, dot / norm)


_SCORERS: dict[str, Callable[[str, str], float]] = {
    "cosine": cosine,
    "fuzzy_match": fuzzy_match,
    "bleu": bleu,
    "gleu": gleu,
    "meteor": meteor,
    **{f"rouge_{n}": _rouge_n(n) for n in range(1, 6)},
    "rouge_l": rouge_l,
}


def similarity(metric: str, candidate: str, reference: str) -> float:
    """The ``metric`` score of ``candidate`` against ``reference``."""
    for text in (candidate, reference):
        if len(text) > MAX_CHARS:
            raise TooLong(
                f"text_similarity compares texts of at most {MAX_CHARS} characters, got {len(text)}"
            )
    return _SCORERS[metric](candidate, reference)
