//! Atom 1.0 (RFC 4287): the feed of a node's public advisories, and the document model the CAP
//! index feed ([`crate::cap::index_feed`]) is written with.
//!
//! Only what the caller already decided is public goes in: the web layer takes the bulletins
//! from `Federation::public_bulletins` (TLP:CLEAR, embargo over, not retracted). These functions
//! add nothing the bulletin does not say, and every string goes through the crate's XML
//! escaping, so a title such as `</title><script>` stays text.
//!
//! One entry per bulletin: id `urn:uuid:<id>`, title, published (when it became public: its
//! creation, or the end of its embargo), updated (the same: a bulletin never changes; a revision
//! is a new bulletin), the summary, the Markdown body as `type="text"` content, categories for
//! kind, severity, `TLP:CLEAR`, sectors and countries, and links to the portal page
//! `/advisories/{id}`, to the CAP alert of an attack warning, to the CSAF document when there is
//! one, and to the bulletin's references.

use atalaya_core::Timestamp;
use atalaya_core::bulletin::{Bulletin, Severity};

use crate::xml::Writer;

/// The media type feeds are served with.
pub const MEDIA_TYPE: &str = "application/atom+xml; charset=utf-8";
/// The Atom namespace.
pub const NAMESPACE: &str = "http://www.w3.org/2005/Atom";

/// Category scheme of the bulletin kind (`attack-warning`, `vulnerability-advisory`, ...).
pub const SCHEME_KIND: &str = "urn:atalaya:bulletin-kind";
/// Category scheme of the severity (`info` ... `critical`).
pub const SCHEME_SEVERITY: &str = "urn:atalaya:severity";
/// Category scheme of the sharing label (term `TLP:CLEAR`): FIRST's TLP 2.0 definition.
pub const SCHEME_TLP: &str = "https://www.first.org/tlp/";
/// Category scheme of the critical-infrastructure sectors (keys of `data/sectors.csv`).
pub const SCHEME_SECTOR: &str = "urn:atalaya:sector";
/// Category scheme of the affected countries (ISO 3166-1 alpha-2).
pub const SCHEME_COUNTRY: &str = "urn:atalaya:country";

/// An Atom person construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Name (required).
    pub name: String,
    /// A web page about them.
    pub uri: Option<String>,
    /// An e-mail address.
    pub email: Option<String>,
}

/// An Atom link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Relation: `alternate`, `self`, `related`, `enclosure`, `via`.
    pub rel: &'static str,
    /// The target.
    pub href: String,
    /// The target's media type.
    pub media_type: Option<&'static str>,
    /// A human-readable title.
    pub title: Option<String>,
}

impl Link {
    /// A link with a relation and a media type.
    pub fn new(rel: &'static str, href: impl Into<String>, media_type: &'static str) -> Self {
        Self {
            rel,
            href: href.into(),
            media_type: Some(media_type),
            title: None,
        }
    }
}

/// An Atom category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// The term.
    pub term: String,
    /// The scheme the term belongs to.
    pub scheme: &'static str,
    /// A human-readable label.
    pub label: Option<String>,
}

/// One Atom entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A permanent, absolute IRI.
    pub id: String,
    /// Title, plain text.
    pub title: String,
    /// Last significant change.
    pub updated: Timestamp,
    /// First made available.
    pub published: Option<Timestamp>,
    /// Authors (the feed's author applies when empty).
    pub authors: Vec<Person>,
    /// Summary, plain text.
    pub summary: Option<String>,
    /// Content, plain text (`type="text"`; Markdown is shown as written, never as HTML).
    pub content: Option<String>,
    /// Categories.
    pub categories: Vec<Category>,
    /// Links; an entry without content must have a `rel="alternate"` one.
    pub links: Vec<Link>,
    /// Rights statement.
    pub rights: Option<String>,
}

