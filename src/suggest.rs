//! "Did you mean …?": the known name closest to a misspelt one.

/// The candidate closest to `word`, if it is a plausible misspelling of it (at most two
/// letters added, removed or changed, and fewer than the word has).
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

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j] + 1).min(row[j + 1] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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
        assert_eq!(did_you_mean(Some("x")), "did you mean \"x\"? ");
        assert_eq!(did_you_mean(None), "");
    }
}
