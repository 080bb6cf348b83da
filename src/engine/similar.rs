//! `similar`: a turn that says what one of the rule's example sentences says, in other words.
//!
//! QA staff give example sentences (`like`) and, optionally, counter-examples (`unlike`); a
//! turn of the rule's speaker is a finding when part of it is similar enough to a `like`
//! sentence ("我非常能理解您现在着急的心情" for "我理解您的心情"). Each finding's `detail`
//! names the closest example and the similarity, so a reviewer sees why it fired. `effect =
//! "reward"` makes findings earn `points` (empathy said in other words); the default is a
//! violation (an over-promise in other words). `examples.match` = some turn is similar.
//!
//! ```toml
//! [[rule]]
//! id = "EMP-ZH-SIM"
//! kind = "similar"
//! category = "empathy"
//! severity = "info"
//! effect = "reward"
//! points = 2
//! message = "表达理解与共情（换一种说法也算）"
//! like = ["我理解您的心情", "我能体会您的感受"]
//! unlike = ["我不理解您的意思"]
//! threshold = 0.35              # default 0.4; see `callqa tune`
//! examples.match = ["我非常能理解您现在着急的心情"]
//! examples.no_match = ["我不太理解您说的情况", "您的卡已经解冻了"]
//! ```
//!
//! How similarity is measured — transparent, offline, no model:
//! - Text is normalized like every rule phrase (Traditional → Simplified, case, width).
//! - Chinese needs no word boundaries: its features are character bigrams and trigrams, and
//!   single content characters at half weight (not 我/您/的/了…).
//!   English features are Snowball stems of the words that carry meaning (a short stop list
//!   drops "i", "the", "this"…) and bigrams of adjacent stems.
//! - Each feature is weighted by its inverse document frequency over all the pack's `like` and
//!   `unlike` sentences (TF-IDF), so words every example shares count less; a bigram of two
//!   function characters (您的, 我们) counts 0.3.
//! - A turn is cut into clauses at punctuation (clauses over 16 tokens into 16-token pieces);
//!   each clause and each pair of adjacent clauses (a window) is compared with every example.
//!   The similarity (0–1) combines how much of the example's weight the window has
//!   (coverage) and how much of the window's weight is the example's (precision) as an
//!   F-score counting coverage twice: 5·C·P / (4·P + C). A window saying the example with
//!   extra words ("我非常能理解您现在着急的心情") keeps a high coverage.
//! - The best window of a turn is a finding when its similarity to the closest `like` reaches
//!   `threshold` (default 0.4), it is more similar to that `like` than to any `unlike`, and
//!   it agrees with it on negation (a negator such as 不/没/not/n't in one but not the other
//!   flips the meaning: "我不理解您的意思").
//!
//! Speed: the examples are indexed once when the pack is compiled (an inverted index from
//! feature to examples); a window is scored only against the examples it shares features with,
//! and only turns sharing at least two features with some example are looked at.
//!
//! Similarity is lexical: a paraphrase with no word or character pair in common with any
//! example ("I totally get why you're upset" against "I understand how frustrating this is") is
//! not found. Give a few differently worded `like` sentences; `callqa tune` picks thresholds.

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

use super::{CallView, Finding, Hit, Verdict};
use crate::error::{Error, Result, RuleProblem};
use crate::input::Call;
use crate::normalize::{NormText, Normalizer, is_unified_ideograph};
use crate::rules::{Check, DEFAULT_NEGATORS, RulePack, SpeakerScope};

/// Longest piece of a clause compared as one unit, in tokens (characters or words).
const MAX_UNIT_TOKENS: usize = 16;
/// Least number of features a window must share with the examples to be scored.
const MIN_SHARED_FEATURES: usize = 2;
/// Weight of a Chinese bigram or trigram made only of function characters.
const FUNCTION_PRIOR: f32 = 0.3;
/// Weight of a single Chinese content character.
const CJK_UNIGRAM_PRIOR: f32 = 0.5;
/// Characters that carry little meaning alone (pronouns, particles).
const FUNCTION_CHARS: &str = "我你您他她它们的了是在吗呢吧啊呀嘛这那就都也很和与及个一有";
/// English words that carry little meaning alone (negators are handled apart).
const STOP_WORDS: [&str; 48] = [
    "i", "me", "my", "you", "your", "we", "our", "us", "he", "she", "it", "its", "they", "them",
    "the", "a", "an", "this", "that", "these", "those", "is", "am", "are", "was", "were", "be",
    "been", "to", "of", "and", "or", "in", "on", "at", "for", "with", "so", "just", "do", "does",
    "did", "have", "has", "i'm", "you're", "it's", "that's",
];

