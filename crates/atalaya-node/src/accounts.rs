//! People at a node: accounts, login with a password and a second factor, sessions and scoped
//! API tokens. Console pages, API handlers and the command line call this; it holds the rules.
//!
//! Holding a login after repeated failures is the HTTP edge's rate limiter: the edge passes it
//! in as a [`LoginGuard`] to each call that checks a secret, and the service says when an
//! attempt failed or passed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atalaya_core::access::{self, Permissions, Role};
use atalaya_core::{Clock, Entropy, EntropyRng, ids};
use atalaya_crypto::{password, totp};
use atalaya_store::{ApiToken, SessionRecord, Store, StoreError, UserRecord};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Console and session settings (`[console]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Minutes without a request after which a session ends (a watch shift is 12 hours).
    pub session_idle_minutes: u32,
    /// Hours after which a session ends whatever happens.
    pub session_max_hours: u32,
    /// Send the session cookie only over HTTPS (`Secure`, `__Host-` prefix). Turn off only
    /// for a node reached over plain HTTP on loopback (the demo, tests).
    pub secure_cookie: bool,
    /// Failed logins per account within the window before the account is held.
    pub max_failures_per_account: u32,
    /// Failed logins per client address within the window before the address is held.
    pub max_failures_per_address: u32,
    /// The window, in minutes.
    pub failure_window_minutes: u32,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_idle_minutes: 720,
            session_max_hours: 24,
            secure_cookie: true,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            failure_window_minutes: 15,
        }
    }
}

/// Why an account operation was refused. Each has a stable code for the API and the console.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong username or password (never says which).
    #[error("wrong username or password")]
    BadCredentials,
    /// Wrong or reused second-factor code.
    #[error("wrong or already used code")]
    BadCode,
    /// Too many failures: held for a while.
    #[error("too many failed attempts; try again in {minutes} minutes")]
    TooManyAttempts {
        /// Minutes until the hold lifts.
        minutes: i64,
    },
    /// The account is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// Input that breaks a rule (username, password, role, scopes, time zone, language).
    #[error("{0}")]
    Invalid(String),
    /// The username is taken.
    #[error("the username {0:?} is taken")]
    Taken(String),
    /// No such account or token.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Asking for rights one does not have.
    #[error("{0}")]
    Forbidden(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error("password hashing: {0}")]
    Hash(String),
}

impl AccountError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::BadCredentials => "bad_credentials",
            AccountError::BadCode => "bad_code",
            AccountError::TooManyAttempts { .. } => "too_many_attempts",
            AccountError::Disabled => "account_disabled",
            AccountError::Invalid(_) => "invalid_request",
            AccountError::Taken(_) => "username_taken",
            AccountError::NotFound(_) => "not_found",
            AccountError::Forbidden(_) => "forbidden",
            AccountError::Store(_) | AccountError::Hash(_) => "internal_error",
        }
    }
}

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Initial password.
    pub password: String,
    /// IANA time zone.
    pub timezone: String,
    /// Demo only.
    pub mfa_exempt: bool,
}

/// What the person must do after a correct password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing: the session is complete.
    Done,
    /// Give the TOTP code (or a recovery code).
    Totp,
    /// Enrol a second factor first (the role requires one).
    Enrol,
}

/// A session as a request sees it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stored session.
    pub record: SessionRecord,
    /// Its account.
    pub user: UserRecord,
}

impl Session {
    /// The account's role (an unknown stored role reads as read-only: least privilege).
    pub fn role(&self) -> Role {
        self.user.role.parse().unwrap_or(Role::ReadOnly)
    }
}

/// Languages of the console.
pub const LANGUAGES: [&str; 4] = ["en", "es", "pt", "fr"];

/// Whether `tz` is an IANA time zone this node knows.
pub fn check_timezone(tz: &str) -> Result<(), String> {
    if tz.len() <= 64 && jiff::tz::TimeZone::get(tz).is_ok() {
        Ok(())
    } else {
        Err(format!("{tz:?} is not an IANA time zone"))
    }
}

/// SHA-256 hex: how session ids and token secrets are kept.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How an API token is kept: its SHA-256, never the token.
pub fn api_token_hash(token: &str) -> String {
    sha256_hex(token)
}

/// What holds logins after repeated failures: the HTTP edge's rate limiter, by account and by
/// client address. Only failures count; a correct password clears the account's.
pub trait LoginGuard: Send + Sync {
    /// How long until `username` from `address` may try again, when either is held.
    fn held(&self, username: &str, address: &str) -> Option<Duration>;
    /// Count a failed attempt against both.
    fn failed(&self, username: &str, address: &str);
    /// A correct password: forget the account's failures.
    fn passed(&self, username: &str);
}

/// The account service of a node.
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    /// The settings it runs with.
    pub settings: ConsoleSettings,
    /// TOTP secrets being enrolled, by session hash (confirmed ones go to the account).
    enrolling: Mutex<HashMap<String, String>>,
}

impl Accounts {
    /// The service over a node's store, clock and randomness.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        settings: ConsoleSettings,
    ) -> Self {
        Self {
            store,
            clock,
            entropy,
            settings,
            enrolling: Mutex::default(),
        }
    }

    fn random_hex(&self, bytes: usize) -> String {
        ids::random_hex(bytes, &mut EntropyRng(self.entropy.as_ref()))
    }

    async fn hash(&self, password: &str) -> Result<String, AccountError> {
        let entropy = self.entropy.clone();
        let password = password.to_owned();
        // Argon2id is deliberately slow: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            password::hash_password(&password, &mut EntropyRng(entropy.as_ref()))
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .map_err(|e| AccountError::Hash(e.to_string()))
    }

    async fn verify(password: &str, hash: &str) -> bool {
        let (p, h) = (password.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || password::verify_password(&p, &h).unwrap_or(false))
            .await
            .unwrap_or(false)
    }

    /// Create an account.
    pub async fn create_user(&self, new: NewUser) -> Result<UserRecord, AccountError> {
        access::check_username(&new.username).map_err(AccountError::Invalid)?;
        access::check_password(&new.password).map_err(AccountError::Invalid)?;
        check_timezone(&new.timezone).map_err(AccountError::Invalid)?;
        let display = new.display_name.trim();
        if display.is_empty() || display.chars().count() > 100 {
            return Err(AccountError::Invalid(
                "the display name needs 1-100 characters".into(),
            ));
        }
        let now = self.clock.now();
        let user = UserRecord {
            id: ids::new_id(now, &mut EntropyRng(self.entropy.as_ref())).to_string(),
            username: new.username.clone(),
            display_name: display.to_owned(),
            role: new.role.as_str().to_owned(),
            password_hash: self.hash(&new.password).await?,
            totp_secret: None,
            totp_last_step: None,
            language: None,
            timezone: new.timezone,
            mfa_exempt: new.mfa_exempt,
            created: now,
            disabled: None,
        };
        if !self.store.add_user(&user).await? {
            return Err(AccountError::Taken(new.username));
        }
        Ok(user)
    }

    /// Refuse when either the account or the address is held by its recent failures.
    fn check_limits(
        guard: &dyn LoginGuard,
        username: &str,
        address: &str,
    ) -> Result<(), AccountError> {
        match guard.held(username, address) {
            Some(wait) => Err(AccountError::TooManyAttempts {
                minutes: i64::try_from(wait.as_secs().div_ceil(60))
                    .unwrap_or(i64::MAX)
                    .max(1),
            }),
            None => Ok(()),
        }
    }

    /// Check a password; on success open a session and say what is still needed. Returns the
    /// cookie value (shown once, never stored) and the session.
    pub async fn login(
        &self,
        username: &str,
        pass: &str,
        address: &str,
        guard: &dyn LoginGuard,
    ) -> Result<(String, Session, NextStep), AccountError> {
        if username.len() > 64 || pass.len() > 1024 {
            return Err(AccountError::BadCredentials);
        }
        Self::check_limits(guard, username, address)?;
        let user = self.store.user_by_name(username).await?;
        // The same Argon2 work whether or not the account exists.
        let hash = user
            .as_ref()
            .map_or(password::decoy_hash(), |u| u.password_hash.as_str());
        let ok = Self::verify(pass, hash).await && user.is_some();
        let Some(user) = user.filter(|_| ok) else {
            guard.failed(username, address);
            return Err(AccountError::BadCredentials);
        };
        if user.disabled.is_some() {
            return Err(AccountError::Disabled);
        }
        guard.passed(username);
        let role: Role = user.role.parse().unwrap_or(Role::ReadOnly);
        let next = if user.totp_secret.is_some() {
            NextStep::Totp
        } else if role.requires_mfa() && !user.mfa_exempt {
            NextStep::Enrol
        } else {
            NextStep::Done
        };
        let now = self.clock.now();
        let cookie = self.random_hex(32);
        let record = SessionRecord {
            id_hash: sha256_hex(&cookie),
            user_id: user.id.clone(),
            csrf: self.random_hex(32),
            mfa_done: next == NextStep::Done,
            address: address.chars().take(64).collect(),
            created: now,
            last_seen: now,
            expires: now.plus_millis(i64::from(self.settings.session_max_hours) * 3_600_000),
        };
        self.store.add_session(&record).await?;
        Ok((cookie, Session { record, user }, next))
    }

    /// The live session behind a cookie value: unknown, expired (idle or absolute) or of a
    /// disabled account gives `None` (and an expired one is deleted).
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, AccountError> {
        if cookie.len() != 64 || !cookie.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hash = sha256_hex(cookie);
        let Some(record) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let idle = i64::from(self.settings.session_idle_minutes) * 60_000;
        if now >= record.expires || now.millis_since(record.last_seen) >= idle {
            self.store.delete_session(&hash).await?;
            return Ok(None);
        }
        let Some(user) = self.store.user_by_id(&record.user_id).await? else {
            return Ok(None);
        };
        if user.disabled.is_some() {
            self.store.delete_session(&hash).await?;
            return Ok(None);
        }
        // Activity is written at most once a minute.
        let mut record = record;
        if now.millis_since(record.last_seen) >= 60_000 {
            self.store
                .update_session(&hash, now, record.mfa_done)
                .await?;
            record.last_seen = now;
        }
        Ok(Some(Session { record, user }))
    }

    /// End a session.
    pub async fn logout(&self, session: &Session) -> Result<(), AccountError> {
        self.store.delete_session(&session.record.id_hash).await?;
        Ok(())
    }

    /// Complete a login with a TOTP code or a recovery code.
    pub async fn second_factor(
        &self,
        session: &Session,
        code: &str,
        address: &str,
        guard: &dyn LoginGuard,
    ) -> Result<(), AccountError> {
        let username = &session.user.username;
        Self::check_limits(guard, username, address)?;
        let Some(secret) = &session.user.totp_secret else {
            return Err(AccountError::BadCode);
        };
        let now = self.clock.now();
        let ok = match totp::verify(
            secret,
            code,
            now.unix_seconds(),
            session.user.totp_last_step,
        ) {
            Some(step) => self.store.advance_totp_step(&session.user.id, step).await?,
            None if code.trim().len() > 6 => {
                self.store
                    .use_recovery_code(&session.user.id, &totp::recovery_code_hash(code), now)
                    .await?
            }
            None => false,
        };
        if !ok {
            guard.failed(username, address);
            return Err(AccountError::BadCode);
        }
        self.store
            .update_session(&session.record.id_hash, now, true)
            .await?;
        Ok(())
    }

    /// Start (or continue) TOTP enrolment for a session: the secret to show as a QR code.
    pub fn enrolment_secret(&self, session: &Session) -> String {
        let mut map = self.enrolling.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(session.record.id_hash.clone())
            .or_insert_with(|| totp::new_secret(&mut EntropyRng(self.entropy.as_ref())))
            .clone()
    }

    /// Confirm enrolment with a first code: the secret is kept, the session completed, and
    /// ten recovery codes returned (shown once).
    pub async fn confirm_enrolment(
        &self,
        session: &Session,
        code: &str,
        guard: &dyn LoginGuard,
    ) -> Result<Vec<String>, AccountError> {
        let secret = self
            .enrolling
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session.record.id_hash)
            .cloned()
            .ok_or(AccountError::BadCode)?;
        let now = self.clock.now();
        let Some(step) = totp::verify(&secret, code, now.unix_seconds(), None) else {
            guard.failed(&session.user.username, &session.record.address);
            return Err(AccountError::BadCode);
        };
        let mut user = session.user.clone();
        user.totp_secret = Some(secret);
        user.totp_last_step = Some(step);
        self.store.update_user(&user).await?;
        let codes = totp::new_recovery_codes(&mut EntropyRng(self.entropy.as_ref()));
        let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_code_hash(c)).collect();
        self.store.set_recovery_codes(&user.id, &hashes).await?;
        self.store
            .update_session(&session.record.id_hash, now, true)
            .await?;
        self.enrolling
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&session.record.id_hash);
        Ok(codes)
    }

    /// Set a person's language and time zone.
    pub async fn set_preferences(
        &self,
        user: &UserRecord,
        language: Option<&str>,
        timezone: &str,
    ) -> Result<(), AccountError> {
        if let Some(l) = language
            && !LANGUAGES.contains(&l)
        {
            return Err(AccountError::Invalid(format!(
                "unknown language {l:?} (en, es, pt, fr)"
            )));
        }
        check_timezone(timezone).map_err(AccountError::Invalid)?;
        let mut u = user.clone();
        u.language = language.map(str::to_owned);
        u.timezone = timezone.to_owned();
        self.store.update_user(&u).await?;
        Ok(())
    }

    /// Change an account's role (admins only, checked by the caller); ends its sessions so
    /// the new rights apply at once.
    pub async fn set_role(&self, user_id: &str, role: Role) -> Result<(), AccountError> {
        let mut u = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AccountError::NotFound("account"))?;
        u.role = role.as_str().to_owned();
        self.store.update_user(&u).await?;
        self.store.delete_user_sessions(user_id).await?;
        Ok(())
    }

    /// Disable or re-enable an account; disabling ends its sessions and its tokens stop working.
    pub async fn set_disabled(&self, user_id: &str, disabled: bool) -> Result<(), AccountError> {
        let mut u = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AccountError::NotFound("account"))?;
        u.disabled = disabled.then(|| self.clock.now());
        self.store.update_user(&u).await?;
        self.store.delete_user_sessions(user_id).await?;
        Ok(())
    }

    /// Set a new password; ends every session of the account.
    pub async fn set_password(&self, user_id: &str, password: &str) -> Result<(), AccountError> {
        access::check_password(password).map_err(AccountError::Invalid)?;
        let mut u = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AccountError::NotFound("account"))?;
        u.password_hash = self.hash(password).await?;
        self.store.update_user(&u).await?;
        self.store.delete_user_sessions(user_id).await?;
        Ok(())
    }

    /// Issue an API token. A person's token holds at most the person's rights. Returns the
    /// token (shown once) and its record.
    pub async fn issue_token(
        &self,
        owner: Option<&UserRecord>,
        name: &str,
        scopes: &str,
        valid_days: Option<u32>,
    ) -> Result<(String, ApiToken), AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccountError::Invalid(
                "a token needs a name of 1-100 characters".into(),
            ));
        }
        let wanted = Permissions::parse_scopes(scopes).map_err(AccountError::Invalid)?;
        if let Some(u) = owner {
            let role: Role = u.role.parse().unwrap_or(Role::ReadOnly);
            if !role.permissions().includes(wanted) {
                let extra: Vec<_> = wanted
                    .iter()
                    .filter(|p| !role.permissions().contains(*p))
                    .map(|p| p.as_str())
                    .collect();
                return Err(AccountError::Forbidden(format!(
                    "a {role} cannot give a token rights it does not have: {}",
                    extra.join(" ")
                )));
            }
        }
        if valid_days.is_some_and(|d| d == 0 || d > 3650) {
            return Err(AccountError::Invalid(
                "a token is valid for 1 to 3650 days".into(),
            ));
        }
        let now = self.clock.now();
        let id = self.random_hex(8);
        let secret = self.random_hex(24);
        let token = format!("atl_{id}_{secret}");
        let record = ApiToken {
            id,
            name: name.to_owned(),
            user_id: owner.map(|u| u.id.clone()),
            scopes: wanted.to_scopes(),
            created: now,
            expires: valid_days.map(|d| now.plus_millis(i64::from(d) * 86_400_000)),
            last_used: None,
            revoked: None,
        };
        self.store
            .add_api_token(&record, &sha256_hex(&token))
            .await?;
        Ok((token, record))
    }

    /// The rights and name behind a bearer token: the token's scopes, narrowed to its owner's
    /// current role (so demoting a person narrows their tokens too).
    pub async fn token(
        &self,
        bearer: &str,
    ) -> Result<Option<(ApiToken, Option<UserRecord>, Permissions)>, AccountError> {
        let now = self.clock.now();
        let Some(t) = self
            .store
            .api_token_by_hash(&sha256_hex(bearer), now)
            .await?
        else {
            return Ok(None);
        };
        let scopes = Permissions::parse_scopes(&t.scopes).unwrap_or(Permissions::NONE);
        let (owner, rights) = match &t.user_id {
            None => (None, scopes),
            Some(uid) => match self.store.user_by_id(uid).await? {
                Some(u) if u.disabled.is_none() => {
                    let role: Role = u.role.parse().unwrap_or(Role::ReadOnly);
                    let r = scopes.intersect(role.permissions());
                    (Some(u), r)
                }
                _ => return Ok(None),
            },
        };
        self.store.touch_api_token(&t.id, now).await?;
        Ok(Some((t, owner, rights)))
    }

    /// Revoke a token. `owner` limits it to that person's tokens (admins pass `None`).
    pub async fn revoke_token(&self, id: &str, owner: Option<&str>) -> Result<(), AccountError> {
        if let Some(uid) = owner {
            let mine = self.store.api_tokens(Some(uid)).await?;
            if !mine.iter().any(|t| t.id == id) {
                return Err(AccountError::NotFound("token"));
            }
        }
        if self.store.revoke_api_token(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(AccountError::NotFound("token"))
        }
    }

    /// Every account, by username.
    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.store.users().await
    }

    /// Tokens, newest first: all (`None`), or those of one account.
    pub async fn tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiToken>, StoreError> {
        self.store.api_tokens(user_id).await
    }

    /// How many recovery codes a person has left.
    pub async fn recovery_codes_left(&self, user_id: &str) -> Result<u32, AccountError> {
        Ok(self.store.recovery_codes_left(user_id).await?)
    }
}
