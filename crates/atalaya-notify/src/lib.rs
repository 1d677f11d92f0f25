//! Telling people: e-mail over SMTP and webhooks, and the escalation loop that calls a team's
//! on-call roster when a bulletin's acknowledgement deadline passes unanswered, or at once when
//! the bulletin's origin re-notifies.

pub mod directory;
pub mod peers;

pub use directory::directory_warnings_once;
pub use peers::peer_alerts_once;

use std::sync::Arc;
use std::time::Duration;

use atalaya_core::escalation::{self, OnCallEntry, OnCallRoster};
use atalaya_core::{Bulletin, Clock, NodeId};
use atalaya_store::{EscalationRecord, ReceivedRenotify, Store};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

/// How this node sends notifications.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    /// SMTP server, as a URL: `smtp://host:25` (STARTTLS when offered is not forced),
    /// `smtp://host:587?tls=required`, `smtps://user@host:465` with the password in
    /// `smtp_password_file`. Empty: no e-mail.
    pub smtp_url: String,
    /// A file (mode 0600, relative to the data directory) holding the SMTP password for the
    /// user named in `smtp_url`; empty: none. A password written inside `smtp_url` still
    /// works, but is masked wherever the settings are shown.
    pub smtp_password_file: std::path::PathBuf,
    /// The sender address of escalation mail.
    pub mail_from: String,
    /// Milliseconds between looks for overdue acknowledgements.
    pub escalation_tick_ms: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            smtp_password_file: std::path::PathBuf::new(),
            mail_from: "atalaya@localhost".into(),
            escalation_tick_ms: 30_000,
        }
    }
}

impl NotifySettings {
    /// `smtp_url` with any password in it replaced by `***`: how it is shown and logged.
    pub fn masked_smtp_url(&self) -> String {
        mask_url_password(&self.smtp_url)
    }
}

impl std::fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySettings")
            .field("smtp_url", &self.masked_smtp_url())
            .field("smtp_password_file", &self.smtp_password_file)
            .field("mail_from", &self.mail_from)
            .field("escalation_tick_ms", &self.escalation_tick_ms)
            .finish()
    }
}

/// A URL with the password of its user information replaced by `***` (unparsable: all of it).
pub fn mask_url_password(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "***".into(),
    }
}

/// A failed notification.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No SMTP server configured.
    #[error("no SMTP server configured (notify.smtp_url)")]
    NoSmtp,
    /// The message could not be built (bad address).
    #[error("bad message: {0}")]
    Message(String),
    /// The SMTP exchange failed.
    #[error("smtp: {0}")]
    Smtp(String),
    /// The webhook call failed.
    #[error("webhook: {0}")]
    Webhook(String),
}

/// Sends e-mail and webhooks.
pub struct Notifier {
    settings: NotifySettings,
    /// The SMTP user and password from `smtp_password_file`, and the URL without them.
    smtp_login: Option<(String, Zeroizing<String>)>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier with these settings.
    pub fn new(settings: NotifySettings) -> Result<Self, NotifyError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyError::Webhook(e.to_string()))?;
        let smtp_login = if settings.smtp_password_file.as_os_str().is_empty() {
            None
        } else {
            let path = &settings.smtp_password_file;
            atalaya_crypto::check_secret_file_permissions(path)
                .map_err(|e| NotifyError::Smtp(e.to_string()))?;
            let password = Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| NotifyError::Smtp(format!("{}: {e}", path.display())))?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            );
            let url = reqwest::Url::parse(&settings.smtp_url)
                .map_err(|e| NotifyError::Smtp(format!("smtp_url: {e}")))?;
            if url.username().is_empty() {
                return Err(NotifyError::Smtp(
                    "smtp_password_file is set but smtp_url names no user (smtps://user@host)"
                        .into(),
                ));
            }
            if url.password().is_some() {
                return Err(NotifyError::Smtp(
                    "smtp_url carries a password and smtp_password_file is set: keep only the file"
                        .into(),
                ));
            }
            Some((url.username().to_owned(), password))
        };
        Ok(Self {
            settings,
            smtp_login,
            http,
        })
    }

    /// Send a plain-text e-mail.
    pub async fn email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        if self.settings.smtp_url.is_empty() {
            return Err(NotifyError::NoSmtp);
        }
        let message = Message::builder()
            .from(
                self.settings
                    .mail_from
                    .parse()
                    .map_err(|e| NotifyError::Message(format!("from: {e}")))?,
            )
            .to(to
                .parse()
                .map_err(|e| NotifyError::Message(format!("to: {e}")))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| NotifyError::Message(e.to_string()))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.settings.smtp_url)
            .map_err(|e| NotifyError::Smtp(e.to_string()))?
            .timeout(Some(Duration::from_secs(10)));
        if let Some((user, password)) = &self.smtp_login {
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user.clone(),
                    password.to_string(),
                ));
        }
        let transport = builder.build();
        transport
            .send(message)
            .await
            .map_err(|e| NotifyError::Smtp(e.to_string()))?;
        Ok(())
    }

    /// POST a JSON document to a webhook.
    pub async fn webhook(&self, url: &str, payload: &serde_json::Value) -> Result<(), NotifyError> {
        let resp = self
            .http
            .post(url)
            .json(payload)
            .send()
            .await
            .map_err(|e| NotifyError::Webhook(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(NotifyError::Webhook(format!("answered {}", resp.status())));
        }
        Ok(())
    }
}

