//! Keeping the directory current: warn a team (its listed contact and emergency addresses, and
//! this node's on-call roster) before one of its OpenPGP keys expires, when it has expired, when
//! it can no longer be encrypted to (its encryption subkey expired or was revoked), and when
//! nobody confirmed its contacts for too long. The coordinator's node warns its own
//! on-call roster about every team, so the network's secretariat knows too. Each warning is
//! sent once per (team, subject, stage), however often the pass runs.

use atalaya_core::directory::{self, DirectoryEntry, DirectorySettings, KeyReader, TeamRecord};
use atalaya_core::escalation::OnCallRoster;
use atalaya_core::{Clock, NodeId};
use atalaya_store::{DirectoryWarningRow, Store, StoreError};

use crate::Notifier;

/// The team records this node holds.
async fn teams(store: &dyn Store) -> Result<Vec<TeamRecord>, StoreError> {
    let mut out = Vec::new();
    for row in store.directory_entries("team").await? {
        match serde_json::from_str::<DirectoryEntry>(&row.body) {
            Ok(DirectoryEntry::Team(t)) => out.push(*t),
            _ => tracing::error!(team = %row.key, "directory entry unreadable"),
        }
    }
    Ok(out)
}

/// One pass. Returns the warnings sent in it. `read` reads a listed key's armoured form (the
/// node passes atalaya-crypto's OpenPGP reader), so an expired or revoked encryption subkey
/// is warned about too.
pub async fn directory_warnings_once(
    store: &dyn Store,
    me: &NodeId,
    coordinator: bool,
    clock: &dyn Clock,
    notifier: &Notifier,
    settings: &DirectorySettings,
    read: KeyReader<'_>,
) -> Result<Vec<DirectoryWarningRow>, StoreError> {
    let teams = teams(store).await?;
    let now = clock.now();
    let oncall: Vec<(String, Option<String>, Option<String>)> = match store.oncall().await? {
        Some(json) => serde_json::from_str::<OnCallRoster>(&json)
            .map(|r| {
                r.entries
                    .into_iter()
                    .map(|e| (e.name, e.email, e.webhook))
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut sent = Vec::new();
    for due in directory::due_warnings(&teams, now, settings, read) {
        let own = due.team.authority() == me;
        if !own && !coordinator {
            continue;
        }
        let row = DirectoryWarningRow {
            team: due.team.to_string(),
            subject: due.subject.clone(),
            stage: due.stage.clone(),
            text: due.text.clone(),
            sent: now,
            recipients: String::new(),
        };
        // Claimed first: of two passes, one sends.
        if !store.claim_directory_warning(&row).await? {
            continue;
        }
        let mut emails: Vec<(String, String)> = oncall
            .iter()
            .filter_map(|(name, email, _)| email.clone().map(|e| (name.clone(), e)))
            .collect();
        if own && let Some(team) = teams.iter().find(|t| t.id == due.team) {
            for e in &team.emails {
                if e.usage.iter().any(|u| u == "contact" || u == "emergency")
                    && !emails.iter().any(|(_, a)| a == &e.address)
                {
                    emails.push((team.short_name.clone(), e.address.clone()));
                }
            }
        }
        let subject = format!("[Atalaya] directory: {} ({})", due.team, due.stage);
        let body = format!(
            "{}\n\nSent by node {me} at {now} (UTC); you receive it as {}.\n",
            due.text,
            if own {
                "a contact of this team"
            } else {
                "the network coordinator's on-call officer"
            }
        );
        let mut outcomes = Vec::new();
        for (name, to) in &emails {
            let outcome = match notifier.email(to, &subject, &body).await {
                Ok(()) => "sent".to_owned(),
                Err(e) => e.to_string(),
            };
            outcomes.push(format!("{name} <{to}>: {outcome}"));
        }
        for (name, _, webhook) in &oncall {
            if let Some(url) = webhook {
                let payload = serde_json::json!({
                    "event": "directory-warning", "node": me, "team": due.team,
                    "subject": due.subject, "stage": due.stage, "text": due.text,
                });
                let outcome = match notifier.webhook(url, &payload).await {
                    Ok(()) => "sent".to_owned(),
                    Err(e) => e.to_string(),
                };
                outcomes.push(format!("{name} <{url}>: {outcome}"));
            }
        }
        if outcomes.is_empty() {
            outcomes.push("nobody to write to: no contact e-mail and no on-call roster".into());
        }
        let recipients = outcomes.join("\n");
        tracing::warn!(team = %due.team, stage = %due.stage, %recipients, "directory warning");
        store
            .set_directory_warning_recipients(&row.team, &row.subject, &row.stage, &recipients)
            .await?;
        sent.push(DirectoryWarningRow { recipients, ..row });
    }
    Ok(sent)
}
