//! `report.html`: one self-contained page for supervisors — run summary, score distribution,
//! agents, top rules, and the calls to review first with their transcripts and highlighted
//! findings. No external scripts, fonts or styles; every piece of transcript text is masked
//! and HTML-escaped. The page holds no wall-clock time, so it is byte-identical between runs.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write;

use crate::engine::Engine;
use crate::input::Speaker;
use crate::mask;
use crate::output::{Counts, ScoredCall};
use crate::score::AgentStats;

/// Calls shown in the review queue.
pub const QUEUE_SIZE: usize = 30;

/// Calls at or below this score (and every auto-failed call) keep their transcript for the
/// review queue.
pub const QUEUE_SCORE: i32 = 85;

/// A call in the review queue, with its transcript.
#[derive(Clone, Debug)]
pub struct QueueCall {
    pub call: ScoredCall,
    pub turns: Vec<(Speaker, String)>,
}

impl QueueCall {
    /// Highest risk first (see `queue`; repeat contact is not known yet), then by id.
    fn priority(&self, other: &QueueCall) -> Ordering {
        other
            .call
            .row
            .risk
            .cmp(&self.call.row.risk)
            .then_with(|| self.call.row.call_id.cmp(&other.call.row.call_id))
    }
}

/// What the report gathers while the run folds calls in.
#[derive(Default)]
pub struct ReportBuilder {
    /// Calls with scores 0–9, 10–19, …, 90–99, 100.
    histogram: [u64; 11],
    rule_violations: BTreeMap<usize, u64>,
    queue: Vec<QueueCall>,
    /// Extra sections (the nightly trends), shown after the agents table.
    sections: String,
}

impl ReportBuilder {
    pub fn add(
        &mut self,
        engine: &Engine,
        call: &ScoredCall,
        turns: Option<Vec<(Speaker, String)>>,
    ) {
        self.histogram[(call.score.score.clamp(0, 100) / 10) as usize] += 1;
        for f in call.findings.iter().filter(|f| f.counts()) {
            if !engine.pack().rules()[f.rule].is_reward() {
                *self.rule_violations.entry(f.rule).or_default() += 1;
            }
        }
        if let Some(turns) = turns {
            self.queue.push(QueueCall {
                call: call.clone(),
                turns,
            });
            if self.queue.len() > 2 * QUEUE_SIZE {
                self.trim();
            }
        }
    }

    fn trim(&mut self) {
        self.queue.sort_by(|a, b| a.priority(b));
        self.queue.truncate(QUEUE_SIZE);
    }

    /// Adds an HTML section (already escaped) shown after the agents table.
    pub fn add_section(&mut self, html: String) {
        self.sections.push_str(&html);
    }

    /// The whole page.
    pub fn render(
        mut self,
        engine: &Engine,
        counts: &Counts,
        agents: &BTreeMap<String, AgentStats>,
    ) -> String {
        self.trim();
        let mut page = String::with_capacity(64 * 1024);
        page.push_str(HEAD);
        let pack = engine.pack();
        let _ = write!(
            page,
            "<header><h1>callqa — quality inspection report</h1><p class=meta>callqa {} · rule pack {} ({} rules, sha256 {}…)</p></header>",
            env!("CARGO_PKG_VERSION"),
            escape(&pack.dir().display().to_string()),
            pack.rules().len(),
            &pack.sha256()[..12]
        );
        summary(&mut page, counts, agents);
        histogram(&mut page, &self.histogram);
        agents_table(&mut page, engine, agents);
        page.push_str(&self.sections);
        top_rules(&mut page, engine, &self.rule_violations);
        queue(&mut page, engine, &self.queue);
        page.push_str(TAIL);
        page
    }
}

fn summary(page: &mut String, counts: &Counts, agents: &BTreeMap<String, AgentStats>) {
    let auto_fails: u64 = agents.values().map(|a| a.auto_fails).sum();
    let score_sum: i64 = agents.values().map(|a| a.score_sum).sum();
    let mean = if counts.scored == 0 {
        0.0
    } else {
        score_sum as f64 / counts.scored as f64
    };
    let _ = write!(
        page,
        "<section id=summary><h2>Run</h2><dl>\
<dt>Calls scored</dt><dd>{}</dd><dt>Records rejected</dt><dd>{} ({} duplicates)</dd>\
<dt>Agents</dt><dd>{}</dd><dt>Mean score</dt><dd>{mean:.1}</dd>\
<dt>Auto-failed calls</dt><dd>{auto_fails}</dd><dt>Violations</dt><dd>{}</dd><dt>Rewards</dt><dd>{}</dd></dl></section>",
        counts.scored,
        counts.rejected,
        counts.duplicates,
        agents.len(),
        counts.violations,
        counts.rewards
    );
}

