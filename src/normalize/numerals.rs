//! Numbers as ASR writes them: digits ("24"), Chinese numerals ("二十四", "两", "一万二"),
//! digit-by-digit readings ("幺三八", "二零二六") and the financial forms ("贰拾").
//!
//! Rule phrases use them through placeholders (see [`Template`]): `{num}` stands for any number
//! in either script, `{num:1-72}` for one in a range, and `{duration}` for a number with a time
//! unit ("两小时", "24 hours"), so one phrase covers every way a time bound is said.

/// The characters of a Chinese numeral, in normalized (Simplified) form.
pub const CHINESE_NUMERAL_CHARS: &str =
    "零〇一二两三四五六七八九十百千万亿幺壹贰叁肆伍陆柒捌玖拾佰仟";

/// The value of a Chinese digit character.
fn digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// The multiplier of a unit character within a section (below 万).
fn small_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        _ => return None,
    })
}

/// Parses a number written in digits or Chinese numerals; `None` when `text` is not one.
///
/// ```
/// use callqa::normalize::numerals::parse_number;
/// assert_eq!(parse_number("二十四"), Some(24.0));
/// assert_eq!(parse_number("两"), Some(2.0));
/// assert_eq!(parse_number("2.5"), Some(2.5));
/// assert_eq!(parse_number("一万二"), Some(12000.0));
/// assert_eq!(parse_number("幺三八"), Some(138.0));
/// assert_eq!(parse_number("十十"), None);
/// ```
pub fn parse_number(text: &str) -> Option<f64> {
    if text.is_empty() {
        return None;
    }
    if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return text.parse().ok();
    }
    if text
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '-' || c == ' ')
    {
        return parse_english(text).map(|n| n as f64);
    }
    let has_units = text
        .chars()
        .any(|c| small_unit(c).is_some() || c == '万' || c == '亿');
    if !has_units {
        // Read digit by digit: "二零二六", "幺三八".
        return text
            .chars()
            .try_fold(0u64, |n, c| n.checked_mul(10)?.checked_add(digit(c)?))
            .map(|n| n as f64);
    }
    parse_positional(text).map(|n| n as f64)
}

/// "一万二千零五" = 12005: sections split by 亿 and 万, each of digit–unit pairs.
fn parse_positional(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut section: u64 = 0;
    let mut pending: Option<u64> = None; // a digit waiting for its unit
    let mut last_unit: u64 = 1; // the unit of the previous pair, for "一万二" / "三百五"
    let mut prev_was_unit = false;
    for c in text.chars() {
        if let Some(d) = digit(c) {
            if pending.is_some() && d != 0 {
                return None; // two digits in a row inside a positional number
            }
            pending = if d == 0 { pending } else { Some(d) };
            if d == 0 {
                last_unit = 10; // after 零 a lone digit is units: "一百零五"
            }
            prev_was_unit = false;
        } else if let Some(unit) = small_unit(c) {
            if prev_was_unit {
                return None;
            }
            // A leading "十" means "一十".
            let d = pending
                .take()
                .unwrap_or(if section == 0 && total == 0 { 1 } else { 0 });
            if d == 0 {
                return None;
            }
            section = section.checked_add(d.checked_mul(unit)?)?;
            last_unit = unit;
            prev_was_unit = true;
        } else if c == '万' || c == '亿' {
            let big = if c == '万' { 10_000 } else { 100_000_000 };
            section = section.checked_add(pending.take().unwrap_or(0))?;
            if section == 0 && total == 0 {
                return None;
            }
            total = total.checked_add(section)?.checked_mul(big)?;
            section = 0;
            last_unit = big;
            prev_was_unit = true;
        } else {
            return None;
        }
    }
    if let Some(d) = pending {
        // A trailing digit after a unit is one place lower: "三百五" = 350, "一万二" = 12000.
        let place = if prev_was_unit || last_unit > 1 {
            (last_unit / 10).max(1)
        } else {
            1
        };
        section = section.checked_add(d.checked_mul(place)?)?;
    }
    total.checked_add(section)
}