/// An Atom feed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// A permanent, absolute IRI.
    pub id: String,
    /// Title, plain text.
    pub title: String,
    /// Subtitle, plain text.
    pub subtitle: Option<String>,
    /// Last significant change of the feed.
    pub updated: Timestamp,
    /// The feed's author (applies to entries without one).
    pub author: Person,
    /// Links (`self` and `alternate` at least).
    pub links: Vec<Link>,
    /// The entries, newest first.
    pub entries: Vec<Entry>,
}

/// An Atom date (RFC 3339, UTC).
pub fn date(t: Timestamp) -> String {
    t.to_string()
}

fn person(w: &mut Writer, element: &'static str, p: &Person) {
    w.open(element, &[]);
    w.text("name", &[], &p.name);
    if let Some(uri) = &p.uri {
        w.text("uri", &[], uri);
    }
    if let Some(email) = &p.email {
        w.text("email", &[], email);
    }
    w.close();
}

fn link(w: &mut Writer, l: &Link) {
    let mut attrs: Vec<(&'static str, &str)> = vec![("rel", l.rel), ("href", &l.href)];
    if let Some(t) = l.media_type {
        attrs.push(("type", t));
    }
    if let Some(t) = &l.title {
        attrs.push(("title", t));
    }
    w.empty("link", &attrs);
}

fn category(w: &mut Writer, c: &Category) {
    let mut attrs: Vec<(&'static str, &str)> = vec![("term", &c.term), ("scheme", c.scheme)];
    if let Some(l) = &c.label {
        attrs.push(("label", l));
    }
    w.empty("category", &attrs);
}

impl Feed {
    /// The feed as an XML document.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        w.open("feed", &[("xmlns", NAMESPACE)]);
        w.text("id", &[], &self.id);
        w.text("title", &[("type", "text")], &self.title);
        if let Some(s) = &self.subtitle {
            w.text("subtitle", &[("type", "text")], s);
        }
        w.text("updated", &[], &date(self.updated));
        person(&mut w, "author", &self.author);
        w.text("generator", &[], "Atalaya");
        for l in &self.links {
            link(&mut w, l);
        }
        for e in &self.entries {
            w.open("entry", &[]);
            w.text("id", &[], &e.id);
            w.text("title", &[("type", "text")], &e.title);
            w.text("updated", &[], &date(e.updated));
            if let Some(p) = e.published {
                w.text("published", &[], &date(p));
            }
            for a in &e.authors {
                person(&mut w, "author", a);
            }
            for c in &e.categories {
                category(&mut w, c);
            }
            for l in &e.links {
                link(&mut w, l);
            }
            if let Some(r) = &e.rights {
                w.text("rights", &[("type", "text")], r);
            }
            if let Some(s) = &e.summary {
                w.text("summary", &[("type", "text")], s);
            }
            if let Some(c) = &e.content {
                w.text("content", &[("type", "text")], c);
            }
            w.close();
        }
        w.finish()
    }
}

/// The node whose feed it is.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The node's public base URL, without a trailing slash (`https://atalaya.example.cl`).
    pub base_url: &'a str,
    /// The team that runs it (the feed's author).
    pub name: &'a str,
}

impl Site<'_> {
    /// The portal page of a bulletin.
    pub fn advisory_url(&self, id: uuid::Uuid) -> String {
        format!("{}/advisories/{id}", self.base_url)
    }

    /// The CAP alert of a bulletin.
    pub fn cap_url(&self, id: uuid::Uuid) -> String {
        format!("{}/feeds/cap/{id}.xml", self.base_url)
    }
}

/// One public bulletin for the advisories feed.
#[derive(Debug, Clone, Copy)]
pub struct Advisory<'a> {
    /// The bulletin (the caller has checked it is public).
    pub bulletin: &'a Bulletin,
    /// The name of the team that issued it.
    pub author: &'a str,
    /// Where its CSAF document is served, when it has one.
    pub csaf_url: Option<&'a str>,
}

/// When a bulletin became public: its creation, or the end of its embargo if that is later.
pub fn public_since(b: &Bulletin) -> Timestamp {
    match b.embargo_until {
        Some(t) if t > b.created => t,
        _ => b.created,
    }
}

/// The wire name of a severity.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The rights statement of every public entry.
pub const RIGHTS: &str = "TLP:CLEAR: recipients may share this information without restriction.";

