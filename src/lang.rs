//! Language of a call: the record's own `language` when given, else detected with whatlang.

use crate::input::Call;
use crate::normalize::NormText;

/// The languages rules are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Zh,
    En,
    Other,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Zh, Language::En, Language::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
            Language::Other => "other",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Reads a BCP 47-ish tag: `zh`, `zh-Hant`, `zh_TW`, `cmn`, `yue` → zh; `en-GB` → en.
    pub fn from_tag(tag: &str) -> Language {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "zh" | "cmn" | "yue" | "chinese" => Language::Zh,
            "en" | "eng" | "english" => Language::En,
            _ => Language::Other,
        }
    }
}

/// How much of a call's text is enough to tell its language.
const SAMPLE_BYTES: usize = 4096;

/// The language of `call`, given its normalized turns.
pub fn call_language(call: &Call, turns: &[NormText]) -> Language {
    if let Some(tag) = call.language.as_deref().filter(|t| !t.trim().is_empty()) {
        return Language::from_tag(tag.trim());
    }
    let mut sample = String::new();
    for turn in turns {
        if sample.len() >= SAMPLE_BYTES {
            break;
        }
        sample.push_str(turn.as_str());
        sample.push('\n');
    }
    detect(&sample)
}

/// Detects zh / en / other in normalized text.
///
/// Han characters carry a word each where Latin letters carry a fraction of one, so a Chinese
/// turn with an English word ("OK", "APP") is still Chinese: Han text counts three-fold. Latin
/// text goes to whatlang among the languages a contact center meets; short Latin text that
/// whatlang cannot tell reliably is taken as English, the only Latin language of the packs.
pub fn detect(text: &str) -> Language {
    let (mut han, mut latin, mut other) = (0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if is_han(c) {
            han += 1;
        } else if c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) {
            latin += 1;
        } else {
            other += 1;
        }
    }
    if han > 0 && han * 3 >= latin && han >= other {
        return Language::Zh;
    }
    if latin == 0 || other > latin {
        return Language::Other;
    }
    let detector = whatlang::Detector::with_allowlist(LATIN_CANDIDATES.to_vec());
    match detector.detect(text) {
        Some(info) if info.lang() != whatlang::Lang::Eng && info.is_reliable() => Language::Other,
        _ => Language::En,
    }
}

/// The English (Latin-script) words of a Chinese turn — "ok", "app", "refund" — when the turn
/// mixes them with Chinese; empty for a turn in one script. Single letters do not count (a
/// card "A" class, an "x" for times), nor do digits.
///
/// ```
/// use callqa::lang::mixed_words;
/// assert_eq!(mixed_words("ok，我在app上申请refund了"), ["ok", "app", "refund"]);
/// assert!(mixed_words("您好，请问有什么可以帮您").is_empty());
/// assert!(mixed_words("thank you for calling").is_empty());
/// ```
pub fn mixed_words(text: &str) -> Vec<&str> {
    if !text.chars().any(is_han) {
        return Vec::new();
    }
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .collect()
}

const LATIN_CANDIDATES: [whatlang::Lang; 8] = {
    use whatlang::Lang::*;
    [Eng, Spa, Fra, Deu, Por, Ita, Vie, Ind]
};

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_turn_table() {
        let cases: [(&str, &[&str]); 6] = [
            ("ok 好的，我看一下app", &["ok", "app"]),
            ("我要refund", &["refund"]),
            ("您好，请问有什么可以帮您", &[]),
            ("i want a refund", &[]),
            ("a卡还款100元", &[]),
            ("", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(mixed_words(text), want, "{text}");
        }
    }

    #[test]
    fn tags() {
        for (tag, want) in [
            ("zh", Language::Zh),
            ("zh-Hant", Language::Zh),
            ("ZH_tw", Language::Zh),
            ("en-GB", Language::En),
            ("fr", Language::Other),
        ] {
            assert_eq!(Language::from_tag(tag), want, "{tag}");
        }
    }

    #[test]
    fn detection() {
        assert_eq!(
            detect("您好，很高兴为您服务，请问有什么可以帮您"),
            Language::Zh
        );
        assert_eq!(
            detect("thank you for calling, how can i help you today"),
            Language::En
        );
        assert_eq!(detect("i promise"), Language::En);
        assert_eq!(detect("ok 好的，我看一下app"), Language::Zh);
        assert_eq!(detect("こんにちは、よろしくお願いします"), Language::Other);
        assert_eq!(
            detect(
                "bonjour madame, je voudrais annuler ma commande parce que le colis est arrivé cassé et personne ne répond au téléphone"
            ),
            Language::Other
        );
    }
}
