//! Markdown to HTML for public pages (advisory bodies, awareness pages), safely: raw HTML in
//! the source is shown as text, never passed through; links and images keep only `http`,
//! `https` and `mailto` destinations, and paths of this site (`/report`); anything else,
//! `javascript:` and `//other.host` included, becomes plain text; images are shown as links, so a page never loads from elsewhere (the CSP would refuse
//! it anyway).

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// Largest Markdown rendered, in bytes (a bulletin body's limit).
pub const MAX_BYTES: usize = 256 * 1024;

/// Whether a link destination is one a public page may carry.
fn safe_url(url: &str) -> bool {
    let u = url.trim_start().to_ascii_lowercase();
    let own_path = u.starts_with('/') && !u.starts_with("//") && !u.contains('\\');
    own_path || u.starts_with("https://") || u.starts_with("http://") || u.starts_with("mailto:")
}

/// Render Markdown to HTML that carries no markup of the author's own and no unsafe links.
pub fn render(markdown: &str) -> String {
    let text = if markdown.len() > MAX_BYTES {
        let mut end = MAX_BYTES;
        while !markdown.is_char_boundary(end) {
            end -= 1;
        }
        &markdown[..end]
    } else {
        markdown
    };
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Links whose destination is refused are dropped with their closing tag: a stack of
    // "was this link kept" per open link or image.
    let mut kept: Vec<bool> = Vec::new();
    let events = Parser::new_ext(text, options).filter_map(move |event| match event {
        // The author's HTML is text: the writer escapes it.
        Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let ok = match link_type {
                // An autolinked address (`<x@example.org>`); the writer adds `mailto:`.
                LinkType::Email => !dest_url.contains(['<', '>', '"', ':']),
                _ => safe_url(&dest_url),
            };
            kept.push(ok);
            ok.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => kept
            .pop()
            .unwrap_or(false)
            .then_some(Event::End(TagEnd::Link)),
        // Images become links to the image (nothing is loaded from elsewhere).
        Event::Start(Tag::Image {
            dest_url, title, ..
        }) => {
            let ok = safe_url(&dest_url);
            kept.push(ok);
            ok.then_some(Event::Start(Tag::Link {
                link_type: LinkType::Inline,
                dest_url,
                title,
                id: CowStr::Borrowed(""),
            }))
        }
        Event::End(TagEnd::Image) => kept
            .pop()
            .unwrap_or(false)
            .then_some(Event::End(TagEnd::Link)),
        other => Some(other),
    });
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn markdown_renders() {
        let h = render("# Title\n\nSome **bold** and a [link](https://example.org/a?b=1&c=2).");
        assert!(h.contains("<h1>Title</h1>"), "{h}");
        assert!(h.contains("<strong>bold</strong>"));
        assert!(
            h.contains("href=\"https://example.org/a?b=1&amp;c=2\""),
            "{h}"
        );
    }

    #[test]
    fn raw_html_is_escaped() {
        for src in [
            "<script>alert(1)</script>",
            "text <img src=x onerror=alert(1)> more",
            "<div onclick=\"x()\">block</div>\n\nafter",
            "<iframe src=\"https://evil.example\"></iframe>",
        ] {
            let h = render(src);
            assert!(!h.contains("<script"), "{h}");
            assert!(!h.contains("<img"), "{h}");
            assert!(!h.contains("<div"), "{h}");
            assert!(!h.contains("<iframe"), "{h}");
            assert!(h.contains("&lt;"), "{h}");
        }
    }

    #[test]
    fn only_http_https_and_mailto_links_survive() {
        let h = render(
            "[a](javascript:alert(1)) [b](data:text/html,x) [c](mailto:x@example.org) [d](http://e.example) [e](JaVaScRiPt:x) [f](/relative) [g](//evil.example/x) [h](/\\evil.example)",
        );
        assert!(!h.to_ascii_lowercase().contains("javascript:"), "{h}");
        assert!(!h.contains("data:"), "{h}");
        assert!(h.contains("href=\"/relative\""), "{h}");
        assert!(!h.contains("evil.example"), "{h}");
        assert!(h.contains("href=\"mailto:x@example.org\""), "{h}");
        assert!(h.contains("href=\"http://e.example\""), "{h}");
        // The text of a refused link stays.
        assert!(h.contains('a') && h.contains('f'));
        let h = render("<javascript:alert(1)> <https://ok.example>");
        assert!(!h.contains("href=\"javascript"), "{h}");
        assert!(h.contains("href=\"https://ok.example\""), "{h}");
    }

    #[test]
    fn images_become_links_and_bad_images_vanish() {
        let h = render("![logo](https://example.org/logo.png) ![x](javascript:alert(1))");
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("href=\"https://example.org/logo.png\""), "{h}");
        assert!(!h.contains("javascript"), "{h}");
    }
}
