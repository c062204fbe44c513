//! Text matching shared by fit rules and event property conditions.

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

#[cfg(test)]
mod tests {
    use super::contains_phrase;

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
}