/// One example sentence in the index.
struct IndexedExample {
    rule: usize,
    text: String,
    unlike: bool,
    /// Squared length of its weighted feature vector.
    norm2: f32,
    negated: bool,
}

/// The pack's `similar` examples, indexed once by feature.
pub(crate) struct SimilarIndex {
    ids: HashMap<u64, u32>,
    /// Weight (IDF × prior) of each feature id.
    weights: Vec<f32>,
    /// For each feature id, the examples that have it and how often.
    postings: Vec<Vec<(u32, f32)>>,
    examples: Vec<IndexedExample>,
    /// IDF of a feature that no example has.
    unseen_idf: f32,
    /// For each rule of the pack: its speaker and threshold when it is a `similar` rule.
    rules: Vec<Option<(SpeakerScope, f32)>>,
    text: TextFeatures,
}

/// How text becomes tokens and features; shared by the index and by scanning.
struct TextFeatures {
    stemmer: Stemmer,
    /// Normalized negators: words (matched as whole words) and Chinese (as substrings).
    negator_words: Vec<String>,
    negator_chars: Vec<String>,
}

/// A token of normalized text: a Chinese character or an English word.
#[derive(Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    clause: u32,
    /// The character, or the hash of the word's stem; `None` for a stop word.
    value: Option<u64>,
    cjk: bool,
}

/// A feature occurrence: tokens `first..=last`, its hash and prior weight.
#[derive(Clone, Copy)]
struct Feature {
    first: u32,
    last: u32,
    hash: u64,
    prior: f32,
}

/// Buffers one worker reuses from call to call.
#[derive(Default)]
pub(crate) struct Scratch {
    tokens: Vec<Token>,
    features: Vec<Feature>,
    window: Vec<(u64, f32)>,
    dots: Vec<f32>,
    touched: Vec<u32>,
}

/// The best window of one turn for one rule.
#[derive(Clone, Debug)]
pub(crate) struct SimilarMatch {
    pub rule: usize,
    pub turn: usize,
    /// Byte range in the normalized turn text.
    pub start: usize,
    pub end: usize,
    /// Index of the closest `like` example among the rule's.
    pub example: usize,
    pub score: f32,
}

fn fnv(hash: u64, value: u64) -> u64 {
    let mut h = hash;
    for byte in value.to_le_bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(FNV_START, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '！' | '？' | '、' | '；' | '：' | ',' | '.' | '!' | '?' | ';' | ':' | '…'
    )
}

impl TextFeatures {
    fn new(normalizer: &Normalizer) -> TextFeatures {
        let (words, chars): (Vec<String>, Vec<String>) = DEFAULT_NEGATORS
            .iter()
            .map(|n| normalizer.normalize(n))
            .filter(|n| !n.is_empty())
            .partition(|n| n.is_ascii());
        TextFeatures {
            stemmer: Stemmer::create(Algorithm::English),
            negator_words: words,
            negator_chars: chars,
        }
    }

