//! Turning an error and its causes into one line for the user.

/// `error` followed by its causes, separated by `: `, leaving out a cause
/// whose text the message already contains (the I/O layer's errors repeat
/// their source in their own text).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::new(crate::io::IoError::Read { file: "x.npy".into(), source: io });
        assert_eq!(describe(&e), "x.npy: cannot read: gone");
        let e = e.context("while testing");
        assert_eq!(describe(&e), "while testing: x.npy: cannot read: gone");
    }
}
