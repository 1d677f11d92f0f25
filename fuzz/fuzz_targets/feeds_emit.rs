//! The CAP and Atom writers over arbitrary bulletin text (bulletins arrive from peers): they
//! must never panic, never emit a character XML 1.0 forbids, and never let text open markup.
#![no_main]
use atalaya_core::bulletin::{Bulletin, BulletinContent, BulletinKind, Severity};
use atalaya_core::{Audience, NodeId, Timestamp, Tlp};
use atalaya_formats::atom::{self, Advisory, Site};
use atalaya_formats::cap::{self, AlertInput};
use libfuzzer_sys::fuzz_target;

/// Every `<` opens one of our tags (or the declaration, a closing tag); every `&` is one of
/// the references the writer produces.
fn check(xml: &str, names: &[&str]) {
    for (i, c) in xml.char_indices() {
        let rest = &xml[i + c.len_utf8()..];
        match c {
            '<' => assert!(
                rest.starts_with("?xml ")
                    || rest.starts_with('/')
                    || names.iter().any(|n| {
                        rest.starts_with(n)
                            && rest[n.len()..].starts_with([' ', '>', '/'])
                    }),
                "markup from text at {i}: {xml}"
            ),
            '&' => assert!(
                ["amp;", "lt;", "gt;", "quot;", "apos;", "#9;", "#10;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "raw & at {i}: {xml}"
            ),
            '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => {
                panic!("character {c:?} outside XML 1.0 at {i}")
            }
            _ => {}
        }
    }
}

const CAP_NAMES: &[&str] = &[
    "alert", "identifier", "sender", "sent", "status", "msgType", "scope", "note", "references",
    "info", "language", "category", "event", "urgency", "severity", "certainty", "eventCode",
    "valueName", "value", "senderName", "headline", "description", "instruction", "web",
    "parameter", "area", "areaDesc", "geocode",
];
const ATOM_NAMES: &[&str] = &[
    "feed", "id", "title", "subtitle", "updated", "published", "author", "name", "uri", "email",
    "generator", "link", "entry", "category", "rights", "summary", "content",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1F}');
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (title, summary, body, name, reference) = (next(), next(), next(), next(), next());
    let b = Bulletin {
        id: uuid::Uuid::from_u128(1),
        origin: NodeId::new("fuzz-node").expect("a valid node id"),
        created: Timestamp::from_unix_millis(1_800_000_000_000).expect("a valid instant"),
        tlp: Tlp::Clear,
        audience: Audience::Network,
        embargo_until: None,
        people: vec![],
        constituents: vec![],
        content: BulletinContent {
            kind: BulletinKind::AttackWarning,
            title,
            summary,
            body: body.clone(),
            severity: Severity::High,
            rsit: Some(name.clone()),
            sectors: vec![name.clone()],
            countries: vec![],
            indicators: vec![],
            references: vec![reference],
            payload: None,
            supersedes: None,
            ack_required_by: None,
        },
    };
    let _ = cap::mitigation(&body);
    let web = "https://n.example/advisories/1";
    for retracted in [None, Some(b.created)] {
        let input = AlertInput {
            bulletin: &b,
            sender: "n.example",
            sender_name: &name,
            web,
            language: "es",
            supersedes: None,
            retracted,
        };
        check(&cap::alert(&input).expect("a valid alert input"), CAP_NAMES);
    }
    let site = Site { base_url: "https://n.example", name: &name };
    let feed = atom::advisories(
        &site,
        &[Advisory { bulletin: &b, author: &name, csaf_url: None }],
        b.created,
    );
    check(&feed, ATOM_NAMES);
    let index = cap::index_feed(
        &site,
        &[cap::IndexItem { bulletin: &b, author: &name, retracted: None }],
        b.created,
    );
    check(&index, ATOM_NAMES);
});
