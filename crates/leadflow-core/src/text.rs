//! Text matching shared by fit rules and event property conditions, and text made safe to print.

use std::fmt::Write;

/// Whether `phrase` (already lower-case) occurs in `haystack_lower` as a whole-word phrase:
/// bounded on each side by the text's ends or by a character other than `a-z0-9`.
/// So "cto" matches "CTO, co-founder" but not "Director".
pub fn contains_phrase(haystack_lower: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    let is_word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    haystack_lower.match_indices(phrase).any(|(start, _)| {
        let before = haystack_lower[..start].chars().next_back();
        let after = haystack_lower[start + phrase.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// [`contains_phrase`] for any-case text: `phrase` is lower-case. ASCII text (nearly all of it)
/// is compared in place; other text is lower-cased first, as Unicode lower-casing can change its
/// length.
pub fn contains_phrase_any_case(haystack: &str, phrase: &str) -> bool {
    if !haystack.is_ascii() {
        return contains_phrase(&haystack.to_lowercase(), phrase);
    }
    let (h, p) = (haystack.as_bytes(), phrase.as_bytes());
    if p.is_empty() || p.len() > h.len() {
        return false;
    }
    let is_word = |b: u8| b.is_ascii_alphanumeric();
    (0..=h.len() - p.len()).any(|start| {
        h[start..start + p.len()].eq_ignore_ascii_case(p)
            && (start == 0 || !is_word(h[start - 1]))
            && h.get(start + p.len()).is_none_or(|b| !is_word(*b))
    })
}

/// Whether `text` equals `lower` (lower-case) ignoring case, without allocating for ASCII text.
pub fn eq_any_case(text: &str, lower: &str) -> bool {
    if text.is_ascii() { text.eq_ignore_ascii_case(lower) } else { text.to_lowercase() == lower }
}

/// `s` for a terminal or a log line: control characters (newlines too: output is one line per item), NUL and the
/// characters that reorder text (bidirectional overrides and isolates) escaped as `\u{..}`.
/// Text from the outside world is stored as sent and printed through this.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
    };
    if !s.chars().any(escaped) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if escaped(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::{contains_phrase, contains_phrase_any_case, eq_any_case, printable};

    #[test]
    fn any_case_agrees_with_lower_casing_first() {
        let phrases = ["cto", "vice president", "head of", "/pricing", "é", "straße"];
        let texts =
            ["CTO", "Vice President Sales", "Director", "HEAD OF IT", "/Pricing/x", "Élan é-CTO", "STRASSE", "Straße"];
        for t in texts {
            for p in phrases {
                assert_eq!(contains_phrase_any_case(t, p), contains_phrase(&t.to_lowercase(), p), "{t:?} {p:?}");
            }
            assert!(eq_any_case(t, &t.to_lowercase()));
        }
        assert!(!eq_any_case("Banking", "bank"));
    }

    #[test]
    fn whole_words_only() {
        assert!(contains_phrase("cto", "cto"));
        assert!(contains_phrase("cto, co-founder", "cto"));
        assert!(!contains_phrase("director", "cto"));
        assert!(contains_phrase("vice president sales", "vice president"));
        assert!(!contains_phrase("vice presidential", "vice president"));
        assert!(contains_phrase("head of operations", "head of"));
        assert!(contains_phrase("/pricing/enterprise", "/pricing"));
        assert!(!contains_phrase("/pricingpage", "/pricing"));
        // A later occurrence can match when an earlier one is inside a word.
        assert!(contains_phrase("actor cto", "cto"));
        assert!(!contains_phrase("", "cto"));
        assert!(contains_phrase("é-cto", "cto"));
    }

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert_eq!(printable("Ana Ruiz, Straße 5, 职位"), "Ana Ruiz, Straße 5, 职位");
        assert_eq!(printable("a\u{1b}[31mb\u{0}c"), "a\\u{1b}[31mb\\u{0}c");
        assert_eq!(printable("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
        assert_eq!(printable("Head of\nOperations"), "Head of\\nOperations");
    }
}
