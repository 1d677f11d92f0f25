//! CAP 1.2 (OASIS Common Alerting Protocol, also ITU-T X.1303 bis): one alert per public attack
//! warning, its revision as an `Update`, its retraction as a `Cancel`, and the Atom index feed
//! CAP aggregators (Google Public Alerts and the like) subscribe to.
//!
//! CAP is for alerts: of our bulletin kinds only the attack warning ("an attack in progress")
//! becomes one ([`is_alert`]). Vulnerability advisories go out as CSAF; suspicious activity,
//! mitigation advice and information stay in the Atom feed of advisories.
//!
//! Only TLP:CLEAR bulletins are written, always with `scope` `Public` (standards.md §13: CLEAR is
//! CAP's `Public`; CAP has no TLP field, so the label also travels as the `TLP` parameter). The
//! caller decides publicness with the policy (`Federation::public_bulletins`): embargoes are not
//! this module's business, since it never reads a clock.
//!
//! Mapping (standards.md §4, a design choice where CAP leaves one):
//!
//! | Bulletin | CAP |
//! |---|---|
//! | id | `identifier` (the UUID; a cancellation is `<uuid>-cancel`) |
//! | origin's public e-mail, or its host, or its node id ([`sender_id`]) | `sender` |
//! | public since (creation, or end of embargo) | `sent`, UTC written `-00:00` as CAP requires |
//! | `supersedes` a public alert | `msgType` `Update`, `references` `sender,identifier,sent` |
//! | retracted after it was public | `msgType` `Cancel`, `references` the alert, no `info` |
//! | always | `status` `Actual`, `scope` `Public`, `category` `Security` |
//! | a sector of utilities, telecommunications or other infrastructure | also `category` `Infra` |
//! | severity | `urgency` / `severity` / `certainty` ([`grading`]) |
//! | title, summary | `headline`, `description` |
//! | the body's mitigation section | `instruction` ([`mitigation`]) |
//! | RSIT class/type | `eventCode` `RSIT` |
//! | portal page | `web` |
//! | TLP | `parameter` `TLP` = `TLP:CLEAR` |
//! | each country | an `area`: `areaDesc` (the state's name), `geocode` `ISO 3166-1 alpha-2` |

use atalaya_core::bulletin::{Bulletin, Severity};
use atalaya_core::{Timestamp, Tlp};
use uuid::Uuid;

use crate::atom::{self, Category, Entry, Feed, Link, Person, Site};
use crate::xml::Writer;

/// The media type alerts are served with.
pub const MEDIA_TYPE: &str = crate::alert::CAP_MEDIA_TYPE;
/// The CAP 1.2 namespace.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// The `valueName` of an area's country geocode.
pub const GEOCODE_ISO: &str = "ISO 3166-1 alpha-2";

pub use crate::alert::is_alert;

/// Why no alert was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    /// CAP carries attack warnings only.
    #[error("a {0} bulletin is not an alert: CAP carries attack warnings only")]
    NotAnAlert(&'static str),
    /// CAP messages here are public; the bulletin is not TLP:CLEAR.
    #[error("{0} cannot go out as a public CAP alert: only TLP:CLEAR can")]
    NotPublic(&'static str),
    /// `sender` is empty or holds a space, comma, `<` or `&` (CAP 1.2 §3.2.1).
    #[error("CAP sender {0:?} must be one token without spaces, commas, < or &")]
    BadSender(String),
    /// `language` is not an RFC 3066 tag.
    #[error("{0:?} is not a language tag")]
    BadLanguage(String),
}

impl CapError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CapError::NotAnAlert(_) => "cap_not_an_alert",
            CapError::NotPublic(_) => "cap_not_public",
            CapError::BadSender(_) => "cap_bad_sender",
            CapError::BadLanguage(_) => "cap_bad_language",
        }
    }
}

/// A CAP date-time: seconds precision, the offset always written, UTC as `-00:00` (CAP 1.2
/// §3.3.2: "Alphabetic timezone designators such as Z MUST NOT be used. The timezone for UTC
/// MUST be represented as -00:00"). Every instant we hold is UTC, so the offset is always that.
pub fn time(t: Timestamp) -> String {
    let s = t.to_string(); // 2026-11-22T12:00:00.000Z: always four-digit years and UTC
    match s.split_once('.') {
        Some((seconds, _)) => format!("{seconds}-00:00"),
        None => format!("{}-00:00", s.trim_end_matches('Z')),
    }
}

