//! vCard 4.0 (RFC 6350) cards of teams' public contacts, and a small vCard reader.
//!
//! A team's card is `KIND:org`, with `FN` (official name), `NICKNAME` (short name), `ORG` (the
//! host organisation and the team as its unit, or the team alone), one `EMAIL;TYPE=work` per
//! public address (`PREF=1` on the `contact` ones), one `TEL;VALUE=uri` per public number as a
//! `tel:` URI, `ADR` (the postal address, whole, in the street component, and the country's
//! name), `TZ`, `URL`, the OpenPGP keys (`KEY;MEDIATYPE=application/pgp-keys:` with a base64
//! `data:` URI when the armoured key is in the record, else a `NOTE` with the fingerprint),
//! `REV` and `END:VCARD`.
//!
//! The number's kind is the `TYPE` parameter: `voice`, `fax`, and for a 24/7 emergency line
//! `TYPE="voice,x-emergency"` — RFC 6350 has no emergency type, and an `x-` value is its way to
//! extend one; a reader that does not know it still sees a voice number.
//!
//! Lines end in CRLF and are folded at 75 octets, never inside a UTF-8 sequence; text values
//! escape `\`, `,`, `;` and newlines (RFC 6350 §3.4).

use std::fmt::Write as _;

use atalaya_core::directory::{PhoneUsage, TeamRecord};
use base64::Engine as _;

use super::FormatError;

/// The longest line, in octets, before folding.
pub const LINE_OCTETS: usize = 75;

/// The cards of several teams, one after the other.
pub fn vcards(teams: &[TeamRecord]) -> String {
    teams.iter().map(vcard).collect()
}

/// The card of one team's public contacts.
pub fn vcard(team: &TeamRecord) -> String {
    let t = team.public_view();
    let mut lines: Vec<String> = vec![
        "BEGIN:VCARD".into(),
        "VERSION:4.0".into(),
        "KIND:org".into(),
        format!("FN:{}", escape(&t.official_name)),
        format!("NICKNAME:{}", escape(&t.short_name)),
    ];
    lines.push(match &t.host_organisation {
        Some(h) => format!("ORG:{};{}", escape(h), escape(&t.official_name)),
        None => format!("ORG:{}", escape(&t.official_name)),
    });
    for e in &t.emails {
        let pref = if e.usage.iter().any(|u| u == "contact") {
            ";PREF=1"
        } else {
            ""
        };
        lines.push(format!("EMAIL;TYPE=work{pref}:{}", escape(&e.address)));
    }
    for p in &t.phones {
        let kind = if p.usage.contains(&PhoneUsage::Emergency) {
            "\"voice,x-emergency\""
        } else if p.usage.contains(&PhoneUsage::Voice) {
            "voice"
        } else {
            "fax"
        };
        lines.push(format!("TEL;VALUE=uri;TYPE={kind}:{}", tel_uri(&p.number)));
    }
    if let Some(a) = &t.postal_address {
        lines.push(format!(
            "ADR;TYPE=work:;;{};;;;{}",
            escape(a),
            escape(&super::country_name(t.country.as_str()))
        ));
    }
    let tz = t
        .business_hours
        .as_ref()
        .map(|b| b.timezone.clone())
        .or_else(|| t.phones.first().map(|p| p.timezone.clone()));
    if let Some(tz) = tz {
        lines.push(format!("TZ:{}", escape(&tz)));
    }
    if let Some(u) = &t.website {
        lines.push(format!("URL:{u}"));
    }
    for k in &t.pgp_keys {
        match &k.armored {
            Some(armored) => lines.push(format!(
                "KEY;MEDIATYPE=application/pgp-keys:data:application/pgp-keys;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(armored.as_bytes())
            )),
            None => {
                let mut note = format!(
                    "OpenPGP key fingerprint {}",
                    super::spaced_fingerprint(&k.fingerprint)
                );
                if let Some(e) = k.expires {
                    let _ = write!(note, ", expires {e}");
                }
                lines.push(format!("NOTE:{}", escape(&note)));
            }
        }
    }
    lines.push(format!("REV:{}", rev(&t.updated.to_string())));
    lines.push("END:VCARD".into());
    let mut out = String::new();
    for l in lines {
        fold_into(&mut out, &l);
    }
    out
}

/// A phone number as a global `tel:` URI (RFC 3966): `+`, digits and `-` for the spaces.
pub fn tel_uri(number: &str) -> String {
    let mut s = String::from("tel:");
    for c in number.trim().chars() {
        match c {
            '0'..='9' | '+' | '-' | '.' | '(' | ')' => s.push(c),
            c if c.is_whitespace() && !s.ends_with('-') => s.push('-'),
            _ => {}
        }
    }
    s.trim_end_matches('-').to_owned()
}

