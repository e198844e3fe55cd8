//! "Did you mean ...?" suggestions by edit distance.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (word.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn finds_a_close_spelling_and_ignores_far_ones() {
        let names = ["cidr_block", "vpc_id", "tags"];
        assert_eq!(
            nearest("cidr_blok", names.iter().copied()),
            Some("cidr_block")
        );
        assert_eq!(nearest("enable_everything", names.iter().copied()), None);
    }
}
