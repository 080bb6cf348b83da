#!/usr/bin/env python3
"""A straightforward Python implementation of callqa's scoring — the benchmark's baseline.

    python bench/baseline.py --rules DIR --out OUTDIR INPUT.jsonl...

Same semantics as README "Scoring" and docs/rules.md, written the way a competent Python
developer would write it (not deliberately slow, not heroically optimized either), in one
process:

- each line: json.loads, the input contract checks (required fields, speakers, timestamps);
  rejects and duplicate call_ids go to OUTDIR/rejects.jsonl;
- normalization: NFKC, lowercase, Traditional → Simplified by a single-character table,
  white space collapsed; a fast path keeps the identity offset map when nothing changes length,
  a per-character path maps spans back otherwise;
- one pyahocorasick automaton over all phrases and exclusions of the pack, `re` for regexes;
- forbid / require (scope first_turns / last_turns among the speaker's turns) / reward, speaker
  and lang filters, exclusions cancelling overlapping hits of the same rule;
- the score formula (per-rule caps, bonus cap 10, clamping, fatal → 0 and auto_fail, category
  subscores) and the per-agent aggregates (mean, nearest-rank p10, auto-fail rate, category
  means, violations per 100 calls, top 5 rules);
- calls / findings / agents Parquet with pyarrow (snappy), sorted like callqa's.

It implements the rule format of the brief it was written for — forbid / require / reward with
phrases, regex, exclude, speaker, lang, scope (first_turns / last_turns), points, cap, plus
max_count / min_count and scorecard.toml (base, bonus_cap, fatal_severities, severity_points,
category_caps, category_weights). Rules of other kinds (sequence, response, timing) are skipped
and other condition keys (when, negation, boundary, near, all / any / not, first_seconds /
last_seconds) are ignored; both are listed on stderr and in OUTDIR/summary.json, and
bench/compare.py then shows where the tables differ. Skipping work makes Python look faster,
so the callqa/python ratio is then a lower bound.

Known simplifications, none of which changes the amount of work per call:
- Traditional → Simplified uses OpenCC's TSCharacters table from the opencc-python-reimplemented
  package when it is installed (bench/run.sh installs it); without it the conversion is skipped
  and Traditional calls only match rules on the characters the two scripts share.
- Language detection when a record has no `language`: the same Han-vs-Latin count as callqa,
  but without whatlang (Latin text is taken as English).
- Combining marks are normalized one code point at a time, not per cluster.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import tomllib
import unicodedata
from datetime import datetime
from pathlib import Path

import ahocorasick
import pyarrow as pa
import pyarrow.parquet as pq

SEVERITY_POINTS = {"info": 0, "minor": 2, "major": 5, "critical": 10, "fatal": 0}
BUILTIN_CATEGORIES = ["compliance", "banned_wording", "over_promising", "empathy"]
BONUS_CAP = 10
TOP_RULES = 5
SPEAKERS = {"agent", "customer", "system"}


# ------------------------------------------------------------------ normalization

def load_t2s() -> dict[int, str]:
    try:
        import opencc  # opencc-python-reimplemented ships OpenCC's dictionaries as text
    except ImportError:
        return {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            trad, _, simp = line.rstrip("\n").partition("\t")
            simp = simp.split(" ")[0]
            if len(trad) == 1 and len(simp) == 1 and trad != simp:
                table[ord(trad)] = simp
    return table


T2S = load_t2s()
# White space that normalization would change: at either end, runs, or anything but ' '.
WS_CHANGE = re.compile(r"^\s|\s$|\s\s|[^\S ]")


def fold_char(c: str) -> str:
    return unicodedata.normalize("NFKC", c).lower().translate(T2S)


def normalize(text: str) -> tuple[str, list[int] | None]:
    """Normalized text and, when offsets moved, the original char index of each char."""
    n = unicodedata.normalize("NFKC", text)
    if len(n) == len(text):
        n = n.lower()
        if len(n) == len(text):
            n = n.translate(T2S)
            if not WS_CHANGE.search(n):
                return n, None
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        for f in fold_char(c):
            if f.isspace():
                if out and out[-1] != " ":
                    out.append(" ")
                    origin.append(i)
            else:
                out.append(f)
                origin.append(i)
    while out and out[-1] == " ":
        out.pop()
        origin.pop()
    return "".join(out), origin


def original_span(origin: list[int] | None, start: int, end: int) -> tuple[int, int]:
    if origin is None:
        return start, end
    return origin[start], origin[end - 1] + 1


def norm_phrase(p: str) -> str:
    return normalize(p)[0]


# ------------------------------------------------------------------ language

def lang_from_tag(tag: str) -> str:
    primary = re.split(r"[-_]", tag.strip())[0].lower()
    if primary in ("zh", "cmn", "yue", "chinese"):
        return "zh"
    if primary in ("en", "eng", "english"):
        return "en"
    return "other"


def is_han(c: str) -> bool:
    o = ord(c)
    return 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


def detect(text: str) -> str:
    han = latin = other = 0
    for c in text:
        if not c.isalpha():
            continue
        if is_han(c):
            han += 1
        elif c.isascii() or "\u00c0" <= c <= "\u024f":
            latin += 1
        else:
            other += 1
    if han > 0 and han * 3 >= latin and han >= other:
        return "zh"
    if latin == 0 or other > latin:
        return "other"
    return "en"  # callqa asks whatlang here; Latin text is English in this corpus


# ------------------------------------------------------------------ rule pack

SUPPORTED_KINDS = {"forbid", "require", "reward"}
IGNORED_KEYS = ("when", "negation", "boundary", "near", "all", "any", "not")


class Scorecard:
    def __init__(self, d: dict):
        self.base = d.get("base", 100)
        self.bonus_cap = d.get("bonus_cap", BONUS_CAP)
        self.fatal = set(d.get("fatal_severities", ["fatal"]))
        self.severity_points = {**SEVERITY_POINTS, **d.get("severity_points", {})}
        self.category_caps = d.get("category_caps", {})
        self.category_weights = d.get("category_weights", {})


class Rule:
    def __init__(self, index: int, d: dict, card: Scorecard):
        self.index = index
        self.id = d["id"]
        self.kind = d["kind"]
        self.category = d["category"]
        self.severity = d["severity"]
        self.speaker = d.get("speaker", "agent")
        self.lang = d.get("lang", "any")
        self.points = d.get("points", card.severity_points[self.severity])
        self.cap = d.get("cap", self.points)
        self.message = d["message"]
        self.suggestion = d.get("suggestion")
        self.phrases = d.get("phrases", [])
        self.exclude = d.get("exclude", [])
        self.regexes = [re.compile(r) for r in d.get("regex", [])]
        scope = d.get("scope", {})
        self.first_turns = scope.get("first_turns")
        self.last_turns = scope.get("last_turns")
        self.max_count = d.get("max_count", 0)
        self.min_count = d.get("min_count", 1)
        self.fatal = self.severity in card.fatal
        self.ignored = [k for k in IGNORED_KEYS if k in d] + [
            f"scope.{k}" for k in scope if k not in ("first_turns", "last_turns")]
        self.signed_points = self.points if self.kind == "reward" else -self.points

    def speaks(self, speaker: str) -> bool:
        return self.speaker == "any" or self.speaker == speaker


class Pack:
    def __init__(self, folder: Path):
        self.rules: list[Rule] = []
        card_path = folder / "scorecard.toml"
        card = {}
        if card_path.exists():
            with open(card_path, "rb") as fh:
                card = tomllib.load(fh)
        self.card = Scorecard(card)
        self.skipped: list[str] = []   # rules of kinds not implemented here
        self.approximated: dict[str, list[str]] = {}   # rule id -> condition keys ignored
        for f in sorted(folder.glob("*.toml")):
            if f.name == "scorecard.toml":
                continue
            with open(f, "rb") as fh:
                for d in tomllib.load(fh).get("rule", []):
                    rule = Rule(len(self.rules), d, self.card)
                    if rule.kind not in SUPPORTED_KINDS:
                        # Keep its place (categories, rule order) but let it never fire.
                        self.skipped.append(rule.id)
                        rule.lang = "none"
                    elif rule.ignored:
                        self.approximated[rule.id] = rule.ignored
                    self.rules.append(rule)
        custom = sorted({r.category for r in self.rules} - set(BUILTIN_CATEGORIES))
        self.categories = BUILTIN_CATEGORIES + custom
        self.cat_index = {c: i for i, c in enumerate(self.categories)}
        self.rule_cat = [self.cat_index[r.category] for r in self.rules]
        # One automaton for every phrase and exclusion; each pattern knows its users.
        self.automaton = ahocorasick.Automaton()
        uses: dict[str, list[tuple[int, bool]]] = {}
        for r in self.rules:
            for p in r.phrases:
                uses.setdefault(norm_phrase(p), []).append((r.index, False))
            for p in r.exclude:
                uses.setdefault(norm_phrase(p), []).append((r.index, True))
        for pattern, users in uses.items():
            self.automaton.add_word(pattern, (len(pattern), users))
        self.automaton.make_automaton()
        self.regex_rules = [r for r in self.rules if r.regexes]
        # For each call language, whether each rule applies.
        self.applies = {lang: [r.lang in ("any", lang) for r in self.rules] for lang in ("zh", "en", "other")}


# ------------------------------------------------------------------ one call

def check_record(line: str):
    """The call dict, or a reject reason."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"invalid JSON: {e}"
    if not isinstance(rec, dict):
        return None, "wrong field type: the record is not an object"
    for field in ("call_id", "agent_id"):
        v = rec.get(field)
        if v is None:
            return None, f"missing field `{field}`"
        if not isinstance(v, str):
            return None, f"wrong field type: `{field}`"
        if not v.strip():
            return None, f"empty field `{field}`"
    turns = rec.get("turns")
    if turns is None:
        return None, "missing field `turns`"
    if not isinstance(turns, list):
        return None, "wrong field type: `turns`"
    if not turns:
        return None, "no turns: `turns` is an empty list"
    for f in ("started_at", "channel", "language", "customer_id"):
        if rec.get(f) is not None and not isinstance(rec[f], str):
            return None, f"wrong field type: `{f}`"
    started = rec.get("started_at")
    if started is not None:
        try:
            ts = datetime.fromisoformat(started.replace("Z", "+00:00"))
            if ts.tzinfo is None or "T" not in started.upper():
                raise ValueError
            rec["_started_ms"] = int(ts.timestamp() * 1000)
        except ValueError:
            return None, f"started_at: `{started}` is not an RFC 3339 timestamp"
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            return None, f"wrong field type: turns[{i}]"
        sp = t.get("speaker")
        if sp is None:
            return None, f"turns[{i}]: missing field `speaker`"
        if sp not in SPEAKERS:
            return None, f"turns[{i}]: unknown speaker `{sp}` (expected agent, customer or system)"
        if t.get("text") is None:
            return None, f"turns[{i}]: missing field `text`"
        s, e = t.get("start_ms"), t.get("end_ms")
        if (s is not None and s < 0) or (e is not None and e < 0):
            return None, f"turns[{i}]: negative timestamp"
        if s is not None and e is not None and e < s:
            return None, f"turns[{i}]: end_ms before start_ms ({e} < {s})"
    return rec, None


