//! "Did you mean `V14`?": the known field an unknown one is most plausibly a typo of.

use super::FEATURE_NAMES;

pub(super) fn suggest_field(unknown: &str) -> Option<&'static str> {
    let optional = ["Time", "transaction_id"];
    let candidates = FEATURE_NAMES.iter().chain(optional.iter()).copied();
    let lower = unknown.trim().to_ascii_lowercase();
    // The edit distance is at least the difference in length, and no candidate is over 14 characters.
    if lower.chars().nth(16).is_some() {
        return None;
    }
    if let Some(exact) = candidates.clone().find(|c| c.to_ascii_lowercase() == lower) {
        return Some(exact);
    }
    candidates
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 1 || (*d <= 2 && c.len() > 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