/// One call made to a person: on which channel, to which address (`name <address>`), and
/// `sent` or why it was not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `email` or `webhook`.
    pub channel: &'static str,
    /// `name <address>`.
    pub target: String,
    /// `sent`, or the error.
    pub outcome: String,
}

impl Notifier {
    /// Call a person on every channel they have: an e-mail with `subject` and `body`, a
    /// webhook with `payload`. Failures are outcomes, not errors: the caller records them.
    pub async fn page(
        &self,
        person: &OnCallEntry,
        subject: &str,
        body: &str,
        payload: &serde_json::Value,
    ) -> Vec<Call> {
        let outcome = |r: Result<(), NotifyError>| match r {
            Ok(()) => "sent".to_owned(),
            Err(e) => e.to_string(),
        };
        let mut calls = Vec::new();
        if let Some(to) = &person.email {
            calls.push(Call {
                channel: "email",
                target: format!("{} <{to}>", person.name),
                outcome: outcome(self.email(to, subject, body).await),
            });
        }
        if let Some(url) = &person.webhook {
            calls.push(Call {
                channel: "webhook",
                target: format!("{} <{url}>", person.name),
                outcome: outcome(self.webhook(url, payload).await),
            });
        }
        calls
    }
}

/// The title as a message may carry it: e-mail crosses mail servers and webhooks reach
/// pagers, so above TLP:GREEN a message says only the kind and the label, never the title.
fn title_in_message(b: &Bulletin) -> Option<&str> {
    (b.tlp <= atalaya_core::Tlp::Green).then_some(b.content.title.as_str())
}

/// The subject line: `[Atalaya node] WHAT LABEL: title` (`…: kind` above GREEN).
fn subject_line(node: &NodeId, what: &str, b: &Bulletin) -> String {
    let about = title_in_message(b).unwrap_or(b.content.kind.as_str());
    format!("[Atalaya {node}] {what} {}: {about}", b.tlp.label())
}

/// The `Title:` line of a message body ("withheld" above GREEN).
fn title_line(b: &Bulletin) -> String {
    title_in_message(b).map_or_else(
        || format!("(withheld: {} — read it on the node)", b.tlp.label()),
        str::to_owned,
    )
}

/// What the escalation message says.
fn escalation_text(node: &NodeId, b: &Bulletin, role: escalation::OnCallRole) -> (String, String) {
    let deadline = b
        .content
        .ack_required_by
        .map(|d| d.to_string())
        .unwrap_or_default();
    let subject = subject_line(node, "UNACKNOWLEDGED", b);
    let body = format!(
        "A bulletin from {origin} has not been acknowledged by anyone at {node}.\n\n\
         Title:     {title}\n\
         Label:     {tlp}\n\
         Kind:      {kind}\n\
         Severity:  {severity:?}\n\
         Deadline:  {deadline} (UTC)\n\
         Bulletin:  {id}\n\
         You are called as: {role:?}\n\n\
         Acknowledge it in the console or with:\n\
         curl -X POST -H 'Authorization: Bearer <token>' <node>/api/v1/bulletins/{id}/ack\n\n\
         The content is not in this message: read it on the node.\n",
        origin = b.origin,
        title = title_line(b),
        tlp = b.tlp.label(),
        kind = b.content.kind.as_str(),
        severity = b.content.severity,
        id = b.id,
    );
    (subject, body)
}

