//! A small XML 1.0 writer for the feeds and alerts this crate emits (Atom, CAP).
//!
//! Why not a crate: we only ever write, element and attribute names are `'static` literals of
//! our own code (so no name can be injected), and the only untrusted input is text, which needs
//! exactly two things: the five markup characters escaped, and the characters XML 1.0 forbids
//! removed. That is the whole of this module; `quick-xml` would add a reader we do not need.

/// Whether XML 1.0 allows `c` in a document (the `Char` production, §2.2), minus the C0/C1
/// controls other than tab and newline, which no feed reader shows usefully.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n')
        || (('\u{20}'..='\u{7E}').contains(&c))
        || (('\u{A0}'..='\u{D7FF}').contains(&c))
        || (('\u{E000}'..='\u{FFFD}').contains(&c))
        || c >= '\u{10000}'
}

/// `s` with every character XML 1.0 cannot carry removed; a carriage return (alone or before a
/// newline) becomes a newline, as an XML parser would read it anyway.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() != Some(&'\n') {
                out.push('\n');
            }
        } else if allowed(c) {
            out.push(c);
        }
    }
    out
}

/// Escape `s` for element content: `&`, `<` and `>` (so `]]>` can never appear), after
/// [`clean`].
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape `s` for a double-quoted attribute value: markup characters, quotes, and tab and
/// newline as character references (attribute-value normalisation would turn them into spaces).
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes one document, indented by two spaces per level.
pub struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    /// A document that starts with the XML declaration (UTF-8).
    pub fn new() -> Self {
        Self {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &'static str, attrs: &[(&'static str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape_attr(v));
            self.out.push('"');
        }
    }

    /// Open an element with children.
    pub fn open(&mut self, name: &'static str, attrs: &[(&'static str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.open.push(name);
    }

    /// Close the innermost open element.
    pub fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    /// An element holding only text.
    pub fn text(&mut self, name: &'static str, attrs: &[(&'static str, &str)], text: &str) {
        self.start_tag(name, attrs);
        self.out.push('>');
        self.out.push_str(&escape_text(text));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// An element with no content.
    pub fn empty(&mut self, name: &'static str, attrs: &[(&'static str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    /// The document, with every element still open closed.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_and_cdata_ends_cannot_appear() {
        assert_eq!(
            escape_text("a < b && c > d ]]> e"),
            "a &lt; b &amp;&amp; c &gt; d ]]&gt; e"
        );
        assert_eq!(
            escape_attr("say \"hi\" & 'bye'\tnow\n<x>"),
            "say &quot;hi&quot; &amp; &apos;bye&apos;&#9;now&#10;&lt;x&gt;"
        );
        // An entity written by someone stays text.
        assert_eq!(escape_text("&amp;"), "&amp;amp;");
    }

    #[test]
    fn characters_outside_xml_1_0_are_removed() {
        let nasty = "a\u{0}b\u{1}c\u{8}d\u{B}e\u{C}f\u{1F}g\u{7F}h\u{9F}i\u{FFFE}j\u{FFFF}k";
        assert_eq!(clean(nasty), "abcdefghijk");
        // Tab, newline, non-ASCII letters and astral characters stay.
        assert_eq!(clean("á\tñ\n€ 😀"), "á\tñ\n€ 😀");
        // Carriage returns become newlines, once.
        assert_eq!(clean("a\r\nb\rc"), "a\nb\nc");
    }

    #[test]
    fn the_writer_nests_and_closes_what_is_open() {
        let mut w = Writer::new();
        w.open("feed", &[("xmlns", "urn:x")]);
        w.text("title", &[("type", "text")], "<b>&</b>");
        w.empty("link", &[("href", "https://x.example/?a=1&b=\"2\"")]);
        let doc = w.finish();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"urn:x\">\n  \
             <title type=\"text\">&lt;b&gt;&amp;&lt;/b&gt;</title>\n  \
             <link href=\"https://x.example/?a=1&amp;b=&quot;2&quot;\"/>\n</feed>\n"
        );
    }
}