/// Whether `s` may be a CAP `identifier` or `sender`: one token, no space, comma, `<` or `&`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&'))
}

/// The `sender` of a node's alerts: its first public e-mail address that is a valid token, else
/// its public host name, else its node id (CAP asks for something globally unique, "e.g. based
/// on an Internet domain name").
pub fn sender_id(emails: &[&str], host: Option<&str>, node_id: &str) -> String {
    emails
        .iter()
        .copied()
        .find(|e| is_token(e) && e.contains('@'))
        .or(host.filter(|h| is_token(h)))
        .unwrap_or(node_id)
        .to_owned()
}

/// How one CAP message names another (`references`, CAP 1.2 §3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The other message's `sender`.
    pub sender: String,
    /// Its `identifier`.
    pub identifier: String,
    /// Its `sent`.
    pub sent: Timestamp,
}

impl Reference {
    /// The reference to the alert of `b` sent by `sender`.
    pub fn to_alert(b: &Bulletin, sender: &str) -> Self {
        Self {
            sender: sender.to_owned(),
            identifier: b.id.to_string(),
            sent: atom::public_since(b),
        }
    }

    /// `sender,identifier,sent`.
    pub fn triple(&self) -> String {
        format!("{},{},{}", self.sender, self.identifier, time(self.sent))
    }
}

/// The `identifier` of the message a bulletin currently is: the alert (or update), or its
/// cancellation.
pub fn identifier(id: Uuid, cancelled: bool) -> String {
    if cancelled {
        format!("{id}-cancel")
    } else {
        id.to_string()
    }
}

/// Everything an alert needs besides the bulletin.
#[derive(Debug, Clone)]
pub struct AlertInput<'a> {
    /// The bulletin: an attack warning, TLP:CLEAR, that the policy lets out (or let out before
    /// it was retracted).
    pub bulletin: &'a Bulletin,
    /// The origin's `sender` ([`sender_id`]).
    pub sender: &'a str,
    /// The origin's team name (`senderName`).
    pub sender_name: &'a str,
    /// The portal page of the bulletin (`web`).
    pub web: &'a str,
    /// The language of the text (RFC 3066, e.g. `es`).
    pub language: &'a str,
    /// The earlier public alert this one revises (the bulletin's `supersedes`, when that one
    /// was public): makes the message an `Update`.
    pub supersedes: Option<Reference>,
    /// When its origin retracted it: makes the message a `Cancel`.
    pub retracted: Option<Timestamp>,
}

/// CAP's grading of a severity: (`urgency`, `severity`, `certainty`).
///
/// An attack warning reports an attack in progress, so the critical and high ones are
/// `Observed` and call for `Immediate` action; medium ones are `Likely` and `Expected`; low and
/// informational ones are `Minor`, for the `Future`.
pub fn grading(s: Severity) -> (&'static str, &'static str, &'static str) {
    match s {
        Severity::Critical => ("Immediate", "Extreme", "Observed"),
        Severity::High => ("Immediate", "Severe", "Observed"),
        Severity::Medium => ("Expected", "Moderate", "Likely"),
        Severity::Low => ("Future", "Minor", "Likely"),
        Severity::Info => ("Future", "Minor", "Possible"),
    }
}

/// Sectors whose attack is also an infrastructure event (CAP `Infra`: "utility,
/// telecommunication, other non-transport infrastructure").
const INFRA_SECTORS: [&str; 8] = [
    "chemical",
    "communications",
    "critical-manufacturing",
    "dams",
    "energy",
    "information-technology",
    "nuclear",
    "water",
];

fn event_name(language: &str) -> &'static str {
    match language.split('-').next().unwrap_or("") {
        "es" => "Ciberataque",
        "pt" => "Ataque cibernético",
        "fr" => "Cyberattaque",
        _ => "Cyberattack",
    }
}