/// One pass: call whoever's turn has come for every overdue bulletin. Returns the calls made.
pub async fn escalate_once(
    store: &dyn Store,
    me: &NodeId,
    clock: &dyn Clock,
    notifier: &Notifier,
) -> Result<Vec<EscalationRecord>, atalaya_store::StoreError> {
    let Some(json) = store.oncall().await? else {
        return Ok(Vec::new());
    };
    let roster: OnCallRoster = match serde_json::from_str(&json) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "on-call roster unreadable");
            return Ok(Vec::new());
        }
    };
    let now = clock.now();
    let mut made = Vec::new();
    for b in store.overdue_for(me, now).await? {
        let Some(deadline) = b.content.ack_required_by else {
            continue;
        };
        let called: Vec<i64> = store
            .escalations(b.id)
            .await?
            .iter()
            // Calls made for a renotify are not steps of the deadline schedule.
            .filter(|e| e.renotify.is_none())
            .map(|e| e.level)
            .collect();
        for role in escalation::due(deadline, roster.step_minutes, now, &called) {
            let (subject, body) = escalation_text(me, &b, role);
            for person in roster.entries.iter().filter(|e| e.role == role) {
                let payload = serde_json::json!({
                    "event": "acknowledgement-overdue", "node": me, "bulletin": b.id,
                    "title": title_in_message(&b), "kind": b.content.kind.as_str(),
                    "tlp": b.tlp, "deadline": deadline,
                    "role": role, "person": person.name,
                });
                for call in notifier.page(person, &subject, &body, &payload).await {
                    tracing::warn!(bulletin = %b.id, ?role, person = %person.name, channel = call.channel, outcome = %call.outcome, "escalation");
                    let record = EscalationRecord {
                        bulletin: b.id,
                        level: role.level(),
                        target: call.target,
                        channel: call.channel.to_owned(),
                        outcome: call.outcome,
                        at: now,
                        renotify: None,
                    };
                    store.record_escalation(&record).await?;
                    made.push(record);
                }
            }
            if roster.entries.iter().all(|e| e.role != role) {
                // Nobody on this step: record it so the step is not retried forever.
                let record = EscalationRecord {
                    bulletin: b.id,
                    level: role.level(),
                    target: "nobody on call".into(),
                    channel: "none".into(),
                    outcome: "no one to call at this step".into(),
                    at: now,
                    renotify: None,
                };
                store.record_escalation(&record).await?;
                made.push(record);
            }
        }
    }
    Ok(made)
}

/// What the re-notification message says.
fn renotify_text(
    node: &NodeId,
    b: &Bulletin,
    r: &ReceivedRenotify,
    person: &OnCallEntry,
) -> (String, String) {
    let subject = subject_line(node, "RE-NOTIFIED, STILL UNACKNOWLEDGED", b);
    let deadline = b
        .content
        .ack_required_by
        .map_or_else(|| "none".to_owned(), |d| format!("{d} (UTC)"));
    let body = format!(
        "{origin} re-notified {node} about a bulletin nobody here has acknowledged yet.\n\n\
         Title:     {title}\n\
         Label:     {tlp}\n\
         Kind:      {kind}\n\
         Severity:  {severity:?}\n\
         Deadline:  {deadline}\n\
         Bulletin:  {id}\n\
         Asked by:  {by} at {origin}, {at} (UTC)\n\
         You are called as: {role:?} (the whole on-call roster is called)\n\n\
         Acknowledge it in the console or with:\n\
         curl -X POST -H 'Authorization: Bearer <token>' <node>/api/v1/bulletins/{id}/ack\n\n\
         The content is not in this message: read it on the node.\n",
        origin = r.origin,
        title = title_line(b),
        tlp = b.tlp.label(),
        kind = b.content.kind.as_str(),
        severity = b.content.severity,
        id = b.id,
        by = r.by,
        at = r.at,
        role = person.role,
    );
    (subject, body)
}

