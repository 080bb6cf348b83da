//! The report's trend section: each agent's daily mean score over the last 30 days as an inline
//! SVG sparkline, and the agents who moved most.
//!
//! "Moved" compares an agent's mean score on the run's date with their calls-weighted mean over
//! the earlier days of the window: one number per agent that a supervisor can check by hand
//! against `agents_daily.parquet`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::daily::DailyRow;
use super::{Day, TREND_DAYS};
use crate::report::escape;
use crate::score::AgentStats;

/// How many agents each of "most improved" and "most declined" lists.
const MOVERS: usize = 5;

/// One agent's days in the window: day index (0 = oldest) → (calls, mean score).
type Series = BTreeMap<i64, (i64, f64)>;

/// An agent's change: today's mean minus the calls-weighted mean of the earlier days.
#[derive(Clone, Debug, PartialEq)]
pub struct Mover {
    pub agent_id: String,
    pub before: f64,
    pub today: f64,
    pub change: f64,
}

fn series(
    date: Day,
    history: &[DailyRow],
    today: &BTreeMap<String, AgentStats>,
) -> BTreeMap<String, Series> {
    let first = date.0 - chrono::Duration::days(TREND_DAYS - 1);
    let mut all: BTreeMap<String, Series> = BTreeMap::new();
    for row in history {
        let index = (row.date.0 - first).num_days();
        if (0..TREND_DAYS - 1).contains(&index) {
            all.entry(row.agent_id.clone())
                .or_default()
                .insert(index, (row.calls, row.mean_score));
        }
    }
    for (agent, stats) in today {
        all.entry(agent.clone())
            .or_default()
            .insert(TREND_DAYS - 1, (stats.calls as i64, stats.mean_score()));
    }
    all
}

/// Agents with a score today and on an earlier day, by change (largest rise first).
pub fn movers(all: &BTreeMap<String, Series>) -> Vec<Mover> {
    let mut movers: Vec<Mover> = all
        .iter()
        .filter_map(|(agent, days)| {
            let &(_, today) = days.get(&(TREND_DAYS - 1))?;
            let earlier: Vec<(i64, f64)> = days.range(..TREND_DAYS - 1).map(|(_, v)| *v).collect();
            let calls: i64 = earlier.iter().map(|(c, _)| c).sum();
            (calls > 0).then(|| {
                let before = earlier.iter().map(|(c, m)| *c as f64 * m).sum::<f64>() / calls as f64;
                Mover {
                    agent_id: agent.clone(),
                    before,
                    today,
                    change: today - before,
                }
            })
        })
        .collect();
    movers.sort_by(|a, b| {
        b.change
            .total_cmp(&a.change)
            .then(a.agent_id.cmp(&b.agent_id))
    });
    movers
}

/// The `<section id=trends>` of a partition's report.
pub fn section(date: Day, history: &[DailyRow], today: &BTreeMap<String, AgentStats>) -> String {
    let all = series(date, history, today);
    let mut page = String::new();
    let first = date.0 - chrono::Duration::days(TREND_DAYS - 1);
    let scale = Scale::of(&all);
    let _ = write!(
        page,
        "<section id=trends><h2>Trends, {} to {date}</h2>",
        (first + chrono::Duration::days(scale.first_day)).format("%Y-%m-%d")
    );
    if history.is_empty() {
        page.push_str("<p class=hint>No earlier nights in this output root within 30 days: trends appear from the second night on.</p></section>");
        return page;
    }
    let movers = movers(&all);
    page.push_str("<p class=hint>Change: the agent's mean score tonight minus their mean over the earlier days shown (weighted by calls).</p><div class=movers>");
    movers_list(
        &mut page,
        "Most improved",
        movers.iter().filter(|m| m.change > 0.0),
    );
    movers_list(
        &mut page,
        "Most declined",
        movers.iter().rev().filter(|m| m.change < 0.0),
    );
    let _ = write!(
        page,
        "</div><table class=trends><thead><tr><th>agent</th><th>mean score per day ({:.0}–100; red: tonight)</th><th>days</th><th>tonight</th><th>change</th></tr></thead><tbody>",
        scale.low
    );
    let change: BTreeMap<&str, f64> = movers
        .iter()
        .map(|m| (m.agent_id.as_str(), m.change))
        .collect();
    for (agent, days) in &all {
        let tonight = days
            .get(&(TREND_DAYS - 1))
            .map_or("—".to_string(), |(_, m)| format!("{m:.1}"));
        let delta = change
            .get(agent.as_str())
            .map_or("—".to_string(), |c| format!("{c:+.1}"));
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{tonight}</td><td>{delta}</td></tr>",
            escape(agent),
            sparkline(agent, days, first, &scale),
            days.len()
        );
    }
    page.push_str("</tbody></table></section>");
    page
}

