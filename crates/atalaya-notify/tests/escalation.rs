//! Escalation with the clock injected (no sleeping on deadlines), a real SMTP server
//! (aiosmtpd, from the test virtualenv) and a real webhook receiver on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atalaya_core::{Bulletin, BulletinDraft, FixedClock, NodeId, Timestamp};
use atalaya_notify::{Notifier, NotifySettings, escalate_once, renotify_once};
use atalaya_store::{NewEnvelope, SqliteOptions, SqliteStore, Store};
use uuid::Uuid;

fn python() -> String {
    match std::env::var("ATALAYA_INTEROP_PYTHON") {
        Ok(p) if std::path::Path::new(&p).exists() => p,
        _ => panic!(
            "ATALAYA_INTEROP_PYTHON is not set: run through `cargo xtask test`, which sets up the \
             Python virtualenv with the SMTP sink (aiosmtpd)"
        ),
    }
}

// Ports handed to other processes (the SMTP sink) or that must stay unused are reserved, not
// found free and released: see the allocator's header.
#[path = "../../atalaya/tests/common/ports.rs"]
#[allow(dead_code)]
mod ports;
use ports::reserve_port;

/// aiosmtpd with its Debugging handler: every message is printed to stdout.
struct SmtpSink {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    fn start() -> Self {
        let port = reserve_port();
        let mut child = Command::new(python())
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Debugging",
                "-l",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, lines }
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A webhook receiver: answers 200 and keeps the bodies.
fn webhook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            // Read headers and body (small requests: one or two reads).
            loop {
                let n = s.read(&mut buf).unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len || n == 0 {
                        keep.lock().unwrap().push(body.to_owned());
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

fn t(min: i64) -> Timestamp {
    Timestamp::parse("2026-11-22T12:00:00Z")
        .unwrap()
        .plus_millis(min * 60_000)
}

fn overdue_bulletin(deadline: Timestamp) -> NewEnvelope {
    overdue_labelled(deadline, "GREEN")
}

fn overdue_labelled(deadline: Timestamp, tlp: &str) -> NewEnvelope {
    let draft: BulletinDraft = serde_json::from_value(serde_json::json!({
        "tlp": tlp, "kind": "attack-warning", "severity": "critical",
        "title": "Wiper spreading through shared VPN", "summary": "Act now.",
        "ack_required_by": deadline
    }))
    .unwrap();
    let id = Uuid::from_u128(0x0193_6b2e_0000_7000_8000_0000_0000_0042);
    let b = Bulletin::new(draft, id, NodeId::new("cl-csirt").unwrap(), t(-60)).unwrap();
    NewEnvelope {
        id,
        kind: "bulletin".into(),
        origin: b.origin.clone(),
        created: b.created,
        tlp: tlp.into(),
        audience: "{\"scope\":\"network\"}".into(),
        raw: "{}".into(),
        bulletin: Some(b),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_bulletin_calls_the_on_call_roster_step_by_step() {
    let smtp = SmtpSink::start();
    let (hook, hooks) = webhook_receiver();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db"), &SqliteOptions::default())
        .await
        .unwrap();
    let me = NodeId::new("mx-csirt").unwrap();
    let env = overdue_bulletin(t(0));
    store
        .ingest(std::slice::from_ref(&env), t(-59))
        .await
        .unwrap();
    let roster = serde_json::json!({
        "step_minutes": 15,
        "entries": [
            {"role": "primary", "name": "Ana", "email": "ana@csirt.example.mx", "webhook": hook, "timezone": "America/Mexico_City"},
            {"role": "secondary", "name": "Beto", "email": "beto@csirt.example.mx", "timezone": "America/Mexico_City"},
            {"role": "lead", "name": "Carla", "email": "carla@csirt.example.mx", "timezone": "America/Mexico_City"}
        ]
    });
    store.set_oncall(&roster.to_string(), t(-59)).await.unwrap();
    let notifier = Notifier::new(NotifySettings {
        smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
        mail_from: "atalaya@mx-csirt.example".into(),
        escalation_tick_ms: 1000,
        ..Default::default()
    })
    .unwrap();
    let clock = FixedClock::new(t(-1));

    assert!(
        escalate_once(&store, &me, &clock, &notifier)
            .await
            .unwrap()
            .is_empty(),
        "before the deadline"
    );
    clock.set(t(0));
    let calls = escalate_once(&store, &me, &clock, &notifier).await.unwrap();
    let got: Vec<(&str, &str)> = calls
        .iter()
        .map(|c| (c.channel.as_str(), c.outcome.as_str()))
        .collect();
    assert_eq!(got, [("email", "sent"), ("webhook", "sent")], "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.level == 0 && c.target.starts_with("Ana"))
    );
    assert!(
        escalate_once(&store, &me, &clock, &notifier)
            .await
            .unwrap()
            .is_empty(),
        "called once per step"
    );
    clock.set(t(15));
    let calls = escalate_once(&store, &me, &clock, &notifier).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].target.starts_with("Beto"));

    // Acknowledged at last: the lead is never called.
    let ack = atalaya_store::AckRecord {
        node: me.clone(),
        by: "beto".into(),
        note: "investigating".into(),
        comment: None,
        at: t(20),
    };
    store.save_ack(env.id, &ack, Uuid::nil()).await.unwrap();
    clock.set(t(40));
    assert!(
        escalate_once(&store, &me, &clock, &notifier)
            .await
            .unwrap()
            .is_empty()
    );

    // The real SMTP server got the two messages, the webhook its call.
    let start = Instant::now();
    while !(smtp.text().contains("beto@csirt.example.mx")
        && smtp.text().contains("ana@csirt.example.mx"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mail not received: {}",
            smtp.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mail = smtp.text();
    assert!(
        mail.contains("Subject: [Atalaya mx-csirt] UNACKNOWLEDGED TLP:GREEN: Wiper spreading"),
        "{mail}"
    );
    assert!(
        mail.contains("2026-11-22T12:00:00.000Z (UTC)"),
        "the deadline with its zone: {mail}"
    );
    assert!(!mail.contains("carla@"), "the lead was not called");
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let call: serde_json::Value = serde_json::from_str(&hooks[0]).unwrap();
    assert_eq!(call["event"], "acknowledgement-overdue");
    assert_eq!(call["role"], "primary");
    assert_eq!(store.escalations(env.id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_green_a_call_names_kind_and_label_never_the_title() {
    let smtp = SmtpSink::start();
    let (hook, hooks) = webhook_receiver();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db"), &SqliteOptions::default())
        .await
        .unwrap();
    let me = NodeId::new("mx-csirt").unwrap();
    store
        .ingest(&[overdue_labelled(t(0), "AMBER")], t(-59))
        .await
        .unwrap();
    let roster = serde_json::json!({
        "step_minutes": 15,
        "entries": [{"role": "primary", "name": "Ana", "email": "ana@csirt.example.mx",
                     "webhook": hook, "timezone": "UTC"}]
    });
    store.set_oncall(&roster.to_string(), t(-59)).await.unwrap();
    let notifier = Notifier::new(NotifySettings {
        smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
        mail_from: "atalaya@mx-csirt.example".into(),
        escalation_tick_ms: 1000,
        ..Default::default()
    })
    .unwrap();
    let clock = FixedClock::new(t(1));
    let calls = escalate_once(&store, &me, &clock, &notifier).await.unwrap();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let start = Instant::now();
    while !smtp.text().contains("ana@csirt.example.mx") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mail not received"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mail = smtp.text();
    assert!(
        mail.contains("Subject: [Atalaya mx-csirt] UNACKNOWLEDGED TLP:AMBER: attack-warning"),
        "{mail}"
    );
    assert!(
        !mail.contains("Wiper"),
        "the AMBER title left in a mail: {mail}"
    );
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    assert!(
        !hooks[0].contains("Wiper"),
        "the title in a webhook: {}",
        hooks[0]
    );
    let call: serde_json::Value = serde_json::from_str(&hooks[0]).unwrap();
    assert_eq!(call["kind"], "attack-warning");
    assert_eq!(call["tlp"], "AMBER");
}

#[tokio::test]
async fn a_failing_channel_is_recorded_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db"), &SqliteOptions::default())
        .await
        .unwrap();
    let me = NodeId::new("mx-csirt").unwrap();
    let env = overdue_bulletin(t(0));
    store
        .ingest(std::slice::from_ref(&env), t(-59))
        .await
        .unwrap();
    let dead = reserve_port();
    store
        .set_oncall(
            &serde_json::json!({"entries": [{"role": "primary", "name": "Ana", "email": "ana@x.example", "webhook": format!("http://127.0.0.1:{dead}/"), "timezone": "UTC"}]}).to_string(),
            t(0),
        )
        .await
        .unwrap();
    let notifier = Notifier::new(NotifySettings::default()).unwrap();
    let calls = escalate_once(&store, &me, &FixedClock::new(t(1)), &notifier)
        .await
        .unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.outcome != "sent"), "{calls:?}");
    assert!(
        calls
            .iter()
            .any(|c| c.outcome.contains("no SMTP server configured"))
    );
}

#[tokio::test]
async fn a_renotify_calls_the_whole_roster_at_once_and_only_once() {
    let (hook, hooks) = webhook_receiver();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db"), &SqliteOptions::default())
        .await
        .unwrap();
    let me = NodeId::new("mx-csirt").unwrap();
    // Deadline an hour ahead: the schedule calls nobody yet, the renotify calls everyone.
    let env = overdue_bulletin(t(60));
    store
        .ingest(std::slice::from_ref(&env), t(-59))
        .await
        .unwrap();
    store
        .set_oncall(
            &serde_json::json!({"entries": [
                {"role": "primary", "name": "Ana", "webhook": hook, "timezone": "America/Mexico_City"},
                {"role": "lead", "name": "Carla", "webhook": hook, "timezone": "America/Mexico_City"}
            ]})
            .to_string(),
            t(0),
        )
        .await
        .unwrap();
    let notifier = Notifier::new(NotifySettings::default()).unwrap();
    let clock = FixedClock::new(t(1));
    let renotify = Uuid::from_u128(0xabc);
    store
        .save_renotify_received(&atalaya_store::ReceivedRenotify {
            envelope: renotify,
            bulletin: env.id,
            origin: NodeId::new("cl-csirt").unwrap(),
            by: "ana".into(),
            at: t(0),
            received: t(0),
        })
        .await
        .unwrap();
    assert!(
        escalate_once(&store, &me, &clock, &notifier)
            .await
            .unwrap()
            .is_empty(),
        "the deadline is ahead"
    );
    let calls = renotify_once(&store, &me, &clock, &notifier).await.unwrap();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.level, c.channel.as_str(), c.outcome.as_str(), c.renotify))
            .collect::<Vec<_>>(),
        [
            (0, "webhook", "sent", Some(renotify)),
            (2, "webhook", "sent", Some(renotify))
        ],
        "primary and lead together"
    );
    assert!(
        renotify_once(&store, &me, &clock, &notifier)
            .await
            .unwrap()
            .is_empty(),
        "never twice for the same renotify"
    );
    // The schedule still runs on its own when the deadline comes: the renotify calls are not
    // its steps.
    clock.set(t(60));
    let scheduled = escalate_once(&store, &me, &clock, &notifier).await.unwrap();
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].renotify, None);
    let bodies = hooks.lock().unwrap().clone();
    let events: Vec<serde_json::Value> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(
        events.iter().filter(|e| e["event"] == "renotify").count(),
        2
    );
    assert_eq!(events[0]["origin"], "cl-csirt");
    assert_eq!(events[0]["asked_by"], "ana");
    assert_eq!(store.escalations(env.id).await.unwrap().len(), 3);