/// The entry of one public bulletin.
pub fn advisory_entry(site: &Site<'_>, item: &Advisory<'_>) -> Entry {
    let b = item.bulletin;
    let c = &b.content;
    let mut categories = vec![
        Category {
            term: c.kind.as_str().to_owned(),
            scheme: SCHEME_KIND,
            label: None,
        },
        Category {
            term: severity_name(c.severity).to_owned(),
            scheme: SCHEME_SEVERITY,
            label: None,
        },
        Category {
            term: b.tlp.label().to_owned(),
            scheme: SCHEME_TLP,
            label: None,
        },
    ];
    for s in &c.sectors {
        categories.push(Category {
            term: s.clone(),
            scheme: SCHEME_SECTOR,
            label: atalaya_core::directory::vocab::sector(s).map(|v| v.name.clone()),
        });
    }
    for country in &c.countries {
        categories.push(Category {
            term: country.as_str().to_owned(),
            scheme: SCHEME_COUNTRY,
            label: atalaya_core::member_states::by_code(country.as_str())
                .map(|m| m.name_en.clone()),
        });
    }
    let mut links = vec![Link::new("alternate", site.advisory_url(b.id), "text/html")];
    if crate::alert::is_alert(c.kind) {
        links.push(Link {
            title: Some("CAP 1.2 alert".into()),
            ..Link::new(
                "alternate",
                site.cap_url(b.id),
                crate::alert::CAP_MEDIA_TYPE,
            )
        });
    }
    if let Some(csaf) = item.csaf_url {
        links.push(Link {
            title: Some("CSAF 2.0 advisory".into()),
            ..Link::new("alternate", csaf, "application/json")
        });
    }
    for r in &c.references {
        links.push(Link {
            rel: "related",
            href: r.clone(),
            media_type: None,
            title: None,
        });
    }
    let since = public_since(b);
    Entry {
        id: format!("urn:uuid:{}", b.id),
        title: c.title.clone(),
        updated: since,
        published: Some(since),
        authors: vec![Person {
            name: item.author.to_owned(),
            uri: None,
            email: None,
        }],
        summary: Some(c.summary.clone()),
        content: (!c.body.trim().is_empty()).then(|| c.body.clone()),
        categories,
        links,
        rights: Some(RIGHTS.to_owned()),
    }
}

