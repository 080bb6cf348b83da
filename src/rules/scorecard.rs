//! The scorecard (`rules/scorecard.toml`): how findings become scores.
//!
//! ```toml
//! base = 100                        # a call's starting score
//! bonus_cap = 10                    # most bonus points per call, all reward rules together
//! fatal_severities = ["fatal"]      # a violation of these severities fails the call (score 0)
//! [severity_points]                 # points of a rule that does not set `points`
//! info = 0
//! minor = 2
//! major = 5
//! critical = 10
//! fatal = 0
//! [category_caps]                   # most points one category can lose in a call
//! banned_wording = 30
//! [category_weights]                # if given: the call score is the weighted mean of the
//! compliance = 3                    # category subscores instead of base − deductions + bonus
//! empathy = 1
//! ```
//!
//! Every key is optional; without a scorecard file the defaults above (minus caps and weights)
//! apply.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::model::Severity;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScorecard {
    base: Option<u32>,
    bonus_cap: Option<u32>,
    fatal_severities: Option<Vec<Severity>>,
    severity_points: Option<RawSeverityPoints>,
    #[serde(default)]
    pub(super) category_caps: BTreeMap<String, Spanned<u32>>,
    #[serde(default)]
    pub(super) category_weights: BTreeMap<String, Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeverityPoints {
    info: Option<u32>,
    minor: Option<u32>,
    major: Option<u32>,
    critical: Option<u32>,
    fatal: Option<u32>,
}

/// How findings become scores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scorecard {
    pub base: u32,
    pub bonus_cap: u32,
    pub fatal_severities: Vec<Severity>,
    /// Default points per severity, in [`Severity::ALL`] order.
    pub severity_points: [u32; 5],
    pub category_caps: BTreeMap<String, u32>,
    pub category_weights: BTreeMap<String, u32>,
}

impl Default for Scorecard {
    fn default() -> Self {
        Scorecard {
            base: 100,
            bonus_cap: 10,
            fatal_severities: vec![Severity::Fatal],
            severity_points: [0, 2, 5, 10, 0],
            category_caps: BTreeMap::new(),
            category_weights: BTreeMap::new(),
        }
    }
}

impl Scorecard {
    pub fn points_for(&self, severity: Severity) -> u32 {
        self.severity_points[severity as usize]
    }

    pub fn is_fatal(&self, severity: Severity) -> bool {
        self.fatal_severities.contains(&severity)
    }

    pub(super) fn from_raw(raw: RawScorecard) -> Scorecard {
        let default = Scorecard::default();
        let mut severity_points = default.severity_points;
        if let Some(points) = raw.severity_points {
            let given = [
                points.info,
                points.minor,
                points.major,
                points.critical,
                points.fatal,
            ];
            for (slot, value) in severity_points.iter_mut().zip(given) {
                if let Some(value) = value {
                    *slot = value;
                }
            }
        }
        let plain = |map: BTreeMap<String, Spanned<u32>>| {
            map.into_iter().map(|(k, v)| (k, v.into_inner())).collect()
        };
        Scorecard {
            base: raw.base.unwrap_or(default.base),
            bonus_cap: raw.bonus_cap.unwrap_or(default.bonus_cap),
            fatal_severities: raw.fatal_severities.unwrap_or(default.fatal_severities),
            severity_points,
            category_caps: plain(raw.category_caps),
            category_weights: plain(raw.category_weights),
        }
    }
}