fn movers_list<'a>(page: &mut String, title: &str, movers: impl Iterator<Item = &'a Mover>) {
    let _ = write!(page, "<div><h3>{title}</h3><ol>");
    let mut any = false;
    for m in movers.take(MOVERS) {
        any = true;
        let _ = write!(
            page,
            "<li><b>{}</b> {:+.1} <span class=hint>({:.1} → {:.1})</span></li>",
            escape(&m.agent_id),
            m.change,
            m.before,
            m.today
        );
    }
    if !any {
        page.push_str("<li class=hint>none</li>");
    }
    page.push_str("</ol></div>");
}

/// The axes shared by every agent's sparkline, so their lines compare at a glance: days from
/// the earliest one with data in the window to tonight, scores from a round floor to 100.
struct Scale {
    first_day: i64,
    low: f64,
}

impl Scale {
    fn of(all: &BTreeMap<String, Series>) -> Scale {
        let first_day = all
            .values()
            .filter_map(|days| days.keys().next().copied())
            .min()
            .unwrap_or(TREND_DAYS - 1);
        let lowest = all
            .values()
            .flat_map(|days| days.values().map(|(_, mean)| *mean))
            .fold(100.0_f64, f64::min);
        // At most 50, so small moves near the top are not blown up into cliffs.
        let low = ((lowest / 10.0).floor() * 10.0).clamp(0.0, 50.0);
        Scale { first_day, low }
    }
}

/// An inline SVG of one agent's daily means; hovering a point names its day.
fn sparkline(agent: &str, days: &Series, first: chrono::NaiveDate, scale: &Scale) -> String {
    let (width, height, pad) = (360.0, 60.0, 5.0);
    let span = (TREND_DAYS - 1 - scale.first_day).max(1) as f64;
    let x = |i: i64| pad + (i - scale.first_day) as f64 * (width - 2.0 * pad) / span;
    let y = |score: f64| {
        let share = (score.clamp(scale.low, 100.0) - scale.low) / (100.0 - scale.low);
        pad + (1.0 - share) * (height - 2.0 * pad)
    };
    let mut svg = format!(
        "<svg class=spark role=img aria-label=\"{} daily mean score\" width={width} height={height} viewBox=\"0 0 {width} {height}\">",
        escape(agent)
    );
    let middle = (scale.low + 100.0) / 2.0;
    for level in [scale.low, middle, 100.0] {
        let _ = write!(
            svg,
            "<line class=grid x1={pad} x2={0} y1={1:.1} y2={1:.1} />",
            width - pad,
            y(level)
        );
    }
    let points: Vec<String> = days
        .iter()
        .map(|(i, (_, m))| format!("{:.1},{:.1}", x(*i), y(*m)))
        .collect();
    let _ = write!(svg, "<polyline points=\"{}\" />", points.join(" "));
    for (i, (calls, mean)) in days {
        let day = first + chrono::Duration::days(*i);
        let class = if *i == TREND_DAYS - 1 { "today" } else { "day" };
        let _ = write!(
            svg,
            "<circle class={class} cx={:.1} cy={:.1} r=3.5><title>{}: {mean:.1} ({calls} calls)</title></circle>",
            x(*i),
            y(*mean),
            day.format("%Y-%m-%d")
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: &str, agent: &str, calls: i64, mean: f64) -> DailyRow {
        DailyRow {
            date: Day::parse(date).unwrap(),
            agent_id: agent.into(),
            calls,
            mean_score: mean,
            auto_fail_rate: 0.0,
            categories: Vec::new(),
        }
    }

    #[test]
    fn movers_compare_tonight_with_the_weighted_earlier_mean() {
        let date = Day::parse("2026-11-25").unwrap();
        let history = [
            row("2026-11-23", "a", 1, 60.0),
            row("2026-11-24", "a", 3, 80.0),
            row("2026-11-24", "b", 2, 90.0),
            // Outside the 30-day window: ignored.
            row("2026-10-01", "b", 100, 0.0),
        ];
        let mut all = series(date, &history, &BTreeMap::new());
        all.get_mut("a").unwrap().insert(TREND_DAYS - 1, (2, 95.0));
        all.get_mut("b").unwrap().insert(TREND_DAYS - 1, (2, 70.0));
        let movers = movers(&all);
        assert_eq!(movers[0].agent_id, "a");
        assert!((movers[0].before - 75.0).abs() < 1e-9);
        assert!((movers[0].change - 20.0).abs() < 1e-9);
        assert_eq!(movers[1].agent_id, "b");
        assert!((movers[1].change + 20.0).abs() < 1e-9);
    }

    #[test]
    fn the_section_escapes_agent_ids_and_has_one_point_per_day() {
        let date = Day::parse("2026-11-25").unwrap();
        let history = [
            row("2026-11-24", "<x>", 1, 50.0),
            row("2026-11-20", "<x>", 1, 40.0),
        ];
        let html = section(date, &history, &BTreeMap::new());
        assert!(html.contains("&lt;x&gt;") && !html.contains("<x>"));
        assert_eq!(html.matches("<circle").count(), 2);
    }
}