    // Acknowledged here before a second renotify arrived: nobody is woken.
    let ack = atalaya_store::AckRecord {
        node: me.clone(),
        by: "ana".into(),
        note: "received".into(),
        comment: None,
        at: t(61),
    };
    store.save_ack(env.id, &ack, Uuid::nil()).await.unwrap();
    store
        .save_renotify_received(&atalaya_store::ReceivedRenotify {
            envelope: Uuid::from_u128(0xabd),
            bulletin: env.id,
            origin: NodeId::new("cl-csirt").unwrap(),
            by: "ana".into(),
            at: t(62),
            received: t(62),
        })
        .await
        .unwrap();
    let calls = renotify_once(&store, &me, &clock, &notifier).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].channel.as_str(), calls[0].outcome.as_str()),
        ("none", "already acknowledged here")
    );
    assert_eq!(hooks.lock().unwrap().len(), 3, "no new call");
}

/// The teams of the first test list keys by fingerprint only: the reader is never asked.
fn no_reader(_: &str) -> Result<atalaya_core::directory::ArmoredKeyFacts, String> {
    Err("no armoured keys in this test".into())
}

/// A team record as the directory holds it (the JSON of a `directory-record` body).
fn team_entry(
    id: &str,
    country: &str,
    key_expires: &str,
    confirmed: Option<&str>,
) -> atalaya_store::DirectoryRow {
    let team = serde_json::json!({
        "record": "team",
        "data": {
            "id": id, "official_name": id, "short_name": id.to_uppercase(), "country": country,
            "team_type": "national",
            "emails": [
                {"address": format!("{id}@example.org"), "usage": ["contact"], "public": true},
                {"address": format!("abuse-{id}@example.org"), "usage": ["abuse"], "public": true}
            ],
            "pgp_keys": [{"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567", "expires": key_expires}],
            "contacts_confirmed": confirmed,
            "updated": "2026-11-01T00:00:00Z"
        }
    });
    atalaya_store::DirectoryRow {
        record: "team".into(),
        key: id.into(),
        authority: NodeId::new(id.split('/').next().unwrap()).unwrap(),
        created: t(-1000),
        envelope: Uuid::from_u128(id.len() as u128),
        body: team.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_about_to_expire_warns_the_team_and_the_coordinator_once() {
    use atalaya_core::directory::DirectorySettings;
    use atalaya_notify::directory_warnings_once;
    let smtp = SmtpSink::start();
    let notifier = Notifier::new(NotifySettings {
        smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
        mail_from: "atalaya@example.org".into(),
        escalation_tick_ms: 1000,
        ..Default::default()
    })
    .unwrap();
    let settings = DirectorySettings::default();
    let open = |name: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{name}.db"));
        (dir, path)
    };
    let (_d1, member_db) = open("member");
    let (_d2, coordinator_db) = open("coordinator");
    let member = SqliteStore::open(&member_db, &SqliteOptions::default())
        .await
        .unwrap();
    let coordinator = SqliteStore::open(&coordinator_db, &SqliteOptions::default())
        .await
        .unwrap();
    // The test clock is 2026-11-22: one key expires in 20 days, the other in 200; the first
    // team's contacts were confirmed last week, the second's never.
    for store in [&member, &coordinator] {
        store
            .save_directory_entry(&team_entry(
                "mx-csirt",
                "MX",
                "2026-12-12",
                Some("2026-11-15T00:00:00Z"),
            ))
            .await
            .unwrap();
        store
            .save_directory_entry(&team_entry("pe-csirt", "PE", "2027-06-10", None))
            .await
            .unwrap();
    }
    coordinator
        .set_oncall(
            &serde_json::json!({"entries": [{"role": "primary", "name": "Secretariat", "email": "duty@oas.example.org", "timezone": "America/New_York"}]}).to_string(),
            t(0),
        )
        .await
        .unwrap();
    let clock = FixedClock::new(t(0));
    let mx = NodeId::new("mx-csirt").unwrap();
    let sent = directory_warnings_once(
        &member, &mx, false, &clock, &notifier, &settings, &no_reader,
    )
    .await
    .unwrap();
    // The member warns about its own team only: its key (contact address, not the abuse one).
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].team.as_str(), sent[0].stage.as_str()),
        ("mx-csirt", "expiring")
    );
    assert_eq!(sent[0].recipients, "MX-CSIRT <mx-csirt@example.org>: sent");
    // Once: a second pass sends nothing.
    assert!(
        directory_warnings_once(
            &member, &mx, false, &clock, &notifier, &settings, &no_reader
        )
        .await
        .unwrap()
        .is_empty()
    );
    // The coordinator warns its on-call officer about every team: the key, and the contacts
    // nobody ever confirmed.
    let oas = NodeId::new("oas-coord").unwrap();
    let sent = directory_warnings_once(
        &coordinator,
        &oas,
        true,
        &clock,
        &notifier,
        &settings,
        &no_reader,
    )
    .await
    .unwrap();
    let what: Vec<(&str, &str)> = sent
        .iter()
        .map(|w| (w.team.as_str(), w.subject.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            ("mx-csirt", "0123456789ABCDEF0123456789ABCDEF01234567"),
            ("pe-csirt", "contacts")
        ]
    );
    assert!(
        sent.iter()
            .all(|w| w.recipients == "Secretariat <duty@oas.example.org>: sent"),
        "{sent:?}"
    );
    // The mail arrived, saying which key and when.
    let start = Instant::now();
    while !smtp.text().contains("duty@oas.example.org") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no mail: {}",
            smtp.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Quoted-printable: undo the soft line breaks.
    let mail = smtp.text().replace("=\n", "");
    assert!(
        mail.contains("Subject: [Atalaya] directory: mx-csirt (expiring)"),
        "{mail}"
    );
    assert!(
        mail.contains("expires on 2026-12-12 (in 20 days)"),
        "{mail}"
    );
    assert!(mail.contains("mx-csirt@example.org"), "{mail}");
    // After the key has expired, a new warning.
    clock.set(t(60 * 24 * 30));
    let sent = directory_warnings_once(
        &member, &mx, false, &clock, &notifier, &settings, &no_reader,
    )
    .await
    .unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].stage, "expired");
    assert_eq!(member.directory_warnings(10).await.unwrap().len(), 2);
}