/// `2026-11-22T22:00:00.000Z` → `20261122T220000Z`.
fn rev(rfc3339: &str) -> String {
    let base: String = rfc3339
        .chars()
        .take(19)
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!("{base}Z")
}

/// RFC 6350 §3.4 text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Undo [`escape`].
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Append a content line folded at [`LINE_OCTETS`] octets (continuations start with a space),
/// cutting only between characters, with CRLF line ends.
fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = LINE_OCTETS - 1;
    }
}

/// A property of a card: `NAME;PARAM=value:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Upper-cased name (`EMAIL`).
    pub name: String,
    /// Parameters in order, names upper-cased, values without their quotes.
    pub params: Vec<(String, String)>,
    /// The value, unescaped (RFC 6350 §3.4); a structured value's `;` separators and its
    /// escaped `\;` both come back as `;`.
    pub value: String,
}

impl Property {
    /// The value of a parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A card: its properties between `BEGIN:VCARD` and `END:VCARD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VCard {
    /// The properties, in order, without `BEGIN` and `END`.
    pub properties: Vec<Property>,
}

impl VCard {
    /// Every property of a name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> + 'a {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// The first property of a name.
    pub fn first(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// Read vCards: unfold, split properties into name, parameters and unescaped value. Refused:
/// over [`super::MAX_INPUT_BYTES`] (`too-large`); not UTF-8, a line without `:`, a property
/// outside a card, a card not closed or a nested `BEGIN` (`malformed`, with the line).
pub fn parse_vcards(input: &[u8]) -> Result<Vec<VCard>, FormatError> {
    super::check_size(input)?;
    let text = std::str::from_utf8(input)
        .map_err(|e| FormatError::malformed(format!("a vCard is UTF-8 text: {e}")))?;
    // Unfold: a line that starts with a space or tab continues the previous one.
    let mut logical: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(cont) = raw.strip_prefix([' ', '\t']) {
            match logical.last_mut() {
                Some((_, prev)) => prev.push_str(cont),
                None => return Err(at(i + 1, "a folded line continues nothing")),
            }
        } else if !raw.is_empty() {
            logical.push((i + 1, raw.to_owned()));
        }
    }
    let mut cards = Vec::new();
    let mut current: Option<VCard> = None;
    for (line, content) in logical {
        let prop = parse_property(&content).ok_or_else(|| at(line, "a property has no `:`"))?;
        match (prop.name.as_str(), current.as_mut()) {
            ("BEGIN", None) if prop.value.eq_ignore_ascii_case("VCARD") => {
                current = Some(VCard::default());
            }
            ("BEGIN", Some(_)) => return Err(at(line, "a card begins inside another")),
            ("END", Some(_)) if prop.value.eq_ignore_ascii_case("VCARD") => {
                cards.extend(current.take());
            }
            (_, Some(card)) => card.properties.push(prop),
            (_, None) => return Err(at(line, "a property outside BEGIN:VCARD … END:VCARD")),
        }
    }
    if current.is_some() {
        return Err(FormatError::malformed("the last card has no END:VCARD"));
    }
    Ok(cards)
}

fn at(line: usize, message: &str) -> FormatError {
    FormatError::Malformed {
        line,
        column: 0,
        message: message.to_owned(),
    }
}

fn parse_property(line: &str) -> Option<Property> {
    // The value starts at the first `:` outside a quoted parameter value.
    let mut quoted = false;
    let colon = line.char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        ':' if !quoted => Some(i),
        _ => None,
    })?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = split_unquoted(head, ';').into_iter();
    let name = parts.next()?.to_ascii_uppercase();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.to_ascii_uppercase(), v.trim_matches('"').to_owned()),
            None => (p.to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some(Property {
        name,
        params,
        value: unescape(value),
    })
}

fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_fold_never_cuts_a_character_in_two() {
        // `FN:` + 71 ASCII letters puts the two octets of `á` at octets 75 and 76.
        let line = format!("FN:{}áé{}", "a".repeat(71), "ñ".repeat(80));
        let mut out = String::new();
        fold_into(&mut out, &line);
        let lines: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
        assert_eq!(lines[0].len(), 74, "the cut moves back before `á`");
        assert!(lines.iter().all(|l| l.len() <= LINE_OCTETS));
        assert!(lines[1..].iter().all(|l| l.starts_with(' ')));
        let unfolded: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { *l } else { &l[1..] })
            .collect();
        assert_eq!(unfolded, line);
    }

    #[test]
    fn escaping_round_trips() {
        let s = "a,b;c\\d\ne";
        assert_eq!(escape(s), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(unescape(&escape(s)), s);
    }

    #[test]
    fn tel_uris_are_global_numbers() {
        assert_eq!(tel_uri("+56 2 2486 3850"), "tel:+56-2-2486-3850");
        assert_eq!(tel_uri(" +1 (555) 010  0000 ext"), "tel:+1-(555)-010-0000");
    }
}