fn histogram(page: &mut String, bins: &[u64; 11]) {
    let max = bins.iter().copied().max().unwrap_or(0).max(1);
    let (width, height, bar, top) = (560, 180, 44, 16);
    let _ = write!(
        page,
        "<section id=distribution><h2>Score distribution</h2><svg role=img aria-label=\"score distribution\" width={width} height={} viewBox=\"0 0 {width} {}\">",
        height + top + 40,
        height + top + 40
    );
    for (i, &n) in bins.iter().enumerate() {
        let h = (n as f64 / max as f64 * height as f64).round() as u64;
        let x = 10 + i * (bar + 6);
        let label = if i == 10 {
            "100".to_string()
        } else {
            format!("{}–{}", i * 10, i * 10 + 9)
        };
        let _ = write!(
            page,
            "<rect class=bar x={x} y={} width={bar} height={h}><title>{label}: {n} calls</title></rect>\
<text x={} y={} class=count>{n}</text><text x={} y={} class=axis>{label}</text>",
            top + height - h,
            x + bar / 2,
            top + height - h - 4,
            x + bar / 2,
            top + height + 16
        );
    }
    page.push_str("</svg></section>");
}

fn agents_table(page: &mut String, engine: &Engine, agents: &BTreeMap<String, AgentStats>) {
    let categories = engine.pack().categories();
    page.push_str("<section id=agents><h2>Agents</h2><p class=hint>Click a column to sort.</p><table class=sortable><thead><tr><th>agent</th><th>calls</th><th>mean</th><th>p10</th><th>auto-fail</th>");
    for c in categories {
        let _ = write!(page, "<th>{}</th>", escape(c));
    }
    page.push_str("<th>violations / 100 calls</th><th>top rules</th></tr></thead><tbody>");
    for (id, a) in agents {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.1}%</td>",
            escape(id),
            a.calls,
            a.mean_score(),
            a.p10_score(),
            a.auto_fail_rate() * 100.0
        );
        for i in 0..categories.len() {
            let _ = write!(page, "<td>{:.1}</td>", a.category_mean(i));
        }
        let _ = write!(
            page,
            "<td>{:.1}</td><td>{}</td></tr>",
            a.violations_per_100_calls(),
            escape(&a.top_rules(3).join(", "))
        );
    }
    page.push_str("</tbody></table></section>");
}

