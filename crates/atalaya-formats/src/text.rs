//! Small text helpers the importers share: foreign text squeezed into a bulletin's bounded
//! fields, a Markdown body that stops growing before the bulletin limit, and a warning list
//! that stays short however many times a document repeats the same mistake.

use atalaya_core::bulletin::limits;

/// `s` as one line of at most `max` characters (control characters and runs of white space
/// become one space; a cut ends in `…`). `None` when nothing printable is left.
pub(crate) fn one_line(s: &str, max: usize) -> Option<String> {
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(clip(&words.join(" "), max))
}

/// At most `max` characters of `s`, cut with `…`.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` as a Markdown code span that cannot break out of itself: one line, no backticks,
/// at most 300 characters.
pub(crate) fn code(s: &str) -> String {
    let line = one_line(&s.replace('`', "'"), 300).unwrap_or_default();
    format!("`{line}`")
}

/// The room a body leaves for its last lines (the note saying what was left out).
const BODY_RESERVE: usize = 1024;

/// A Markdown body that refuses lines once it is about to exceed the bulletin's limit, and
/// says how many it left out.
#[derive(Debug, Default, Clone)]
pub(crate) struct Body {
    text: String,
    omitted: usize,
}

impl Body {
    /// Append a line (a newline is added). Returns whether it fitted.
    pub(crate) fn line(&mut self, line: &str) -> bool {
        if self.text.len() + line.len() + 1 > limits::BODY_BYTES - BODY_RESERVE {
            self.omitted += 1;
            return false;
        }
        self.text.push_str(line);
        self.text.push('\n');
        true
    }

    /// Whether the body is close to full (a caller batching items should start a new one).
    pub(crate) fn nearly_full(&self) -> bool {
        self.text.len() > limits::BODY_BYTES / 4 * 3
    }

    /// Lines left out so far.
    #[cfg(test)]
    pub(crate) fn omitted(&self) -> usize {
        self.omitted
    }

    /// The text, with a closing note when lines were left out.
    pub(crate) fn finish(mut self) -> String {
        if self.omitted > 0 {
            self.text.push_str(&format!(
                "\n_{} more lines were left out: the bulletin body is limited to {} KiB._\n",
                self.omitted,
                limits::BODY_BYTES / 1024
            ));
        }
        self.text
    }
}

/// Most distinct warnings kept; later ones are counted.
const MAX_WARNINGS: usize = 200;

/// Warnings without repetition and without end: the first [`MAX_WARNINGS`] distinct ones
/// are kept, the rest counted.
#[derive(Debug, Default, Clone)]
pub(crate) struct Warnings {
    list: Vec<String>,
    seen: std::collections::HashSet<String>,
    dropped: usize,
}

impl Warnings {
    /// Note a warning (ignored if already noted).
    pub(crate) fn push(&mut self, w: impl Into<String>) {
        let w = w.into();
        if self.seen.contains(&w) {
            return;
        }
        if self.list.len() >= MAX_WARNINGS {
            self.dropped += 1;
            return;
        }
        self.seen.insert(w.clone());
        self.list.push(w);
    }

    /// The warnings, with a last one counting those left out.
    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list
                .push(format!("{} more warnings were left out", self.dropped));
        }
        self.list
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_line_squeezes_and_cuts() {
        assert_eq!(one_line("  a\n\tb  c ", 10).unwrap(), "a b c");
        assert_eq!(one_line("abcdef", 4).unwrap(), "abc…");
        assert_eq!(one_line("ab cdef", 4).unwrap().chars().count(), 4);
        assert_eq!(one_line(" \n", 4), None);
        assert_eq!(code("a`b\nc"), "`a'b c`");
    }

    #[test]
    fn body_stops_before_the_limit() {
        let mut b = Body::default();
        let line = "x".repeat(10_000);
        while b.line(&line) {}
        assert!(b.line("a short line still fits"));
        assert_eq!(b.omitted(), 1);
        let text = b.finish();
        assert!(text.len() <= limits::BODY_BYTES);
        assert!(text.contains("1 more lines"));
    }

    #[test]
    fn warnings_are_unique_and_bounded() {
        let mut w = Warnings::default();
        w.push("a");
        w.push("a");
        for i in 0..300 {
            w.push(format!("w{i}"));
        }
        let list = w.finish();
        assert_eq!(list.len(), MAX_WARNINGS + 1);
        assert_eq!(list[0], "a");
        assert!(list.last().unwrap().starts_with("101 more"));
    }
}