/// English number words below twenty, by value.
const ENGLISH_SMALL: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

/// English tens from twenty, by value / 10 - 2.
const ENGLISH_TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// "twenty-four" = 24, "two" = 2, "a" / "an" = 1 ("within an hour").
fn parse_english(text: &str) -> Option<u64> {
    if text == "a" || text == "an" {
        return Some(1);
    }
    let small = |w: &str| ENGLISH_SMALL.iter().position(|s| *s == w).map(|n| n as u64);
    let tens = |w: &str| {
        ENGLISH_TENS
            .iter()
            .position(|s| *s == w)
            .map(|n| (n as u64 + 2) * 10)
    };
    match text.split_once(['-', ' ']) {
        Some((t, u)) => Some(tens(t)? + small(u).filter(|&n| (1..10).contains(&n))?),
        None => small(text).or_else(|| tens(text)),
    }
}

/// A regex for a number in digits, Chinese numerals or English words (checked by
/// [`parse_number`] after).
pub(crate) fn number_regex() -> String {
    let tens = ENGLISH_TENS.join("|");
    let mut small: Vec<&str> = ENGLISH_SMALL.to_vec();
    // Longest first, so "fourteen" is not read as "four".
    small.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let small = small.join("|");
    format!(
        "(?:[0-9]+(?:\\.[0-9]+)?|[{CHINESE_NUMERAL_CHARS}]+|\\b(?:(?:{tens})(?:[- ](?:{small}))?|{small}|an?)\\b)"
    )
}

/// Time units after a number, in normalized text, longest first so the regex prefers them.
const DURATION_UNITS: &[&str] = &[
    "个工作日",
    "个小时",
    "个钟头",
    "个星期",
    "个月",
    "工作日",
    "小时",
    "钟头",
    "分钟",
    "星期",
    "秒钟",
    "天",
    "日",
    "周",
    "秒",
    "business days",
    "business day",
    "working days",
    "working day",
    "minutes",
    "minute",
    "hours",
    "hour",
    "days",
    "day",
    "weeks",
    "week",
    "mins",
    "hrs",
];

/// A part of a phrase template.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Literal(String),
    /// A number, optionally within an inclusive range.
    Number(Option<(f64, f64)>),
    /// A number followed by a time unit, or "半小时" / "半天".
    Duration,
}

/// A phrase with placeholders: `{num}`, `{num:MIN-MAX}`, `{duration}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

impl Template {
    /// Whether `phrase` uses placeholders (otherwise it is a plain phrase).
    pub fn is_template(phrase: &str) -> bool {
        phrase.contains('{')
    }

    /// Parses a phrase template; the error says what is wrong with a placeholder.
    pub fn parse(phrase: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = phrase;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("unclosed `{{` in {phrase:?}"));
            };
            parts.push(placeholder(&rest[open + 1..open + close])?);
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        if !parts
            .iter()
            .any(|p| matches!(p, Part::Literal(l) if !l.trim().is_empty()))
        {
            return Err(format!(
                "{phrase:?} is only placeholders: give some words around them"
            ));
        }
        Ok(Template { parts })
    }

    /// The regex that finds the template in normalized text; literal parts are given through
    /// `normalize` first. Placeholders are capture groups `n0`, `n1`… (numbers to check).
    pub fn to_regex(&self, normalize: &dyn Fn(&str) -> String) -> String {
        let mut re = String::new();
        let mut group = 0;
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                // Normalized text has at most one space where the phrase had any or none.
                re.push_str(" ?");
            }
            match part {
                Part::Literal(text) => re.push_str(&regex::escape(&normalize(text))),
                Part::Number(_) => {
                    re.push_str(&format!("(?P<n{group}>{})", number_regex()));
                    group += 1;
                }
                Part::Duration => {
                    let units: Vec<String> =
                        DURATION_UNITS.iter().map(|u| regex::escape(u)).collect();
                    re.push_str(&format!(
                        "(?:(?P<n{group}>{}) ?(?:{})|半个?(?:小时|钟头)|半天)",
                        number_regex(),
                        units.join("|")
                    ));
                    group += 1;
                }
            }
        }
        re
    }

    /// The ranges of the numbers, by capture group (`None`: any value).
    pub fn bounds(&self) -> Vec<Option<(f64, f64)>> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Number(range) => Some(*range),
                Part::Duration => Some(None),
                Part::Literal(_) => None,
            })
            .collect()
    }
}

