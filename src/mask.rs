//! Masking personal data in text that leaves the engine (finding context, reports, exports).
//!
//! Matching always runs on the unmasked text; only output is masked. What is masked, keeping
//! the kind and the last four characters:
//!
//! | kind | recognised | masked as |
//! |---|---|---|
//! | mainland ID number | 17 digits + check character, ISO 7064 MOD 11-2 checksum valid | `[身份证 ****123X]` |
//! | mobile number | `1[3-9]` + 9 digits, with spaces/dashes, optional `+86` | `[手机号 ****3186]` |
//! | bank card number | 16–19 digits, Luhn valid, with spaces/dashes | `[银行卡 ****6789]` |
//! | email address | `name@domain.tld` | `[邮箱 ****@domain.tld]` |
//!
//! Digits spoken as Chinese numerals in ASR text ("幺三八一二三四五六七八") are read as digits
//! and masked by the same rules. A digit string that is none of these (an order number, a
//! wrong checksum) is left as it is.
//!
//! ```
//! use callqa::mask::mask;
//! assert_eq!(mask("请拨打13812343186"), "请拨打[手机号 ****3186]");
//! assert_eq!(mask("卡号 6222 0212 3456 7894"), "卡号 [银行卡 ****7894]");
//! ```

use std::sync::OnceLock;

use regex::Regex;

/// Spoken Chinese digits, as ASR writes them.
const SPOKEN_DIGITS: [(char, char); 12] = [
    ('零', '0'),
    ('〇', '0'),
    ('幺', '1'),
    ('一', '1'),
    ('二', '2'),
    ('两', '2'),
    ('三', '3'),
    ('四', '4'),
    ('五', '5'),
    ('六', '6'),
    ('七', '7'),
    ('八', '8'),
];

fn patterns() -> &'static (Regex, Regex, Regex) {
    static PATTERNS: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // These patterns are constants; a failure to compile is a bug caught by every test.
        let email =
            Regex::new(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
                .expect("email pattern compiles");
        let digits = Regex::new(r"(?:\+\s?)?[0-9０-９](?:[\s-]?[0-9０-９]){6,22}(?:[\s-]?[Xx])?")
            .expect("digit pattern compiles");
        let spoken = Regex::new(
            r"[零〇幺一二两三四五六七八九](?:[\s，,、-]?[零〇幺一二两三四五六七八九]){6,22}",
        )
        .expect("spoken digit pattern compiles");
        (email, digits, spoken)
    })
}

/// A span of the input and the text that replaces it.
struct Replacement {
    start: usize,
    end: usize,
    with: String,
}

/// `text` with every recognised piece of personal data replaced.
pub fn mask(text: &str) -> String {
    mask_spans(text, &mut [])
}

/// Masks `text` and moves each byte span in `spans` to where its text ends up (a span that
/// touches a masked piece grows to cover the mask).
pub fn mask_spans(text: &str, spans: &mut [(usize, usize)]) -> String {
    let replacements = find(text);
    if replacements.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    // (original offset, masked offset) at each replacement's start and end.
    let mut anchors = Vec::with_capacity(replacements.len() * 2);
    for r in &replacements {
        out.push_str(&text[last..r.start]);
        anchors.push((r.start, out.len(), true));
        out.push_str(&r.with);
        anchors.push((r.end, out.len(), false));
        last = r.end;
    }
    out.push_str(&text[last..]);
    for span in spans.iter_mut() {
        *span = (
            moved(span.0, &replacements, &anchors, true),
            moved(span.1, &replacements, &anchors, false),
        );
    }
    out
}

