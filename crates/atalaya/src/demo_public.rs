//! What the demo network publishes for the public: a TLP:CLEAR attack warning and a TLP:CLEAR
//! vulnerability advisory that carries a CSAF 2.0 document, so that the portal, the Atom and
//! CAP feeds, the CSAF provider, the TAXII public collection and the MISP feed all have content
//! on first start.
//!
//! Everything here is fictitious and says so: "(demo)" in the titles, documentation address
//! ranges (RFC 5737), reserved `.example` domains, and an advisory id instead of a CVE.

use atalaya_core::Timestamp;
use serde_json::{Value, json};

/// The public attack warning: a phishing campaign, with indicators a team can block.
pub fn public_attack_warning() -> Value {
    json!({
        "tlp": "CLEAR",
        "kind": "attack-warning",
        "severity": "high",
        "title": "Phishing campaign impersonating tax authorities across the Americas (demo)",
        "summary": "Messages claiming to come from national tax authorities ask recipients to download a \"tax refund form\" that installs a remote-access trojan. Reports come from several member states. Block the indicators below and warn staff.",
        "body": "## What we see\n\nE-mails in Spanish, Portuguese, English and French, sent from look-alike domains, with a link to a ZIP file that holds a script. The script installs a remote-access trojan that reports to the addresses below.\n\n## What to do\n\n1. Block the domains and addresses below at mail gateways, proxies and firewalls.\n2. Search mail logs for the sender domains since the start of the month.\n3. Remind staff that tax authorities never send attachments asking for bank details.\n\n## How to report\n\nReport a message you received to your national CSIRT: see the portal's *How to report an incident* page.",
        "rsit": "fraud/phishing",
        "sectors": ["government"],
        "countries": ["AR", "BR", "CL", "CO", "MX", "PE"],
        "indicators": [
            {"type": "domain", "value": "refund-tax-portal.example", "comment": "sender and landing domain"},
            {"type": "url", "value": "https://refund-tax-portal.example/forms/refund.zip"},
            {"type": "ip", "value": "198.51.100.23", "comment": "command and control"},
            {"type": "ip", "value": "203.0.113.77", "comment": "command and control"},
            {"type": "email", "value": "avisos@refund-tax-portal.example"},
            {"type": "hash", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "comment": "SHA-256 of refund.zip"}
        ],
        "references": ["https://www.first.org/tlp/"]
    })
}

/// The public vulnerability advisory, with its CSAF 2.0 document (`now` dates it).
pub fn public_vulnerability_advisory(now: Timestamp, publisher_namespace: &str) -> Value {
    let csaf = demo_csaf(now, publisher_namespace);
    json!({
        "tlp": "CLEAR",
        "kind": "vulnerability-advisory",
        "severity": "critical",
        "title": "Remote code execution in Example Networks EdgeGate VPN 4.2.1 (demo)",
        "summary": "An unauthenticated attacker who can reach the management interface of an EdgeGate VPN gateway running 4.2.1 can run commands as root. Version 4.2.2 fixes it. Update now, or block the management interface from untrusted networks.",
        "body": "## Affected\n\nExample Networks EdgeGate VPN 4.2.1 (a fictitious product of the demo network).\n\n## Fixed\n\nVersion 4.2.2.\n\n## Workaround\n\nAllow the management interface (TCP 8443) only from the administrators' network.\n\nThe CSAF 2.0 document of this advisory is on the node's CSAF provider.",
        "rsit": "vulnerable/vulnerable-system",
        "sectors": ["government", "financial-services"],
        "references": ["https://www.first.org/cvss/v3.1/specification-document"],
        "payload": {"format": "csaf", "document": csaf}
    })
}