fn placeholder(inner: &str) -> Result<Part, String> {
    let inner = inner.trim();
    if inner == "num" {
        return Ok(Part::Number(None));
    }
    if inner == "duration" {
        return Ok(Part::Duration);
    }
    if let Some(range) = inner.strip_prefix("num:") {
        let bounds = range.split_once('-').and_then(|(lo, hi)| {
            Some((
                lo.trim().parse::<f64>().ok()?,
                hi.trim().parse::<f64>().ok()?,
            ))
        });
        return match bounds {
            Some((lo, hi)) if lo <= hi => Ok(Part::Number(Some((lo, hi)))),
            _ => Err(format!(
                "`{{{inner}}}`: write a range as {{num:MIN-MAX}}, e.g. {{num:1-48}}"
            )),
        };
    }
    Err(format!(
        "unknown placeholder `{{{inner}}}`: use {{num}}, {{num:MIN-MAX}} or {{duration}}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_table() {
        let cases = [
            ("24", Some(24.0)),
            ("2.5", Some(2.5)),
            ("两", Some(2.0)),
            ("十", Some(10.0)),
            ("十五", Some(15.0)),
            ("二十四", Some(24.0)),
            ("一百零五", Some(105.0)),
            ("三百五", Some(350.0)),
            ("三千", Some(3000.0)),
            ("一万二", Some(12000.0)),
            ("一万二千零五", Some(12005.0)),
            ("两亿", Some(200_000_000.0)),
            ("二零二六", Some(2026.0)),
            ("幺三八", Some(138.0)),
            ("贰拾", Some(20.0)),
            ("〇", Some(0.0)),
            ("十十", None),
            ("二三十", None),
            ("万", None),
            ("", None),
            ("abc", None),
            ("two", Some(2.0)),
            ("twenty-four", Some(24.0)),
            ("an", Some(1.0)),
            ("twenty-zero", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_number(text), want, "{text:?}");
        }
    }

    #[test]
    fn template_table() {
        let ok = [
            ("{num}小时内", 2),
            ("within {duration}", 2),
            ("在{num:1-48}小时内", 3),
        ];
        for (phrase, parts) in ok {
            assert_eq!(
                Template::parse(phrase).unwrap().parts.len(),
                parts,
                "{phrase}"
            );
        }
        for bad in [
            "{number}小时",
            "{num:48-1}小时",
            "{num",
            "{num}",
            "{num:a-b}天",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duration_regex_covers_spoken_and_written_forms() {
        let t = Template::parse("{duration}内").unwrap();
        let re = regex::Regex::new(&t.to_regex(&|s| s.to_string())).unwrap();
        for text in [
            "两小时内",
            "2小时内",
            "二十四小时内",
            "24 小时内",
            "半个小时内",
            "三个工作日内",
        ] {
            assert!(re.is_match(text), "{text}");
        }
        let en = Template::parse("within {duration}").unwrap();
        let en = regex::Regex::new(&en.to_regex(&|s| s.to_string())).unwrap();
        for text in [
            "within two business days",
            "within an hour",
            "within 48 hrs",
        ] {
            assert!(en.is_match(text), "{text}");
        }
        assert!(!en.is_match("within someone days"));
        for text in ["马上解决", "一会儿内"] {
            assert!(!re.is_match(text), "{text}");
        }
    }
}