def evaluate(pack: Pack, rec: dict):
    """(language, findings) — findings as (turn or None, orig_start, orig_end, rule index)."""
    turns = rec["turns"]
    normed = [normalize(t["text"]) for t in turns]
    tag = rec.get("language")
    if tag and tag.strip():
        lang = lang_from_tag(tag)
    else:
        sample, size = [], 0
        for text, _ in normed:
            if size >= 4096:
                break
            sample.append(text)
            size += len(text.encode("utf-8")) + 1
        lang = detect("\n".join(sample))
    applies = pack.applies[lang]
    rules = pack.rules

    # hits[rule] = list of (turn, start, end, exclude) in normalized offsets
    hits: dict[int, list[tuple[int, int, int, bool]]] = {}
    for ti, (turn, (text, _)) in enumerate(zip(turns, normed)):
        speaker = turn["speaker"]
        for end, (length, users) in pack.automaton.iter(text):
            for rule, excl in users:
                if applies[rule] and rules[rule].speaks(speaker):
                    hits.setdefault(rule, []).append((ti, end + 1 - length, end + 1, excl))
        for r in pack.regex_rules:
            if applies[r.index] and r.speaks(speaker):
                for rx in r.regexes:
                    for m in rx.finditer(text):
                        if m.end() > m.start():
                            hits.setdefault(r.index, []).append((ti, m.start(), m.end(), False))

    # Exclusions cancel overlapping hits of the same rule in the same turn; identical spans merge.
    kept: dict[int, list[tuple[int, int, int]]] = {}
    for rule, hs in hits.items():
        hs.sort()
        excl = [h for h in hs if h[3]]
        out = []
        for h in hs:
            if h[3]:
                continue
            if any(x[0] == h[0] and x[1] < h[2] and h[1] < x[2] for x in excl):
                continue
            if out and out[-1] == h[:3]:
                continue
            out.append(h[:3])
        if out:
            kept[rule] = out

    findings = []
    for r in rules:
        if not applies[r.index]:
            continue
        hs = kept.get(r.index, ())
        if r.kind == "require":
            if sum(1 for h in hs if in_position(r, turns, h[0])) < r.min_count:
                findings.append((None, None, None, r.index))
        else:
            if r.kind == "forbid" and r.max_count:
                hs = hs[r.max_count:]
            for ti, s, e in hs:
                os_, oe = original_span(normed[ti][1], s, e)
                findings.append((ti, os_, oe, r.index))
    findings.sort(key=lambda f: (0 if f[0] is None else f[0] + 1, (f[1], f[2]) if f[1] is not None else (-1, -1), f[3]))
    return lang, findings