fn is_language(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The section of a Markdown body under a heading about mitigation (in any of the OAS's four
/// languages: "Mitigation", "Recommendations", "Mitigación", "Recomendaciones", "Mitigação",
/// "Recomendações", "Atténuation", "Recommandations", "What to do", ...), up to the next heading
/// of the same or a higher level. ATX headings (`#` ... `######`) only.
pub fn mitigation(body: &str) -> Option<String> {
    const WORDS: [&str; 14] = [
        "mitigat",
        "mitigac",
        "mitigaç",
        "recommend",
        "recomend",
        "recommand",
        "atténu",
        "attenu",
        "remedia",
        "workaround",
        "what to do",
        "qué hacer",
        "que hacer",
        "o que fazer",
    ];
    fn heading(line: &str) -> Option<(usize, &str)> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent > 3 {
            return None;
        }
        let rest = &line[indent..];
        let level = rest.len() - rest.trim_start_matches('#').len();
        if !(1..=6).contains(&level) {
            return None;
        }
        let text = &rest[level..];
        if !(text.is_empty() || text.starts_with([' ', '\t'])) {
            return None;
        }
        Some((level, text.trim().trim_end_matches('#').trim()))
    }
    let mut lines = body.lines();
    let level = loop {
        let line = lines.next()?;
        if let Some((level, text)) = heading(line) {
            let text = text.to_lowercase();
            if WORDS.iter().any(|w| text.contains(w)) {
                break level;
            }
        }
    };
    let mut section = Vec::new();
    for line in lines {
        if heading(line).is_some_and(|(l, _)| l <= level) {
            break;
        }
        section.push(line);
    }
    let text = section.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The CAP 1.2 message a public attack warning is now: its alert, its update, or (retracted)
/// its cancellation. Every string is escaped and cleaned of characters XML 1.0 cannot carry.
pub fn alert(input: &AlertInput<'_>) -> Result<String, CapError> {
    let b = input.bulletin;
    let c = &b.content;
    if !is_alert(c.kind) {
        return Err(CapError::NotAnAlert(c.kind.as_str()));
    }
    if b.tlp != Tlp::Clear {
        return Err(CapError::NotPublic(b.tlp.label()));
    }
    if !is_token(input.sender) {
        return Err(CapError::BadSender(input.sender.to_owned()));
    }
    if let Some(r) = &input.supersedes
        && !(is_token(&r.sender) && is_token(&r.identifier))
    {
        return Err(CapError::BadSender(r.sender.clone()));
    }
    if !is_language(input.language) {
        return Err(CapError::BadLanguage(input.language.to_owned()));
    }
    let mut w = Writer::new();
    w.open("alert", &[("xmlns", NAMESPACE)]);
    w.text(
        "identifier",
        &[],
        &identifier(b.id, input.retracted.is_some()),
    );
    w.text("sender", &[], input.sender);
    if let Some(at) = input.retracted {
        w.text("sent", &[], &time(at.max(atom::public_since(b))));
        w.text("status", &[], "Actual");
        w.text("msgType", &[], "Cancel");
        w.text("scope", &[], "Public");
        w.text("note", &[], "The issuer withdrew this alert.");
        w.text(
            "references",
            &[],
            &Reference::to_alert(b, input.sender).triple(),
        );
        return Ok(w.finish());
    }
    w.text("sent", &[], &time(atom::public_since(b)));
    w.text("status", &[], "Actual");
    w.text(
        "msgType",
        &[],
        if input.supersedes.is_some() {
            "Update"
        } else {
            "Alert"
        },
    );
    w.text("scope", &[], "Public");
    if let Some(r) = &input.supersedes {
        w.text("references", &[], &r.triple());
    }
    w.open("info", &[]);
    w.text("language", &[], input.language);
    w.text("category", &[], "Security");
    if c.sectors
        .iter()
        .any(|s| INFRA_SECTORS.contains(&s.as_str()))
    {
        w.text("category", &[], "Infra");
    }
    w.text("event", &[], event_name(input.language));
    let (urgency, severity, certainty) = grading(c.severity);
    w.text("urgency", &[], urgency);
    w.text("severity", &[], severity);
    w.text("certainty", &[], certainty);
    if let Some(rsit) = &c.rsit {
        w.open("eventCode", &[]);
        w.text("valueName", &[], "RSIT");
        w.text("value", &[], rsit);
        w.close();
    }
    w.text("senderName", &[], input.sender_name);
    w.text("headline", &[], &c.title);
    w.text("description", &[], &c.summary);
    if let Some(m) = mitigation(&c.body) {
        w.text("instruction", &[], &m);
    }
    w.text("web", &[], input.web);
    w.open("parameter", &[]);
    w.text("valueName", &[], "TLP");
    w.text("value", &[], b.tlp.label());
    w.close();
    let lang = input.language.split('-').next().unwrap_or("en");
    for country in &c.countries {
        let code = country.as_str();
        w.open("area", &[]);
        w.text(
            "areaDesc",
            &[],
            atalaya_core::member_states::by_code(code)
                .map(|m| m.name_in(lang))
                .unwrap_or(code),
        );
        w.open("geocode", &[]);
        w.text("valueName", &[], GEOCODE_ISO);
        w.text("value", &[], code);
        w.close();
        w.close();
    }
    Ok(w.finish())
}

/// One message of the CAP index feed.
#[derive(Debug, Clone, Copy)]
pub struct IndexItem<'a> {
    /// The attack warning.
    pub bulletin: &'a Bulletin,
    /// The name of the team that issued it.
    pub author: &'a str,
    /// When its origin retracted it (the entry then announces the cancellation).
    pub retracted: Option<Timestamp>,
}

/// The Atom index of the node's CAP messages, served at `/feeds/cap.atom`: one entry per alert
/// with a `rel="alternate"` link of type `application/cap+xml` to the message (what CAP
/// aggregators read). A cancelled alert's entry says only that it was withdrawn.
pub fn index_feed(site: &Site<'_>, items: &[IndexItem<'_>], updated: Timestamp) -> String {
    let self_url = format!("{}/feeds/cap.atom", site.base_url);
    let entries = items
        .iter()
        .filter(|i| is_alert(i.bulletin.content.kind) && i.bulletin.tlp == Tlp::Clear)
        .map(|i| {
            let b = i.bulletin;
            let since = atom::public_since(b);
            let cap = Link {
                title: Some("CAP 1.2".into()),
                ..Link::new("alternate", site.cap_url(b.id), MEDIA_TYPE)
            };
            let author = vec![Person {
                name: i.author.to_owned(),
                uri: None,
                email: None,
            }];
            match i.retracted {
                Some(at) => Entry {
                    id: format!("urn:uuid:{}", b.id),
                    title: format!("Alert {} withdrawn by its issuer", b.id),
                    updated: at.max(since),
                    published: Some(since),
                    authors: author,
                    summary: Some("The issuer withdrew this alert (CAP Cancel).".into()),
                    content: None,
                    categories: vec![],
                    links: vec![cap],
                    rights: Some(atom::RIGHTS.into()),
                },
                None => Entry {
                    id: format!("urn:uuid:{}", b.id),
                    title: b.content.title.clone(),
                    updated: since,
                    published: Some(since),
                    authors: author,
                    summary: Some(b.content.summary.clone()),
                    content: None,
                    categories: vec![Category {
                        term: atom::severity_name(b.content.severity).into(),
                        scheme: atom::SCHEME_SEVERITY,
                        label: None,
                    }],
                    links: vec![
                        cap,
                        Link::new("alternate", site.advisory_url(b.id), "text/html"),
                    ],
                    rights: Some(atom::RIGHTS.into()),
                },
            }
        })
        .collect();
    Feed {
        id: self_url.clone(),
        title: format!("{}: CAP alerts", site.name),
        subtitle: Some(
            "Public attack warnings as CAP 1.2 alerts (OASIS Common Alerting Protocol).".into(),
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
        entries,
    }
    .to_xml()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::atom::tests::bulletin;
    use atalaya_core::CountryCode;
    use atalaya_core::bulletin::BulletinKind;

    fn input(b: &Bulletin) -> AlertInput<'_> {
        AlertInput {
            bulletin: b,
            sender: "incidentes@csirt.example.cl",
            sender_name: "CSIRT <Chile> & Co",
            web: "https://n.example/advisories/x?a=1&b=2",
            language: "es",
            supersedes: None,
            retracted: None,
        }
    }

    #[test]
    fn times_have_seconds_and_an_offset_with_utc_as_minus_zero() {
        let t = Timestamp::parse("2026-11-22T12:34:56.789Z").unwrap();
        assert_eq!(time(t), "2026-11-22T12:34:56-00:00");
        assert_eq!(
            time(Timestamp::parse("0999-01-02T03:04:05Z").unwrap()),
            "0999-01-02T03:04:05-00:00"
        );
        let s = time(t);
        assert!(!s.contains('Z') && !s.contains('.') && !s.ends_with("+00:00"));
    }

    #[test]
    fn an_alert_has_every_required_element_in_schema_order() {
        let mut b = bulletin(BulletinKind::AttackWarning, "Ransomware en curso");
        b.content.rsit = Some("malicious-code/ransomware".into());
        b.content.countries.push(CountryCode::new("AR").unwrap());
        let xml = alert(&input(&b)).unwrap();
        let order = [
            "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
            "<identifier>0193a000-0000-7000-8000-000000000001</identifier>",
            "<sender>incidentes@csirt.example.cl</sender>",
            "<sent>2026-11-22T12:00:00-00:00</sent>",
            "<status>Actual</status>",
            "<msgType>Alert</msgType>",
            "<scope>Public</scope>",
            "<info>",
            "<language>es</language>",
            "<category>Security</category>",
            "<category>Infra</category>",
            "<event>Ciberataque</event>",
            "<urgency>Immediate</urgency>",
            "<severity>Severe</severity>",
            "<certainty>Observed</certainty>",
            "<eventCode>",
            "<value>malicious-code/ransomware</value>",
            "<senderName>CSIRT &lt;Chile&gt; &amp; Co</senderName>",
            "<headline>Ransomware en curso</headline>",
            "<description>Summary &amp; &lt;more&gt;</description>",
            "<web>https://n.example/advisories/x?a=1&amp;b=2</web>",
            "<valueName>TLP</valueName>",
            "<value>TLP:CLEAR</value>",
            "<areaDesc>Chile</areaDesc>",
            "<valueName>ISO 3166-1 alpha-2</valueName>",
            "<value>CL</value>",
            "<areaDesc>Argentina</areaDesc>",
            "<value>AR</value>",
            "</info>",
            "</alert>",
        ];
        let mut at = 0;
        for piece in order {
            let found = xml[at..]
                .find(piece)
                .unwrap_or_else(|| panic!("{piece} missing or out of order in\n{xml}"));
            at += found + piece.len();
        }
        assert!(!xml.contains("<references>") && !xml.contains("<instruction>"));
    }

    #[test]
    fn a_revision_is_an_update_and_a_retraction_a_cancel() {
        let mut old = bulletin(BulletinKind::AttackWarning, "First");
        old.created = Timestamp::parse("2026-11-21T09:00:00Z").unwrap();
        let mut b = bulletin(BulletinKind::AttackWarning, "Second");
        b.id = Uuid::parse_str("0193a000-0000-7000-8000-000000000002").unwrap();
        b.content.supersedes = Some(old.id);
        let mut i = input(&b);
        i.supersedes = Some(Reference::to_alert(&old, "incidentes@csirt.example.cl"));
        let xml = alert(&i).unwrap();
        assert!(xml.contains("<msgType>Update</msgType>"));
        assert!(xml.contains(
            "<references>incidentes@csirt.example.cl,0193a000-0000-7000-8000-000000000001,2026-11-21T09:00:00-00:00</references>"
        ));

        let mut i = input(&b);
        i.retracted = Some(Timestamp::parse("2026-11-22T13:00:00Z").unwrap());
        let xml = alert(&i).unwrap();
        assert!(
            xml.contains("<identifier>0193a000-0000-7000-8000-000000000002-cancel</identifier>")
        );
        assert!(xml.contains("<sent>2026-11-22T13:00:00-00:00</sent>"));
        assert!(xml.contains("<msgType>Cancel</msgType>"));
        assert!(xml.contains(
            "<references>incidentes@csirt.example.cl,0193a000-0000-7000-8000-000000000002,2026-11-22T12:00:00-00:00</references>"
        ));
        assert!(!xml.contains("<info>") && !xml.contains("Second"), "{xml}");
    }

    #[test]
    fn only_clear_attack_warnings_with_a_valid_sender_become_alerts() {
        let b = bulletin(BulletinKind::VulnerabilityAdvisory, "x");
        assert_eq!(alert(&input(&b)).unwrap_err().code(), "cap_not_an_alert");
        let mut b = bulletin(BulletinKind::AttackWarning, "x");
        b.tlp = Tlp::Green;
        assert_eq!(alert(&input(&b)).unwrap_err().code(), "cap_not_public");
        let b = bulletin(BulletinKind::AttackWarning, "x");
        for bad in ["", "a b", "a,b", "a<b", "a&b", "a\u{1}b"] {
            let mut i = input(&b);
            i.sender = bad;
            assert_eq!(alert(&i).unwrap_err().code(), "cap_bad_sender", "{bad:?}");
        }
        let mut i = input(&b);
        i.language = "es_CL";
        assert_eq!(alert(&i).unwrap_err().code(), "cap_bad_language");
        i.language = "pt-BR";
        assert!(
            alert(&i)
                .unwrap()
                .contains("<event>Ataque cibernético</event>")
        );
    }

    #[test]
    fn nasty_text_is_escaped_and_illegal_characters_removed() {
        let mut b = bulletin(BulletinKind::AttackWarning, "a <b> & ]]> c");
        b.content.summary = "x\u{0}y\u{B}z\u{FFFE} </description><injected/>".into();
        let xml = alert(&input(&b)).unwrap();
        assert!(xml.contains("<headline>a &lt;b&gt; &amp; ]]&gt; c</headline>"));
        assert!(
            xml.contains("<description>xyz &lt;/description&gt;&lt;injected/&gt;</description>")
        );
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{B}') && !xml.contains("<injected"));
    }

    #[test]
    fn the_mitigation_section_becomes_the_instruction() {
        let body = "Intro\n\n## Detalles\nfoo\n\n## Mitigación\n\n1. Parchar <ya>.\n2. Rotar claves.\n\n### Nota\nsub\n\n## Referencias\nbar\n";
        assert_eq!(
            mitigation(body).unwrap(),
            "1. Parchar <ya>.\n2. Rotar claves.\n\n### Nota\nsub"
        );
        assert_eq!(
            mitigation("# What to do #\nUpdate now.").unwrap(),
            "Update now."
        );
        assert_eq!(mitigation("#Mitigation\nnot a heading"), None);
        assert_eq!(mitigation("    # Mitigation\ncode"), None);
        assert_eq!(mitigation("## Mitigation\n\n## Next\n"), None);
        assert_eq!(mitigation("no headings"), None);
        let mut b = bulletin(BulletinKind::AttackWarning, "x");
        b.content.body = body.into();
        assert!(alert(&input(&b)).unwrap().contains(
            "<instruction>1. Parchar &lt;ya&gt;.\n2. Rotar claves.\n\n### Nota\nsub</instruction>"
        ));
    }

    #[test]
    fn the_sender_is_the_first_valid_address_else_the_host_else_the_node() {
        assert_eq!(
            sender_id(
                &["bad address@x.org", "cert@x.org"],
                Some("n.example"),
                "cl"
            ),
            "cert@x.org"
        );
        assert_eq!(sender_id(&[], Some("n.example"), "cl"), "n.example");
        assert_eq!(sender_id(&[], Some(""), "cl-csirt"), "cl-csirt");
    }

    #[test]
    fn the_index_links_each_alert_as_cap_and_withdraws_cancelled_ones() {
        let site = Site {
            base_url: "https://n.example",
            name: "N",
        };
        let a = bulletin(BulletinKind::AttackWarning, "Live <one>");
        let mut r = bulletin(BulletinKind::AttackWarning, "Secret title");
        r.id = Uuid::parse_str("0193a000-0000-7000-8000-000000000009").unwrap();
        let v = bulletin(BulletinKind::VulnerabilityAdvisory, "Not an alert");
        let at = Timestamp::parse("2026-11-23T00:00:00Z").unwrap();
        let xml = index_feed(
            &site,
            &[
                IndexItem {
                    bulletin: &a,
                    author: "A",
                    retracted: None,
                },
                IndexItem {
                    bulletin: &r,
                    author: "A",
                    retracted: Some(at),
                },
                IndexItem {
                    bulletin: &v,
                    author: "A",
                    retracted: None,
                },
            ],
            at,
        );
        assert!(xml.contains("<title type=\"text\">Live &lt;one&gt;</title>"));
        assert!(xml.contains("<link rel=\"alternate\" href=\"https://n.example/feeds/cap/0193a000-0000-7000-8000-000000000001.xml\" type=\"application/cap+xml\" title=\"CAP 1.2\"/>"));
        assert!(xml.contains("0193a000-0000-7000-8000-000000000009 withdrawn"));
        assert!(!xml.contains("Secret title") && !xml.contains("Not an alert"));
        assert_eq!(xml.matches("<entry>").count(), 2);
    }
}