fn top_rules(page: &mut String, engine: &Engine, counts: &BTreeMap<usize, u64>) {
    let mut rows: Vec<(usize, u64)> = counts.iter().map(|(&r, &n)| (r, n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    page.push_str("<section id=rules><h2>Most violated rules</h2><table><thead><tr><th>rule</th><th>category</th><th>severity</th><th>violations</th><th>message</th><th>say instead</th></tr></thead><tbody>");
    for (index, n) in rows.into_iter().take(15) {
        let rule = &engine.pack().rules()[index];
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{n}</td><td>{}</td><td>{}</td></tr>",
            escape(&rule.id),
            escape(&rule.category),
            rule.severity.as_str(),
            escape(&rule.message),
            escape(rule.suggestion.as_deref().unwrap_or(""))
        );
    }
    page.push_str("</tbody></table></section>");
}

fn queue(page: &mut String, engine: &Engine, queue: &[QueueCall]) {
    let _ = write!(
        page,
        "<section id=queue><h2>Review queue</h2><p class=hint>The {} calls to review first, by risk (auto-fail, low score, an angry customer left without empathy{}). Highlighted text is what a rule matched; personal data is masked.</p>",
        queue.len(),
        if engine.review_model().is_some() {
            "; the findings weighed by how likely reviewers confirm them"
        } else {
            ""
        }
    );
    for (i, q) in queue.iter().enumerate() {
        let row = &q.call.row;
        let _ = write!(
            page,
            "<details class=call{}><summary><b>{}</b> · agent {} · score {}{} · {} violations · risk {}: {}</summary><ol class=findings>",
            if i < 3 { " open" } else { "" },
            escape(&row.call_id),
            escape(&row.agent_id),
            q.call.score.score,
            if q.call.score.auto_fail {
                " · <span class=fail>AUTO-FAIL</span>"
            } else {
                ""
            },
            q.call.score.violations,
            row.risk,
            escape(&row.risk_reasons.join("; "))
        );
        // Findings a reviewer overturned (run --overrides) are left out of the report.
        for f in q.call.findings.iter().filter(|f| f.counts()) {
            let rule = &engine.pack().rules()[f.rule];
            let place = f
                .turn
                .map_or("whole call".to_string(), |t| format!("turn {t}"));
            // With a review model: how likely reviewers confirm it (what weighed the risk).
            let confidence = f
                .confidence
                .as_ref()
                .map_or(String::new(), |(c, _)| format!(", confidence {c:.2}"));
            let _ = write!(
                page,
                "<li class={}><b>{}</b> ({}, {}{}) {}{}{}</li>",
                if rule.is_reward() { "good" } else { "bad" },
                escape(&rule.id),
                rule.severity.as_str(),
                place,
                confidence,
                escape(&rule.message),
                f.detail
                    .as_deref()
                    .map_or(String::new(), |d| format!(" — {}", escape(d))),
                rule.suggestion
                    .as_deref()
                    .map_or(String::new(), |s| format!(
                        " <i>say instead: {}</i>",
                        escape(s)
                    ))
            );
        }
        page.push_str("</ol><div class=transcript>");
        for (t, (speaker, text)) in q.turns.iter().enumerate() {
            let spans: Vec<(usize, usize, String)> = q
                .call
                .findings
                .iter()
                .filter(|f| f.turn == Some(t as u32) && f.counts())
                .filter_map(|f| {
                    let (s, e) = (f.char_start? as usize, f.char_end? as usize);
                    let rule = &engine.pack().rules()[f.rule];
                    Some((
                        byte_at(text, s),
                        byte_at(text, e),
                        format!("{}: {}", rule.id, rule.message),
                    ))
                })
                .collect();
            let _ = write!(
                page,
                "<p class={}><span class=who>{}</span> {}</p>",
                speaker.as_str(),
                speaker.as_str(),
                highlighted(text, spans)
            );
        }
        page.push_str("</div></details>");
    }
    page.push_str("</section>");
}

/// Byte offset of character `n` in `text`.
fn byte_at(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

/// The text masked and escaped, with each span (byte offsets in `text`) in a `<mark>`.
fn highlighted(text: &str, spans: Vec<(usize, usize, String)>) -> String {
    let ranges: Vec<(usize, usize)> = spans.iter().map(|s| (s.0, s.1)).collect();
    let mut out = String::new();
    for (piece, marks) in mask::marked_pieces(text, &ranges) {
        if marks.is_empty() {
            out.push_str(&escape(&piece));
        } else {
            let titles: Vec<&str> = marks.iter().map(|&i| spans[i].2.as_str()).collect();
            let _ = write!(
                out,
                "<mark title=\"{}\">{}</mark>",
                escape(&titles.join("\n")),
                escape(&piece)
            );
        }
    }
    out
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>callqa report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC",sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;color:#1d2329;background:#fafbfc}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:1px solid #d8dee4;padding-bottom:.3rem;margin-top:2rem}
.meta,.hint{color:#57606a;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1.5rem}dt{color:#57606a}dd{margin:0;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:#fff}th,td{border:1px solid #d8dee4;padding:.3rem .5rem;text-align:left}
th{background:#f0f3f6;cursor:pointer;user-select:none}tbody tr:nth-child(even){background:#f8f9fa}
svg .bar{fill:#4a7bd0}svg text{font-size:11px;text-anchor:middle;fill:#1d2329}
details.call{background:#fff;border:1px solid #d8dee4;border-radius:6px;margin:.6rem 0;padding:.4rem .8rem}
summary{cursor:pointer}.fail{color:#fff;background:#cf222e;border-radius:3px;padding:0 .3rem;font-size:.8rem}
ol.findings li.bad{color:#82071e}ol.findings li.good{color:#116329}
.transcript p{margin:.25rem 0;line-height:1.5}.who{display:inline-block;min-width:5.5rem;color:#57606a;font-size:.8rem}
p.customer{padding-left:1.5rem}mark{background:#ffd33d;border-radius:2px}
.movers{display:flex;gap:3rem}.movers h3{font-size:.95rem;margin:.5rem 0 .2rem}table.trends td{vertical-align:middle}
svg.spark polyline{fill:none;stroke:#4a7bd0;stroke-width:1.5}svg.spark .grid{stroke:#d8dee4;stroke-dasharray:3 3}
svg.spark circle.day{fill:#4a7bd0}svg.spark circle.today{fill:#cf222e}
</style></head><body>
"#;

const TAIL: &str = r#"<script>
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.dataset.dir !== "asc";
    th.dataset.dir = up ? "asc" : "desc";
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent, y = b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return up ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighting_escapes_and_masks() {
        let text = "<script>alert(1)</script>我保证，电话13812343186";
        let start = text.find("保证").unwrap();
        let html = highlighted(text, vec![(start, start + 6, "OP-1: \"promise\"".into())]);
        assert_eq!(
            html,
            "&lt;script&gt;alert(1)&lt;/script&gt;我<mark title=\"OP-1: &quot;promise&quot;\">保证</mark>，电话[手机号 ****3186]"
        );
    }

    #[test]
    fn overlapping_marks_merge() {
        let html = highlighted("abcdef", vec![(1, 3, "A".into()), (2, 5, "B".into())]);
        assert_eq!(html, "a<mark title=\"A\nB\">bcde</mark>f");
    }
}