/// One pass over the re-notifications received: for each not yet acted on, call the whole
/// on-call roster at once (every step), recorded as escalation calls of that renotify, then
/// mark it handled so it is never acted on twice. Returns the calls made.
pub async fn renotify_once(
    store: &dyn Store,
    me: &NodeId,
    clock: &dyn Clock,
    notifier: &Notifier,
) -> Result<Vec<EscalationRecord>, atalaya_store::StoreError> {
    let pending = store.pending_renotifies().await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let roster: Option<OnCallRoster> = match store.oncall().await? {
        Some(json) => match serde_json::from_str(&json) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "on-call roster unreadable");
                None
            }
        },
        None => None,
    };
    let mut made = Vec::new();
    for r in pending {
        let now = clock.now();
        let record =
            |level: i64, target: String, channel: &str, outcome: String| EscalationRecord {
                bulletin: r.bulletin,
                level,
                target,
                channel: channel.to_owned(),
                outcome,
                at: now,
                renotify: Some(r.envelope),
            };
        let Some(b) = store.bulletin(r.bulletin).await? else {
            // Checked on arrival; a bulletin cannot disappear. Nothing to call about.
            store.mark_renotify_handled(r.envelope, now).await?;
            continue;
        };
        let mut calls = Vec::new();
        let acknowledged = store
            .acks(b.bulletin.id)
            .await?
            .iter()
            .any(|a| &a.node == me);
        let people = roster.as_ref().map_or(&[][..], |r| r.entries.as_slice());
        if acknowledged {
            // Acknowledged here while the renotify was on its way: nobody needs waking.
            calls.push(record(
                0,
                "nobody called".into(),
                "none",
                "already acknowledged here".into(),
            ));
        } else if people.is_empty() {
            calls.push(record(
                0,
                "nobody on call".into(),
                "none",
                "no one on the on-call roster".into(),
            ));
        }
        // Calls already recorded for this renotify (a pass cut short) are not made again.
        let done: Vec<(String, String)> = store
            .escalations(b.bulletin.id)
            .await?
            .into_iter()
            .filter(|e| e.renotify == Some(r.envelope))
            .map(|e| (e.channel, e.target))
            .collect();
        for person in people.iter().filter(|_| !acknowledged) {
            let (subject, body) = renotify_text(me, &b.bulletin, &r, person);
            if let Some(to) = &person.email {
                let target = format!("{} <{to}>", person.name);
                if !done.contains(&("email".to_owned(), target.clone())) {
                    let outcome = match notifier.email(to, &subject, &body).await {
                        Ok(()) => "sent".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    calls.push(record(person.role.level(), target, "email", outcome));
                }
            }
            if let Some(url) = &person.webhook {
                let target = format!("{} <{url}>", person.name);
                if !done.contains(&("webhook".to_owned(), target.clone())) {
                    let payload = serde_json::json!({
                        "event": "renotify", "renotify": r.envelope, "node": me,
                        "bulletin": b.bulletin.id,
                        "title": title_in_message(&b.bulletin),
                        "kind": b.bulletin.content.kind.as_str(), "tlp": b.bulletin.tlp,
                        "deadline": b.bulletin.content.ack_required_by, "origin": r.origin,
                        "asked_by": r.by, "asked_at": r.at, "role": person.role,
                        "person": person.name,
                    });
                    let outcome = match notifier.webhook(url, &payload).await {
                        Ok(()) => "sent".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    calls.push(record(person.role.level(), target, "webhook", outcome));
                }
            }
        }
        for call in calls {
            tracing::warn!(bulletin = %call.bulletin, renotify = %r.envelope, target = %call.target, channel = %call.channel, outcome = %call.outcome, "renotify call");
            store.record_escalation(&call).await?;
            made.push(call);
        }
        store.mark_renotify_handled(r.envelope, now).await?;
    }
    Ok(made)
}

/// Run escalation passes (the deadline schedule, then re-notifications received) every
/// `escalation_tick_ms`, and at once when `wake` is notified (a renotify arrived), until
/// cancelled.
pub async fn run(
    store: Arc<dyn Store>,
    me: NodeId,
    clock: Arc<dyn Clock>,
    notifier: Arc<Notifier>,
    tick: Duration,
    wake: Arc<tokio::sync::Notify>,
    cancel: CancellationToken,
) {
    loop {
        if let Err(e) = escalate_once(store.as_ref(), &me, clock.as_ref(), &notifier).await {
            tracing::error!(error = %e, "escalation pass failed");
        }
        if let Err(e) = renotify_once(store.as_ref(), &me, clock.as_ref(), &notifier).await {
            tracing::error!(error = %e, "renotify pass failed");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
            () = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn settings(url: &str, file: &std::path::Path) -> NotifySettings {
        NotifySettings {
            smtp_url: url.into(),
            smtp_password_file: file.to_path_buf(),
            ..Default::default()
        }
    }

    #[test]
    fn the_smtp_password_file_is_checked_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp.password");
        std::fs::write(&file, "s3cret-pass\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Notifier::new(settings("smtps://atalaya@mail.example:465", &file)).unwrap_err();
        assert!(
            err.to_string().contains("0644") || err.to_string().contains("permission"),
            "{err}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let n = Notifier::new(settings("smtps://atalaya@mail.example:465", &file)).unwrap();
        let login = n.smtp_login.as_ref().unwrap();
        assert_eq!(
            (login.0.as_str(), login.1.as_str()),
            ("atalaya", "s3cret-pass")
        );
        assert!(!format!("{n:?}").contains("s3cret"));
        let err = Notifier::new(settings("smtps://mail.example:465", &file)).unwrap_err();
        assert!(err.to_string().contains("names no user"), "{err}");
        let err = Notifier::new(settings("smtps://a:b@mail.example:465", &file)).unwrap_err();
        assert!(err.to_string().contains("keep only the file"), "{err}");
        let missing = dir.path().join("nope");
        assert!(Notifier::new(settings("smtps://a@mail.example:465", &missing)).is_err());
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            mask_url_password("smtps://u:p%40ss@mail.example:465"),
            "smtps://u:***@mail.example:465"
        );
        assert_eq!(
            mask_url_password("smtp://mail.example:25"),
            "smtp://mail.example:25"
        );
        assert_eq!(mask_url_password("not a url"), "***");
        assert_eq!(mask_url_password(""), "");
        let s = settings(
            "smtps://u:hunter2@mail.example:465",
            std::path::Path::new(""),
        );
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