def in_position(rule: Rule, turns: list, ti: int) -> bool:
    if rule.first_turns is not None:
        return sum(1 for t in turns[:ti] if rule.speaks(t["speaker"])) < rule.first_turns
    if rule.last_turns is not None:
        return sum(1 for t in turns[ti + 1:] if rule.speaks(t["speaker"])) < rule.last_turns
    return True


def score(pack: Pack, findings):
    per_rule: dict[int, int] = {}
    for f in findings:
        per_rule[f[3]] = per_rule.get(f[3], 0) + 1
    card = pack.card
    ncat = len(pack.categories)
    cat_ded, cat_bonus = [0] * ncat, [0] * ncat
    violations = rewards = 0
    auto_fail = False
    for idx, count in per_rule.items():
        r = pack.rules[idx]
        pts = min(r.points * count, r.cap)
        c = pack.rule_cat[idx]
        if r.kind == "reward":
            rewards += count
            cat_bonus[c] += pts
        else:
            violations += count
            cat_ded[c] += pts
            auto_fail |= r.fatal
    for c, name in enumerate(pack.categories):
        if name in card.category_caps:
            cat_ded[c] = min(cat_ded[c], card.category_caps[name])
    deductions = sum(cat_ded)
    bonus = min(sum(cat_bonus), card.bonus_cap)
    cats = [max(0, min(100, card.base - cat_ded[c] + min(cat_bonus[c], card.bonus_cap))) for c in range(ncat)]
    if auto_fail:
        total = 0
    elif card.category_weights:
        weights = [card.category_weights.get(name, 0) for name in pack.categories]
        wsum = sum(weights)
        total = 100 if wsum == 0 else (2 * sum(w * s for w, s in zip(weights, cats)) + wsum) // (2 * wsum)
    else:
        total = max(0, min(100, card.base - deductions + bonus))
    return total, auto_fail, deductions, bonus, cats, violations, rewards