    /// Splits normalized text into tokens, numbering clauses (pieces of at most
    /// [`MAX_UNIT_TOKENS`] tokens between punctuation).
    fn tokenize(&self, text: &str, out: &mut Vec<Token>) {
        out.clear();
        let mut clause = 0u32;
        let mut in_clause = 0usize;
        let mut word_start: Option<usize> = None;
        let push = |out: &mut Vec<Token>, token: Token, in_clause: &mut usize| {
            out.push(token);
            *in_clause += 1;
        };
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let wordish = c.is_alphanumeric() && !is_unified_ideograph(c)
                || (c == '\'' && word_start.is_some());
            if wordish {
                word_start.get_or_insert(i);
                let next_wordish = chars.peek().is_some_and(|&(_, n)| {
                    n.is_alphanumeric() && !is_unified_ideograph(n) || n == '\''
                });
                if next_wordish {
                    continue;
                }
                let start = word_start.take().unwrap_or(i);
                let end = i + c.len_utf8();
                if in_clause >= MAX_UNIT_TOKENS {
                    clause += 1;
                    in_clause = 0;
                }
                let value = self.word_value(&text[start..end]);
                push(
                    out,
                    Token {
                        start,
                        end,
                        clause,
                        value,
                        cjk: false,
                    },
                    &mut in_clause,
                );
                continue;
            }
            if is_clause_break(c) {
                if in_clause > 0 {
                    clause += 1;
                    in_clause = 0;
                }
                continue;
            }
            if is_unified_ideograph(c) {
                if in_clause >= MAX_UNIT_TOKENS {
                    clause += 1;
                    in_clause = 0;
                }
                let token = Token {
                    start: i,
                    end: i + c.len_utf8(),
                    clause,
                    value: Some(u64::from(c)),
                    cjk: true,
                };
                push(out, token, &mut in_clause);
            }
        }
    }

    /// The hash of a word's stem, or `None` for a stop word or a negator.
    fn word_value(&self, word: &str) -> Option<u64> {
        let word = word.trim_matches('\'');
        if word.is_empty()
            || STOP_WORDS.contains(&word)
            || word.ends_with("n't")
            || self.negator_words.iter().any(|n| n == word)
        {
            return None;
        }
        Some(hash_str(&self.stemmer.stem(word)))
    }

    /// Every feature of the tokens, ordered by first token.
    fn features(tokens: &[Token], out: &mut Vec<Feature>) {
        out.clear();
        let function = |t: &Token| {
            t.cjk
                && char::from_u32(t.value.unwrap_or(0) as u32)
                    .is_some_and(|c| FUNCTION_CHARS.contains(c))
        };
        for (i, t) in tokens.iter().enumerate() {
            let Some(value) = t.value else { continue };
            let next = |k: usize| {
                tokens
                    .get(i + k)
                    .filter(|n| n.clause == t.clause && n.cjk == t.cjk && n.value.is_some())
            };
            if t.cjk {
                // A content character alone says something too: insertions ("我非常能理解")
                // break n-grams but not characters.
                if !function(t) {
                    out.push(Feature {
                        first: i as u32,
                        last: i as u32,
                        hash: fnv(FNV_START ^ 5, value),
                        prior: CJK_UNIGRAM_PRIOR,
                    });
                }
                let Some(second) = next(1) else { continue };
                let bigram = fnv(fnv(FNV_START ^ 2, value), second.value.unwrap_or(0));
                let all_function = function(t) && function(second);
                out.push(Feature {
                    first: i as u32,
                    last: i as u32 + 1,
                    hash: bigram,
                    prior: if all_function { FUNCTION_PRIOR } else { 1.0 },
                });
                if let Some(third) = next(2) {
                    out.push(Feature {
                        first: i as u32,
                        last: i as u32 + 2,
                        hash: fnv(bigram ^ 3, third.value.unwrap_or(0)),
                        prior: if all_function && function(third) {
                            FUNCTION_PRIOR
                        } else {
                            1.0
                        },
                    });
                }
            } else {
                out.push(Feature {
                    first: i as u32,
                    last: i as u32,
                    hash: fnv(FNV_START ^ 1, value),
                    prior: 1.0,
                });
                if let Some(second) = next(1) {
                    out.push(Feature {
                        first: i as u32,
                        last: i as u32 + 1,
                        hash: fnv(fnv(FNV_START ^ 4, value), second.value.unwrap_or(0)),
                        prior: 1.0,
                    });
                }
            }
        }
    }

    /// Whether the text holds a negator (a whole word, or a Chinese negator anywhere).
    fn negated(&self, text: &str) -> bool {
        self.negator_chars.iter().any(|n| text.contains(n.as_str()))
            || text
                .split(|c: char| !(c.is_alphanumeric() || c == '\''))
                .any(|w| w.ends_with("n't") || self.negator_words.iter().any(|n| n == w))
            || self
                .negator_words
                .iter()
                .filter(|n| n.contains(' '))
                .any(|n| text.contains(n.as_str()))
    }
}

