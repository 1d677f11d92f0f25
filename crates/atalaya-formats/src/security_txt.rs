//! `security.txt` (RFC 9116): how to report a security problem to the team that runs a node,
//! rendered from the public view of its directory record.
//!
//! Fields written: `Contact` (the public incident-report e-mail first, then the other public
//! contact addresses, then public phones as `tel:` URIs), `Expires` (required; a week after
//! `now`, so a file served by a running node never goes stale — RFC 9116 §2.5.5 recommends less
//! than a year), `Encryption` (each OpenPGP key as an `openpgp4fpr:` URI), `Preferred-Languages`,
//! `Canonical`, `Policy` (the public directory page) and `CSAF` (the node's CSAF
//! `provider-metadata.json`, CSAF §7.1.8) when the node serves one.

use atalaya_core::Timestamp;
use atalaya_core::directory::TeamRecord;

/// How long a served `security.txt` is valid.
pub const VALID_FOR_MILLIS: i64 = 7 * 24 * 3_600_000;

/// The `security.txt` of `team` (only its public fields are read). `canonical` is the URL the
/// file is served at; `policy` the public page about the team; `csaf` the URL of the node's
/// CSAF `provider-metadata.json`, if it serves one; `languages` ISO 639-1 codes.
pub fn security_txt(
    team: &TeamRecord,
    canonical: &str,
    policy: &str,
    csaf: Option<&str>,
    languages: &[&str],
    now: Timestamp,
) -> String {
    let public = team.public_view();
    let mut lines = vec![format!(
        "# security.txt of {} ({}), a member of the Inter-American CSIRT Watch and Warning Network.",
        one_line(&public.short_name),
        one_line(&public.official_name)
    )];
    let mut emails: Vec<&str> = Vec::new();
    for usage in ["incident-report", "contact", "emergency"] {
        for e in &public.emails {
            if e.usage.iter().any(|u| u == usage) && !emails.contains(&e.address.as_str()) {
                emails.push(&e.address);
            }
        }
    }
    for e in emails {
        lines.push(format!("Contact: mailto:{}", one_line(e)));
    }
    for p in &public.phones {
        let number: String = p
            .number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        if number.len() > 1 {
            lines.push(format!("Contact: tel:{number}"));
        }
    }
    lines.push(format!(
        "Expires: {}",
        now.plus_millis(VALID_FOR_MILLIS)
            .to_string()
            .replace(".000Z", "Z")
    ));
    for k in &public.pgp_keys {
        lines.push(format!(
            "Encryption: openpgp4fpr:{}",
            k.fingerprint.to_ascii_lowercase()
        ));
    }
    if !languages.is_empty() {
        lines.push(format!("Preferred-Languages: {}", languages.join(", ")));
    }
    lines.push(format!("Canonical: {}", one_line(canonical)));
    lines.push(format!("Policy: {}", one_line(policy)));
    if let Some(csaf) = csaf {
        lines.push(format!("CSAF: {}", one_line(csaf)));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A value on one line: a record's text never adds a field of its own.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn team() -> TeamRecord {
        serde_json::from_value(serde_json::json!({
            "id": "cl-csirt", "official_name": "Equipo\nFicticio", "short_name": "EF",
            "country": "CL", "team_type": "national",
            "emails": [
                {"address": "contacto@example.org", "usage": ["contact"], "public": true},
                {"address": "incidentes@example.org", "usage": ["incident-report"], "public": true},
                {"address": "guardia@example.org", "usage": ["emergency"], "public": false}
            ],
            "phones": [
                {"number": "+56 2 555 0100", "usage": ["voice"], "timezone": "America/Santiago", "public": true},
                {"number": "+56 9 555 0199", "usage": ["emergency"], "timezone": "America/Santiago", "public": false}
            ],
            "pgp_keys": [{"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567", "expires": null}],
            "updated": "2026-11-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn fields_follow_rfc_9116_and_hold_public_contacts_only() {
        let now = Timestamp::parse("2026-11-22T12:00:00Z").unwrap();
        let txt = security_txt(
            &team(),
            "https://n.example/.well-known/security.txt",
            "https://n.example/directory",
            Some("https://n.example/.well-known/csaf/provider-metadata.json"),
            &["es", "en"],
            now,
        );
        let lines: Vec<&str> = txt.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "Contact: mailto:incidentes@example.org",
                "Contact: mailto:contacto@example.org",
                "Contact: tel:+5625550100",
                "Expires: 2026-11-29T12:00:00Z",
                "Encryption: openpgp4fpr:0123456789abcdef0123456789abcdef01234567",
                "Preferred-Languages: es, en",
                "Canonical: https://n.example/.well-known/security.txt",
                "Policy: https://n.example/directory",
                "CSAF: https://n.example/.well-known/csaf/provider-metadata.json",
            ]
        );
        assert!(
            lines[0].starts_with("# ") && !txt.contains("guardia"),
            "{txt}"
        );
        assert!(!txt.contains("555 0199") && !txt.contains("+5695550199"));
        // A newline in the team's name cannot start a field of its own.
        assert!(lines[0].contains("Equipo Ficticio"), "{txt}");
    }
}