# ------------------------------------------------------------------ run

class Agent:
    __slots__ = ("calls", "score_sum", "hist", "auto_fails", "cat_sums", "violations", "rule_violations")

    def __init__(self, ncat: int):
        self.calls = self.score_sum = self.auto_fails = self.violations = 0
        self.hist = [0] * 101
        self.cat_sums = [0] * ncat
        self.rule_violations: dict[str, int] = {}


def run(pack: Pack, inputs: list[Path], out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    ncat = len(pack.categories)
    calls = []      # (call_id, row tuple)
    findings = []   # (call_id, position, row tuple)
    agents: dict[str, Agent] = {}
    seen: dict[str, tuple[str, int]] = {}
    counts = {"read": 0, "scored": 0, "rejected": 0, "duplicates": 0, "blank_lines": 0, "findings": 0}
    rules = pack.rules
    with open(out / "rejects.jsonl", "w", encoding="utf-8") as rejects:
        def reject(path, line_no, reason, raw, call_id=None):
            counts["read"] += 1
            counts["rejected"] += 1
            row = {"file": str(path), "line": line_no, "reason": reason}
            if call_id:
                row["call_id"] = call_id
            row["raw"] = raw[:65536]
            rejects.write(json.dumps(row, ensure_ascii=False) + "\n")

        for path in inputs:
            with open(path, "rb") as fh:
                for line_no, raw in enumerate(fh, 1):
                    if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    if not raw.strip():
                        counts["blank_lines"] += 1
                        continue
                    try:
                        line = raw.decode("utf-8").rstrip("\r\n")
                    except UnicodeDecodeError as e:
                        reject(path, line_no, f"the line is not valid UTF-8 (at byte {e.start})",
                               raw.decode("utf-8", "replace").rstrip("\r\n"))
                        continue
                    rec, reason = check_record(line)
                    if rec is None:
                        reject(path, line_no, reason, line)
                        continue
                    cid = rec["call_id"]
                    if cid in seen:
                        fp, fl = seen[cid]
                        counts["duplicates"] += 1
                        reject(path, line_no, f"duplicate call_id `{cid}` (first seen at {fp}:{fl}); "
                               "this record was not scored", line, cid)
                        continue
                    seen[cid] = (str(path), line_no)
                    lang, found = evaluate(pack, rec)
                    total, auto_fail, ded, bonus, cats, viol, rew = score(pack, found)
                    counts["read"] += 1
                    counts["scored"] += 1
                    counts["findings"] += len(found)
                    agent_id = rec["agent_id"]
                    calls.append((cid, (cid, agent_id, rec.get("customer_id"), rec.get("_started_ms"),
                                        rec.get("channel"), lang, len(rec["turns"]), total, auto_fail, ded,
                                        bonus, cats, viol, rew)))
                    turns = rec["turns"]
                    for pos, (ti, s, e, ri) in enumerate(found):
                        r = rules[ri]
                        if ti is None:
                            findings.append((cid, pos, (agent_id, r, r.speaker, None, None, None, None, None, None, None)))
                        else:
                            t = turns[ti]
                            text = t["text"]
                            findings.append((cid, pos, (agent_id, r, t["speaker"], ti, t.get("start_ms"),
                                                        t.get("end_ms"), s, e, text[s:e], text)))
                    a = agents.get(agent_id)
                    if a is None:
                        a = agents[agent_id] = Agent(ncat)
                    a.calls += 1
                    a.score_sum += total
                    a.hist[total] += 1
                    a.auto_fails += auto_fail
                    for c in range(ncat):
                        a.cat_sums[c] += cats[c]
                    a.violations += viol
                    for f in found:
                        r = rules[f[3]]
                        if r.kind != "reward":
                            a.rule_violations[r.id] = a.rule_violations.get(r.id, 0) + 1
    write_tables(pack, out, calls, findings, agents)
    counts["agents"] = len(agents)
    return counts


def write_tables(pack: Pack, out: Path, calls, findings, agents) -> None:
    props = {"compression": "snappy"}
    calls.sort(key=lambda c: c[0])
    rows = [c[1] for c in calls]
    cols = {
        "call_id": pa.array([r[0] for r in rows], pa.string()),
        "agent_id": pa.array([r[1] for r in rows], pa.string()),
        "customer_id": pa.array([r[2] for r in rows], pa.string()),
        "started_at": pa.array([r[3] for r in rows], pa.timestamp("ms", tz="UTC")),
        "channel": pa.array([r[4] for r in rows], pa.string()),
        "language": pa.array([r[5] for r in rows], pa.string()),
        "turns": pa.array([r[6] for r in rows], pa.int32()),
        "score": pa.array([r[7] for r in rows], pa.int32()),
        "auto_fail": pa.array([r[8] for r in rows], pa.bool_()),
        "deductions": pa.array([r[9] for r in rows], pa.int32()),
        "bonus": pa.array([r[10] for r in rows], pa.int32()),
    }
    for i, c in enumerate(pack.categories):
        cols[f"score_{c}"] = pa.array([r[11][i] for r in rows], pa.int32())
    cols["violations"] = pa.array([r[12] for r in rows], pa.int32())
    cols["rewards"] = pa.array([r[13] for r in rows], pa.int32())
    pq.write_table(pa.table(cols), out / "calls.parquet", **props)

    findings.sort(key=lambda f: (f[0], f[1]))
    fr = [f[2] for f in findings]
    cols = {
        "call_id": pa.array([f[0] for f in findings], pa.string()),
        "agent_id": pa.array([r[0] for r in fr], pa.string()),
        "rule_id": pa.array([r[1].id for r in fr], pa.string()),
        "kind": pa.array([r[1].kind for r in fr], pa.string()),
        "category": pa.array([r[1].category for r in fr], pa.string()),
        "severity": pa.array([r[1].severity for r in fr], pa.string()),
        "speaker": pa.array([r[2] for r in fr], pa.string()),
        "turn_index": pa.array([r[3] for r in fr], pa.int32()),
        "start_ms": pa.array([r[4] for r in fr], pa.int64()),
        "end_ms": pa.array([r[5] for r in fr], pa.int64()),
        "char_start": pa.array([r[6] for r in fr], pa.int32()),
        "char_end": pa.array([r[7] for r in fr], pa.int32()),
        "matched": pa.array([r[8] for r in fr], pa.string()),
        "turn_text": pa.array([r[9] for r in fr], pa.string()),
        "points": pa.array([r[1].signed_points for r in fr], pa.int32()),
        "message": pa.array([r[1].message for r in fr], pa.string()),
        "suggestion": pa.array([r[1].suggestion for r in fr], pa.string()),
    }
    pq.write_table(pa.table(cols), out / "findings.parquet", **props)

    ids = sorted(agents)
    ag = [agents[i] for i in ids]

    def p10(a: Agent) -> int:
        rank = max(1, -(-a.calls * 10 // 100))
        seen = 0
        for s, n in enumerate(a.hist):
            seen += n
            if seen >= rank:
                return s
        return 0

    def top(a: Agent) -> list[str]:
        return [rid for rid, _ in sorted(a.rule_violations.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_RULES]]

    cols = {
        "agent_id": pa.array(ids, pa.string()),
        "calls": pa.array([a.calls for a in ag], pa.int64()),
        "mean_score": pa.array([a.score_sum / a.calls for a in ag], pa.float64()),
        "p10_score": pa.array([p10(a) for a in ag], pa.int32()),
        "auto_fail_rate": pa.array([a.auto_fails / a.calls for a in ag], pa.float64()),
    }
    for i, c in enumerate(pack.categories):
        cols[f"mean_{c}"] = pa.array([a.cat_sums[i] / a.calls for a in ag], pa.float64())
    cols["violations"] = pa.array([a.violations for a in ag], pa.int64())
    cols["violations_per_100_calls"] = pa.array([a.violations * 100 / a.calls for a in ag], pa.float64())
    cols["top_rules"] = pa.array([top(a) for a in ag], pa.list_(pa.string()))
    pq.write_table(pa.table(cols), out / "agents.parquet", **props)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("inputs", nargs="+", type=Path)
    args = ap.parse_args()
    started = time.monotonic()
    pack = Pack(args.rules)
    if pack.skipped or pack.approximated:
        print(f"baseline.py: not like-for-like with callqa: {len(pack.skipped)} rules of kinds not implemented "
              f"here are skipped ({', '.join(pack.skipped[:6])}{'…' if len(pack.skipped) > 6 else ''}); "
              f"{len(pack.approximated)} rules use condition keys ignored here "
              f"({', '.join(sorted({k for v in pack.approximated.values() for k in v}))})", file=sys.stderr)
    counts = run(pack, args.inputs, args.out)
    counts["skipped_rules"] = pack.skipped
    counts["approximated_rules"] = pack.approximated
    counts["seconds"] = round(time.monotonic() - started, 3)
    counts["t2s"] = bool(T2S)
    (args.out / "summary.json").write_text(json.dumps(counts, indent=2) + "\n")
    print(f"baseline.py: {json.dumps(counts)}", file=sys.stderr)


if __name__ == "__main__":
    main()