/// How far a window says what an example says: the share of the example's weight the window
/// has (coverage) and the share of the window's weight that is the example's (precision),
/// combined as an F-score counting coverage twice (β = 2), so that a turn saying the example
/// with extra words ("我非常能理解您现在着急的心情") still scores well. 0–1.
fn similarity(shared: f32, window_norm2: f32, example_norm2: f32) -> f32 {
    if shared <= 0.0 {
        return 0.0;
    }
    let coverage = (shared / example_norm2).min(1.0);
    let precision = (shared / window_norm2).min(1.0);
    5.0 * coverage * precision / (4.0 * precision + coverage)
}

/// Sorted, counted features of one window: (hash, prior) → count, as (hash, prior, count).
fn counted(features: &mut [(u64, f32)]) -> impl Iterator<Item = (u64, f32, f32)> + '_ {
    features.sort_by_key(|f| f.0);
    features
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| (run[0].0, run[0].1, run.len() as f32))
}

impl SimilarIndex {
    /// Indexes every `like` and `unlike` sentence of the pack's `similar` rules; fails when a
    /// sentence has nothing to compare (naming file, line and rule).
    pub(crate) fn new(pack: &RulePack, normalizer: &Normalizer) -> Result<SimilarIndex> {
        let text = TextFeatures::new(normalizer);
        let mut rules = Vec::new();
        let mut sentences: Vec<(usize, String, bool)> = Vec::new();
        for (index, rule) in pack.rules().iter().enumerate() {
            let Check::Similar(similar) = &rule.check else {
                rules.push(None);
                continue;
            };
            rules.push(Some((rule.speaker, similar.threshold as f32)));
            let like = similar.like.iter().map(|s| (s, false));
            for (sentence, unlike) in like.chain(similar.unlike.iter().map(|s| (s, true))) {
                sentences.push((index, sentence.clone(), unlike));
            }
        }
        let mut problems = Vec::new();
        let mut tokens = Vec::new();
        let mut features = Vec::new();
        let mut per_example: Vec<Vec<(u64, f32, f32)>> = Vec::new();
        let mut df: HashMap<u64, (u32, f32)> = HashMap::new();
        for (rule, sentence, _) in &sentences {
            let norm = normalizer.normalize(sentence);
            text.tokenize(&norm, &mut tokens);
            // An example is one window whatever its length.
            tokens.iter_mut().for_each(|t| t.clause = 0);
            TextFeatures::features(&tokens, &mut features);
            let mut pairs: Vec<(u64, f32)> = features.iter().map(|f| (f.hash, f.prior)).collect();
            let counts: Vec<_> = counted(&mut pairs).collect();
            if counts.len() < MIN_SHARED_FEATURES {
                let r = &pack.rules()[*rule];
                problems.push(RuleProblem {
                    file: r.file.clone(),
                    line: Some(r.line),
                    rule_id: Some(r.id.clone()),
                    message: format!(
                        "example sentence {sentence:?} is too short to compare: give at least two Chinese characters or two words that are not stop words"
                    ),
                });
            }
            for &(hash, prior, _) in &counts {
                df.entry(hash).or_insert((0, prior)).0 += 1;
            }
            per_example.push(counts);
        }
        if !problems.is_empty() {
            return Err(Error::rule_pack(problems));
        }
        let n = sentences.len() as f32;
        let idf = |df: u32| ((n + 1.0) / (df as f32 + 1.0)).ln() + 1.0;
        // Feature ids in order of first appearance, so the index is the same on every run.
        let mut ids = HashMap::new();
        let mut weights = Vec::new();
        let mut postings: Vec<Vec<(u32, f32)>> = Vec::new();
        let mut examples = Vec::new();
        for (e, ((rule, sentence, unlike), counts)) in
            sentences.into_iter().zip(&per_example).enumerate()
        {
            let mut norm2 = 0.0f32;
            for &(hash, prior, count) in counts {
                let id = *ids.entry(hash).or_insert_with(|| {
                    weights.push(idf(df[&hash].0) * prior);
                    postings.push(Vec::new());
                    weights.len() as u32 - 1
                });
                postings[id as usize].push((e as u32, count));
                let w = weights[id as usize] * count;
                norm2 += w * w;
            }
            examples.push(IndexedExample {
                negated: text.negated(&normalizer.normalize(&sentence)),
                rule,
                text: sentence,
                unlike,
                norm2,
            });
        }
        Ok(SimilarIndex {
            ids,
            weights,
            postings,
            examples,
            unseen_idf: idf(0),
            rules,
            text,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The `like` sentence a match is closest to.
    pub(crate) fn example_text(&self, example: usize) -> &str {
        &self.examples[example].text
    }

    /// The best window of every turn for every applicable `similar` rule whose threshold it
    /// reaches (or, with `threshold_override`, that threshold), sorted by rule and turn.
    pub(crate) fn scan(
        &self,
        call: &Call,
        turns: &[NormText],
        rule_applies: &dyn Fn(usize) -> bool,
        threshold_override: Option<f32>,
        scratch: &mut Scratch,
    ) -> Vec<SimilarMatch> {
        let mut matches = Vec::new();
        let active: Vec<usize> = (0..self.rules.len())
            .filter(|&r| self.rules[r].is_some() && rule_applies(r))
            .collect();
        if active.is_empty() {
            return matches;
        }
        scratch.dots.resize(self.examples.len(), 0.0);
        for (t, (turn, norm)) in call.turns.iter().zip(turns).enumerate() {
            let speaking: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&r| self.rules[r].is_some_and(|(s, _)| s.includes(turn.speaker)))
                .collect();
            if speaking.is_empty() {
                continue;
            }
            self.scan_turn(
                t,
                norm.as_str(),
                &speaking,
                threshold_override,
                scratch,
                &mut matches,
            );
        }
        matches.sort_by_key(|m| (m.rule, m.turn));
        matches
    }

    fn scan_turn(
        &self,
        turn: usize,
        text: &str,
        rules: &[usize],
        threshold_override: Option<f32>,
        scratch: &mut Scratch,
        matches: &mut Vec<SimilarMatch>,
    ) {
        self.text.tokenize(text, &mut scratch.tokens);
        TextFeatures::features(&scratch.tokens, &mut scratch.features);
        let shared = scratch
            .features
            .iter()
            .filter(|f| self.ids.contains_key(&f.hash))
            .take(MIN_SHARED_FEATURES)
            .count();
        if shared < MIN_SHARED_FEATURES {
            return;
        }
        let clauses = scratch.tokens.last().map_or(0, |t| t.clause as usize + 1);
        // First token of each clause (clauses are numbered densely from 0).
        let mut bounds = vec![0usize; clauses + 1];
        for (i, t) in scratch.tokens.iter().enumerate() {
            bounds[t.clause as usize + 1] = i + 1;
        }
        let mut best: Vec<Option<SimilarMatch>> = vec![None; rules.len()];
        for first in 0..clauses {
            for last in first..(first + 2).min(clauses) {
                let (a, b) = (bounds[first], bounds[last + 1]);
                if a >= b {
                    continue;
                }
                let span = (scratch.tokens[a].start, scratch.tokens[b - 1].end);
                self.score_window(a, b, scratch);
                let negated = self.text.negated(&text[span.0..span.1]);
                for (slot, &rule) in best.iter_mut().zip(rules) {
                    let Some(candidate) =
                        self.judge(rule, turn, span, negated, threshold_override, scratch)
                    else {
                        continue;
                    };
                    if slot.as_ref().is_none_or(|b| candidate.score > b.score) {
                        *slot = Some(candidate);
                    }
                }
                for &e in &scratch.touched {
                    scratch.dots[e as usize] = 0.0;
                }
            }
        }
        matches.extend(best.into_iter().flatten());
    }

    /// Fills `scratch.dots` with the [`similarity`] of tokens `a..b` against each example it shares a
    /// feature with (listed in `scratch.touched`).
    fn score_window(&self, a: usize, b: usize, scratch: &mut Scratch) {
        scratch.touched.clear();
        scratch.window.clear();
        scratch.window.extend(
            scratch
                .features
                .iter()
                .filter(|f| f.first as usize >= a && (f.last as usize) < b)
                .map(|f| (f.hash, f.prior)),
        );
        let mut shared = 0;
        let mut norm2 = 0.0f32;
        for (hash, prior, count) in counted(&mut scratch.window) {
            let Some(&id) = self.ids.get(&hash) else {
                let w = self.unseen_idf * prior * count;
                norm2 += w * w;
                continue;
            };
            shared += 1;
            let w = self.weights[id as usize];
            norm2 += (w * count) * (w * count);
            for &(e, example_count) in &self.postings[id as usize] {
                if scratch.dots[e as usize] == 0.0 {
                    scratch.touched.push(e);
                }
                scratch.dots[e as usize] += w * count * w * example_count;
            }
        }
        for &e in &scratch.touched {
            let example = &self.examples[e as usize];
            let similarity = similarity(scratch.dots[e as usize], norm2, example.norm2);
            // Windows sharing too little are not candidates (a tiny score, never a match).
            scratch.dots[e as usize] = if shared >= MIN_SHARED_FEATURES {
                similarity
            } else {
                f32::MIN_POSITIVE
            };
        }
    }

    /// The window as a match of `rule`, if its closest `like` passes the rule's tests.
    fn judge(
        &self,
        rule: usize,
        turn: usize,
        span: (usize, usize),
        negated: bool,
        threshold_override: Option<f32>,
        scratch: &Scratch,
    ) -> Option<SimilarMatch> {
        let threshold = threshold_override.or(self.rules[rule].map(|(_, t)| t))?;
        let mut like: Option<(usize, f32)> = None;
        let mut unlike = 0.0f32;
        for &e in &scratch.touched {
            let example = &self.examples[e as usize];
            if example.rule != rule {
                continue;
            }
            let score = scratch.dots[e as usize];
            if example.unlike {
                unlike = unlike.max(score);
            } else if like.is_none_or(|(best_e, best)| {
                (score, std::cmp::Reverse(e as usize)) > (best, std::cmp::Reverse(best_e))
            }) {
                like = Some((e as usize, score));
            }
        }
        let (example, score) = like?;
        let agrees = self.examples[example].negated == negated;
        (score >= threshold && score > unlike && agrees).then_some(SimilarMatch {
            rule,
            turn,
            start: span.0,
            end: span.1,
            example,
            score,
        })
    }
}

/// Findings of `similar` rule `rule`: one per turn, at its best window.
pub(super) fn evaluate(rule: usize, index: &SimilarIndex, view: &CallView<'_>) -> Verdict {
    let evidence: Vec<Hit> = view
        .similar
        .iter()
        .filter(|m| m.rule == rule)
        .map(|m| Hit {
            leaf: u32::MAX,
            turn: m.turn as u32,
            start: m.start as u32,
            end: m.end as u32,
            exclude: false,
        })
        .collect();
    let findings: Vec<Finding> = view
        .similar
        .iter()
        .filter(|m| m.rule == rule)
        .zip(&evidence)
        .map(|(m, hit)| {
            let detail = format!(
                "similar to {:?} ({:.2})",
                index.example_text(m.example),
                m.score
            );
            view.finding_at(rule, hit, Some(detail))
        })
        .collect();
    Verdict {
        detected: !findings.is_empty(),
        findings,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features_of(text: &str) -> usize {
        let t = TextFeatures::new(&Normalizer::new());
        let mut tokens = Vec::new();
        let mut features = Vec::new();
        t.tokenize(text, &mut tokens);
        TextFeatures::features(&tokens, &mut features);
        features.len()
    }

    #[test]
    fn chinese_gives_bigrams_and_trigrams_within_a_clause() {
        // 我理解您: 理 and 解 alone (我 and 您 are function characters), 3 bigrams and 2
        // trigrams; the comma cuts the n-grams but not the characters.
        assert_eq!(features_of("我理解您"), 7);
        assert_eq!(features_of("我理，解您"), 4);
    }

    #[test]
    fn english_drops_stop_words_and_stems() {
        let t = TextFeatures::new(&Normalizer::new());
        let mut a = Vec::new();
        let mut b = Vec::new();
        t.tokenize("frustrating", &mut a);
        t.tokenize("frustrated", &mut b);
        assert_eq!(a[0].value, b[0].value);
        // "i understand this": one meaningful word, no bigram.
        assert_eq!(features_of("i understand this"), 1);
    }

    #[test]
    fn negation_is_seen_in_both_languages() {
        let t = TextFeatures::new(&Normalizer::new());
        assert!(t.negated("我不理解"));
        assert!(t.negated("i don't understand"));
        assert!(!t.negated("i understand nothing"));
    }
}
