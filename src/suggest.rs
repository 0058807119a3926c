//! "Did you mean …?": the known name closest to a misspelt one.

/// The candidate closest to `word`, if it is a plausible misspelling of it (at most two
/// letters added, removed, changed or swapped, and fewer than the word has).
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2 && *d < word.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean "x"? ` for a guess, nothing without one: the start of a fix.
pub fn did_you_mean(guess: Option<&str>) -> String {
    guess
        .map(|g| format!("did you mean \"{g}\"? "))
        .unwrap_or_default()
}

/// Optimal string alignment distance: a swap of two neighbouring letters is one edit, as
/// typists make them (`cyna` → `cyan`).
fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_far_ones_not() {
        assert_eq!(closest("cyna", ["cyan", "red"]), Some("cyan"));
        assert_eq!(closest("headng", ["header", "heading"]), Some("heading"));
        assert_eq!(closest("purple", ["cyan", "red"]), None);
        assert_eq!(closest("ab", ["cd"]), None);
        // Two swaps are two edits, not four.
        assert_eq!(closest("smilpe", ["simple", "vlans"]), Some("simple"));
        assert_eq!(edit_distance("smilpe", "simple"), 2);
        assert_eq!(did_you_mean(Some("x")), "did you mean \"x\"? ");
        assert_eq!(did_you_mean(None), "");
    }
}