/// The node's Atom feed of public advisories, served at `/feeds/advisories.atom`. `items` come
/// newest first; `updated` is the last change of the set (the newest entry, or a later
/// retraction that removed one).
pub fn advisories(site: &Site<'_>, items: &[Advisory<'_>], updated: Timestamp) -> String {
    let self_url = format!("{}/feeds/advisories.atom", site.base_url);
    Feed {
        id: self_url.clone(),
        title: format!("{}: public advisories", site.name),
        subtitle: Some(
            "Public (TLP:CLEAR) warnings and advisories of the Inter-American CSIRT network."
                .into(),
        ),
        updated,
        author: Person {
            name: site.name.to_owned(),
            uri: Some(format!("{}/", site.base_url)),
            email: None,
        },
        links: vec![
            Link::new("self", self_url, "application/atom+xml"),
            Link::new("alternate", format!("{}/", site.base_url), "text/html"),
        ],
        entries: items.iter().map(|i| advisory_entry(site, i)).collect(),
    }
    .to_xml()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use atalaya_core::bulletin::{BulletinContent, BulletinKind, Severity};
    use atalaya_core::{Audience, CountryCode, NodeId, Tlp};

    pub(crate) fn bulletin(kind: BulletinKind, title: &str) -> Bulletin {
        Bulletin {
            id: uuid::Uuid::parse_str("0193a000-0000-7000-8000-000000000001").unwrap(),
            origin: NodeId::new("cl-csirt").unwrap(),
            created: Timestamp::parse("2026-11-22T12:00:00Z").unwrap(),
            tlp: Tlp::Clear,
            audience: Audience::Network,
            embargo_until: None,
            people: vec![],
            constituents: vec![],
            content: BulletinContent {
                kind,
                title: title.into(),
                summary: "Summary & <more>".into(),
                body: "# Detail\nBody ]]> text\n".into(),
                severity: Severity::High,
                rsit: None,
                sectors: vec!["energy".into()],
                countries: vec![CountryCode::new("CL").unwrap()],
                indicators: vec![],
                references: vec!["https://ref.example/a?b=1&c=2".into()],
                payload: None,
                supersedes: None,
                ack_required_by: None,
            },
        }
    }

    fn site() -> Site<'static> {
        Site {
            base_url: "https://n.example",
            name: "CSIRT <Test> & Co",
        }
    }

    #[test]
    fn an_entry_carries_the_bulletin_escaped_with_its_categories_and_links() {
        let b = bulletin(
            BulletinKind::AttackWarning,
            "Ransomware </title><x> & \u{1}ok",
        );
        let xml = advisories(
            &site(),
            &[Advisory {
                bulletin: &b,
                author: "Origin & Team",
                csaf_url: Some("https://n.example/.well-known/csaf/clear/2026/x.json"),
            }],
            b.created,
        );
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
        assert!(xml.contains(
            "<title type=\"text\">CSIRT &lt;Test&gt; &amp; Co: public advisories</title>"
        ));
        assert!(
            xml.contains(
                "<title type=\"text\">Ransomware &lt;/title&gt;&lt;x&gt; &amp; ok</title>"
            )
        );
        assert!(xml.contains("<id>urn:uuid:0193a000-0000-7000-8000-000000000001</id>"));
        assert!(xml.contains("<published>2026-11-22T12:00:00.000Z</published>"));
        assert!(xml.contains("<name>Origin &amp; Team</name>"));
        assert!(xml.contains("<summary type=\"text\">Summary &amp; &lt;more&gt;</summary>"));
        assert!(xml.contains("Body ]]&gt; text"), "{xml}");
        assert!(!xml.contains("]]>"));
        for term in ["attack-warning", "high", "TLP:CLEAR", "energy", "CL"] {
            assert!(xml.contains(&format!("term=\"{term}\"")), "{term}: {xml}");
        }
        assert!(xml.contains("label=\"Energy\""));
        assert!(xml.contains(
            "<link rel=\"alternate\" href=\"https://n.example/advisories/0193a000-0000-7000-8000-000000000001\" type=\"text/html\"/>"
        ));
        assert!(xml.contains("href=\"https://n.example/feeds/cap/0193a000-0000-7000-8000-000000000001.xml\" type=\"application/cap+xml\""));
        assert!(xml.contains("/.well-known/csaf/clear/2026/x.json\" type=\"application/json\""));
        assert!(xml.contains("href=\"https://ref.example/a?b=1&amp;c=2\""));
        assert!(
            xml.contains("<link rel=\"self\" href=\"https://n.example/feeds/advisories.atom\"")
        );
    }

    #[test]
    fn only_attack_warnings_link_a_cap_alert_and_an_embargo_moves_publication() {
        let mut b = bulletin(BulletinKind::VulnerabilityAdvisory, "CVE");
        let end = Timestamp::parse("2026-11-23T08:00:00Z").unwrap();
        b.embargo_until = Some(end);
        b.content.body = "  ".into();
        let e = advisory_entry(
            &site(),
            &Advisory {
                bulletin: &b,
                author: "A",
                csaf_url: None,
            },
        );
        assert!(
            e.links
                .iter()
                .all(|l| l.media_type != Some(crate::alert::CAP_MEDIA_TYPE))
        );
        assert_eq!((e.published, e.updated), (Some(end), end));
        assert_eq!(e.content, None);
    }

    #[test]
    fn an_empty_feed_is_still_a_feed() {
        let xml = advisories(&site(), &[], Timestamp::from_unix_millis(0).unwrap());
        assert!(xml.contains("<updated>1970-01-01T00:00:00.000Z</updated>"));
        assert!(!xml.contains("<entry>"));
        assert!(xml.trim_end().ends_with("</feed>"));
    }
}