/// A CSAF 2.0 security advisory for the demo's fictitious product.
pub fn demo_csaf(now: Timestamp, publisher_namespace: &str) -> Value {
    let date = now.to_string();
    json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "distribution": {"tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}},
            "lang": "en",
            "notes": [
                {
                    "category": "summary",
                    "title": "Summary",
                    "text": "An unauthenticated attacker who can reach the management interface of an EdgeGate VPN gateway running 4.2.1 can run commands as root. Version 4.2.2 fixes it."
                },
                {
                    "category": "legal_disclaimer",
                    "title": "Demo",
                    "text": "This advisory describes a fictitious product. It was published by the Atalaya demo network."
                }
            ],
            "publisher": {
                "category": "coordinator",
                "name": "Atalaya demo network",
                "namespace": publisher_namespace
            },
            "title": "Remote code execution in Example Networks EdgeGate VPN 4.2.1 (demo)",
            "tracking": {
                "current_release_date": date,
                "id": "ATALAYA-DEMO-2026-0001",
                "initial_release_date": date,
                "revision_history": [
                    {"date": date, "number": "1", "summary": "Initial version."}
                ],
                "status": "final",
                "version": "1"
            }
        },
        "product_tree": {
            "branches": [{
                "category": "vendor",
                "name": "Example Networks (demo)",
                "branches": [{
                    "category": "product_name",
                    "name": "EdgeGate VPN",
                    "branches": [
                        {
                            "category": "product_version",
                            "name": "4.2.1",
                            "product": {
                                "name": "Example Networks EdgeGate VPN 4.2.1",
                                "product_id": "CSAFPID-0001"
                            }
                        },
                        {
                            "category": "product_version",
                            "name": "4.2.2",
                            "product": {
                                "name": "Example Networks EdgeGate VPN 4.2.2",
                                "product_id": "CSAFPID-0002"
                            }
                        }
                    ]
                }]
            }]
        },
        "vulnerabilities": [{
            "ids": [{"system_name": "Atalaya demo advisories", "text": "DEMO-2026-0001"}],
            "title": "Command injection in the management interface",
            "notes": [{
                "category": "description",
                "title": "Description",
                "text": "The management interface passes a request parameter to a shell without neutralising it."
            }],
            "product_status": {
                "known_affected": ["CSAFPID-0001"],
                "fixed": ["CSAFPID-0002"]
            },
            "remediations": [
                {
                    "category": "vendor_fix",
                    "details": "Update to EdgeGate VPN 4.2.2.",
                    "product_ids": ["CSAFPID-0001"]
                },
                {
                    "category": "workaround",
                    "details": "Allow the management interface (TCP 8443) only from the administrators' network.",
                    "product_ids": ["CSAFPID-0001"]
                }
            ],
            "scores": [{
                "products": ["CSAFPID-0001"],
                "cvss_v3": {
                    "version": "3.1",
                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    "baseScore": 9.8,
                    "baseSeverity": "CRITICAL",
                    "attackVector": "NETWORK",
                    "attackComplexity": "LOW",
                    "privilegesRequired": "NONE",
                    "userInteraction": "NONE",
                    "scope": "UNCHANGED",
                    "confidentialityImpact": "HIGH",
                    "integrityImpact": "HIGH",
                    "availabilityImpact": "HIGH"
                }
            }]
        }]
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use atalaya_core::BulletinDraft;

    #[test]
    fn both_public_bulletins_are_valid_clear_drafts() {
        let now = Timestamp::parse("2026-11-23T12:00:00Z").unwrap();
        for v in [
            public_attack_warning(),
            public_vulnerability_advisory(now, "https://cl.demo.example"),
        ] {
            let draft: BulletinDraft = serde_json::from_value(v).expect("a draft");
            assert_eq!(draft.tlp, atalaya_core::Tlp::Clear);
            draft.content.validate(now).expect("valid content");
        }
    }

    #[test]
    fn the_demo_csaf_document_passes_our_checks_and_bsis_validator() {
        let now = Timestamp::parse("2026-11-23T12:00:00Z").unwrap();
        let doc = demo_csaf(now, "https://cl.demo.example");
        let bytes = serde_json::to_vec(&doc).unwrap();
        let imported = atalaya_formats::csaf::import(&bytes, &Default::default())
            .expect("the schema and the mandatory tests pass");
        assert_eq!(imported.bulletins[0].tlp, atalaya_core::Tlp::Clear);

        let Some(dir) = std::env::var_os("ATALAYA_CSAF_VALIDATOR_DIR") else {
            panic!(
                "ATALAYA_CSAF_VALIDATOR_DIR is not set: `cargo xtask test` sets it to tests/interop/csaf (npm ci there)"
            );
        };
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let file =
            std::env::temp_dir().join(format!("atalaya-demo-csaf-{}.json", std::process::id()));
        std::fs::write(&file, &bytes).unwrap();
        let out = std::process::Command::new("node")
            .env("ATALAYA_CSAF_VALIDATOR_DIR", &dir)
            .arg(root.join("tests/interop/csaf/validate.mjs"))
            .arg(&file)
            .output()
            .expect("node (Node.js 20+) runs BSI's validator");
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            results[0]["isValid"], true,
            "BSI's validator refuses the demo's CSAF document: {results}"
        );
    }
}