/// The node's reader of armoured keys: atalaya-crypto's, which verifies every self-signature
/// (as `atalaya_node::directory::read_armored_key` does for the running node).
fn crypto_reader(armored: &str) -> Result<atalaya_core::directory::ArmoredKeyFacts, String> {
    use atalaya_core::directory::{ArmoredKeyFacts, Day, EncryptionKeyFacts};
    let key =
        atalaya_crypto::openpgp::parse_public_key(armored.as_bytes()).map_err(|e| e.to_string())?;
    let day = |s: i64| Timestamp::from_unix_millis(s * 1000).map(Day::of);
    Ok(ArmoredKeyFacts {
        revoked: key.revoked,
        encryption_keys: key
            .encryption_keys()
            .into_iter()
            .map(|k| EncryptionKeyFacts {
                fingerprint: k.fingerprint,
                expires: k.expires.and_then(day),
                revoked: k.revoked,
            })
            .collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rsa_key_whose_encryption_subkey_expired_warns_the_team() {
    use atalaya_core::directory::DirectorySettings;
    use atalaya_notify::directory_warnings_once;
    let smtp = SmtpSink::start();
    let notifier = Notifier::new(NotifySettings {
        smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
        mail_from: "atalaya@example.org".into(),
        escalation_tick_ms: 1000,
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("member.db"), &SqliteOptions::default())
        .await
        .unwrap();
    // An RSA-3072 key valid until 2034 whose only encryption subkey expired on 2025-01-02
    // (GnuPG-made, see crates/atalaya-crypto/tests/fixtures/openpgp/README.md): the old
    // reader called it fine.
    let armored =
        include_str!("../../atalaya-crypto/tests/fixtures/openpgp/rsa-subkey-expired.asc");
    let mut row = team_entry("mx-csirt", "MX", "2034-12-30", Some("2026-11-15T00:00:00Z"));
    let mut body: serde_json::Value = serde_json::from_str(&row.body).unwrap();
    body["data"]["pgp_keys"] = serde_json::json!([{
        "fingerprint": "441BD02D0C9CFB4C952295B19E0B0699D8AE4221",
        "expires": "2034-12-30",
        "armored": armored,
    }]);
    row.body = body.to_string();
    store.save_directory_entry(&row).await.unwrap();
    let clock = FixedClock::new(t(0));
    let mx = NodeId::new("mx-csirt").unwrap();
    let settings = DirectorySettings::default();
    // With the reader that only trusts fingerprints, nothing is wrong: the primary key is
    // valid for years.
    assert!(
        directory_warnings_once(&store, &mx, false, &clock, &notifier, &settings, &no_reader)
            .await
            .unwrap()
            .iter()
            .all(|w| w.stage != "expiring" && w.stage != "expired")
    );
    let sent = directory_warnings_once(
        &store,
        &mx,
        false,
        &clock,
        &notifier,
        &settings,
        &crypto_reader,
    )
    .await
    .unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].stage,
        "encryption-expired-954D8B0DD06D6DE37EA0D9FA39D6CC9F83C1577F-2025-01-02"
    );
    assert_eq!(sent[0].recipients, "MX-CSIRT <mx-csirt@example.org>: sent");
    let start = Instant::now();
    while !smtp.text().contains("mx-csirt@example.org") {
        assert!(start.elapsed() < Duration::from_secs(10), "no mail");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mail = smtp.text().replace("=\n", "");
    assert!(
        mail.contains("encryption subkey 954D8B0DD06D6DE37EA0D9FA39D6CC9F83C1577F")
            && mail.contains("expired on 2025-01-02"),
        "{mail}"
    );
    // Once.
    assert!(
        directory_warnings_once(
            &store,
            &mx,
            false,
            &clock,
            &notifier,
            &settings,
            &crypto_reader
        )
        .await
        .unwrap()
        .is_empty()
    );
}
