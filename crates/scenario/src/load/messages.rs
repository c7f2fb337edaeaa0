//! The YAML parser's messages, said in the terms of a scenario file.

/// Rewrites a parser message (position already stripped) into what went
/// wrong and what to do.
pub(super) fn in_user_terms(message: &str) -> (String, String) {
    const HELP: &str = "see scenarios/README.md for the keys a scenario file may use";
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return (
            format!("the key '{key}' appears twice in the same place"),
            "keep one of them: a later value would silently replace the earlier".into(),
        );
    }
    for (kind, range) in [
        ("u64", "0 to 18446744073709551615"),
        ("u32", "0 to 4294967295"),
        ("i64", "-9223372036854775808 to 9223372036854775807"),
        ("u8", "0 to 255"),
    ] {
        if message.starts_with(&format!("invalid {kind}")) {
            return (
                format!("expected a whole number from {range} here"),
                "write digits only, without quotes, sign or decimal point".into(),
            );
        }
    }
    if message.contains("untagged enum") {
        return (
            "this value has neither of the shapes allowed here".into(),
            HELP.into(),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        return (format!("wrong kind of value: {rest}"), HELP.into());
    }
    (message.to_owned(), HELP.into())
}

#[cfg(test)]
mod tests {
    use super::in_user_terms;

    #[test]
    fn parser_words_become_scenario_words() {
        let (m, h) = in_user_terms(
            "duplicate mapping key: peers, set DuplicateKeyPolicy in Options if acceptable",
        );
        assert_eq!(m, "the key 'peers' appears twice in the same place");
        assert!(!h.contains("DuplicateKeyPolicy") && !m.contains("DuplicateKeyPolicy"));
        let (m, _) = in_user_terms("invalid u64");
        assert_eq!(
            m,
            "expected a whole number from 0 to 18446744073709551615 here"
        );
    }
}