/// Masks `text` and cuts it into pieces for display: each piece is either plain (no marks) or
/// covered by the listed `spans` (byte ranges of the original text, by index); overlapping
/// spans merge into one piece that lists them all.
pub fn marked_pieces(text: &str, spans: &[(usize, usize)]) -> Vec<(String, Vec<usize>)> {
    let mut moved = spans.to_vec();
    let masked = mask_spans(text, &mut moved);
    let mut order: Vec<usize> = (0..moved.len()).collect();
    order.sort_by_key(|&i| (moved[i], i));
    let mut merged: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for i in order {
        let (s, e) = moved[i];
        match merged.last_mut() {
            Some(last) if s < last.1 => {
                last.1 = last.1.max(e);
                last.2.push(i);
            }
            _ => merged.push((s, e, vec![i])),
        }
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    for (s, e, marks) in merged {
        if s > at {
            pieces.push((masked[at..s].to_string(), Vec::new()));
        }
        pieces.push((masked[s..e].to_string(), marks));
        at = e;
    }
    if at < masked.len() {
        pieces.push((masked[at..].to_string(), Vec::new()));
    }
    pieces
}

/// Where original offset `at` lands in the masked text; inside a replacement it snaps to the
/// replacement's start (for a span start) or end (for a span end).
fn moved(
    at: usize,
    replacements: &[Replacement],
    anchors: &[(usize, usize, bool)],
    start: bool,
) -> usize {
    let mut shift: isize = 0;
    for (i, r) in replacements.iter().enumerate() {
        if at <= r.start {
            break;
        }
        if at < r.end {
            return if start {
                anchors[2 * i].1
            } else {
                anchors[2 * i + 1].1
            };
        }
        shift = anchors[2 * i + 1].1 as isize - r.end as isize;
    }
    (at as isize + shift) as usize
}

fn find(text: &str) -> Vec<Replacement> {
    let (email, digits, spoken) = patterns();
    let mut found: Vec<Replacement> = Vec::new();
    for caps in email.captures_iter(text) {
        let (Some(all), Some(domain)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        found.push(Replacement {
            start: all.start(),
            end: all.end(),
            with: format!("[邮箱 ****@{}]", domain.as_str()),
        });
    }
    for m in digits.find_iter(text).chain(spoken.find_iter(text)) {
        if found.iter().any(|r| r.start < m.end() && m.start() < r.end)
            || glued_to_digits(text, m.start(), m.end())
        {
            continue;
        }
        if let Some(with) = classify(&digits_of(m.as_str())) {
            found.push(Replacement {
                start: m.start(),
                end: m.end(),
                with,
            });
        }
    }
    found.sort_by_key(|r| r.start);
    found
}

/// A digit run that continues into more digits is part of something longer (not masked alone).
fn glued_to_digits(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit())
}

/// The digits (and a final X) of a matched run, separators and `+` dropped, full-width and
/// spoken digits read as ASCII.
fn digits_of(run: &str) -> String {
    run.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            'X' | 'x' => Some('X'),
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '九' => Some('9'),
            _ => SPOKEN_DIGITS.iter().find(|(s, _)| *s == c).map(|(_, d)| *d),
        })
        .collect()
}

fn classify(digits: &str) -> Option<String> {
    let last4 = |s: &str| s[s.len().saturating_sub(4)..].to_string();
    let national = digits
        .strip_prefix("86")
        .filter(|rest| rest.len() == 11)
        .unwrap_or(digits);
    if is_mobile(national) {
        return Some(format!("[手机号 ****{}]", last4(national)));
    }
    if is_id_number(digits) {
        return Some(format!("[身份证 ****{}]", last4(digits)));
    }
    if (16..=19).contains(&digits.len()) && !digits.contains('X') && luhn_valid(digits) {
        return Some(format!("[银行卡 ****{}]", last4(digits)));
    }
    None
}

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && !d.contains('X')
}

/// An 18-character mainland ID number whose last character is its ISO 7064 MOD 11-2 check.
pub fn is_id_number(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

/// The Luhn check of a card number.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_table() {
        let cases = [
            // mobile numbers
            ("电话13812343186", "电话[手机号 ****3186]"),
            ("电话 138 1234 3186 好", "电话 [手机号 ****3186] 好"),
            ("电话138-1234-3186", "电话[手机号 ****3186]"),
            ("+86 13812343186", "[手机号 ****3186]"),
            ("+8613812343186", "[手机号 ****3186]"),
            ("12812343186", "12812343186"), // 12x is not a mobile prefix
            ("1381234318", "1381234318"),   // 10 digits
            ("138123431861", "138123431861"), // 12 digits, not Luhn-16
            // ID numbers (checksum verified)
            ("身份证11010519491231002X", "身份证[身份证 ****002X]"),
            ("身份证110105194912310021", "身份证110105194912310021"), // wrong check digit
            ("id 440524188001010014", "id [身份证 ****0014]"),
            // bank cards (Luhn)
            ("卡号6222021234567894", "卡号[银行卡 ****7894]"),
            ("卡号 6222 0212 3456 7894", "卡号 [银行卡 ****7894]"),
            ("卡号6222021234567895", "卡号6222021234567895"), // Luhn fails
            ("4111111111111111", "[银行卡 ****1111]"),
            // email
            (
                "mail me at zhang.san@example.com.",
                "mail me at [邮箱 ****@example.com].",
            ),
            ("not@an-email", "not@an-email"),
            // spoken digits in ASR text
            (
                "我的手机是幺三八幺二三四三幺八六",
                "我的手机是[手机号 ****3186]",
            ),
            ("一二三四五六", "一二三四五六"), // too short to be anything
            // plain text and short numbers stay
            ("订单号20231121共3件", "订单号20231121共3件"),
            ("您好，很高兴为您服务", "您好，很高兴为您服务"),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), want, "{input}");
        }
    }

    #[test]
    fn spans_follow_the_masking() {
        let text = "电话13812343186，我保证";
        let promise = text.find("保证").unwrap();
        let phone = text.find("138").unwrap();
        let mut spans = [(promise, promise + 6), (phone + 3, phone + 6)];
        let masked = mask_spans(text, &mut spans);
        assert_eq!(&masked[spans[0].0..spans[0].1], "保证");
        assert_eq!(&masked[spans[1].0..spans[1].1], "[手机号 ****3186]");
    }

    #[test]
    fn checks() {
        assert!(is_id_number("11010519491231002X"));
        assert!(!is_id_number("11010519491231002Y"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
    }
}
