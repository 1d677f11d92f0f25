//! The node's peers, its people and their tokens, its settings (sharing policy, on-call
//! roster), and each person's own account (language, time zone).

use askama::Template;
use atalaya_core::access::{Permission, Role};
use atalaya_core::escalation::{OnCallEntry, OnCallRole, OnCallRoster};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Chrome, Officer, Posted, render, render_status};
use crate::auth::Need;
use crate::auth::account_error;
use crate::auth::right::{EditOnCall, ManageUsers, ReadBulletins};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};
use atalaya_node::accounts::NewUser;

/// One peer's reachability.
#[derive(Debug, Clone)]
pub struct PeerRow {
    /// Node.
    pub node: String,
    /// Team.
    pub team: String,
    /// Country.
    pub country: String,
    /// `reachable`, `lagging`, `retrying`, `unreachable`, `unknown`.
    pub state: &'static str,
    /// Translated.
    pub state_text: String,
    /// Envelopes waiting.
    pub pending: i64,
    /// Lag (oldest waiting).
    pub lag: String,
    /// Last success.
    pub last_success: String,
    /// Last error.
    pub last_error: String,
    /// Since when it has been failing (empty when it is not).
    pub failing_since: String,
    /// Whether the duty roster was paged about its current outage.
    pub paged: bool,
}

/// A page sent about a peer going down or coming back.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// When.
    pub at: String,
    /// Node.
    pub node: String,
    /// `down` or `back`.
    pub event: &'static str,
    /// Who.
    pub target: String,
    /// How.
    pub channel: String,
    /// `sent` or why not.
    pub outcome: String,
}

/// A node's audit log found not to hold to its past, as the peers page shows it.
#[derive(Debug, Clone)]
pub struct InconsistencyRow {
    /// When it was found.
    pub at: String,
    /// The node whose log it is.
    pub node: String,
    /// Who found it.
    pub reporter: String,
    /// `audit_fork`, `audit_not_extension` or `audit_truncated`.
    pub code: String,
    /// In the finder's words.
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/peers.html")]
struct PeersPage {
    c: Chrome,
    peers: Vec<PeerRow>,
    alerts: Vec<AlertRow>,
    inconsistencies: Vec<InconsistencyRow>,
}

/// `GET /console/peers`
pub async fn peers(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
) -> Response {
    let now = state.fed.now();
    let report = match state.fed.peer_report().await {
        Ok(r) => r,
        Err(e) => return super::error_page(&o.c.tr, &ApiError::from(e)),
    };
    let alerts = match state.peers.alerts(20).await {
        Ok(a) => a,
        Err(e) => return super::error_page(&o.c.tr, &ApiError::from(e)),
    };
    let inconsistencies = match state.peers.inconsistencies(50).await {
        Ok(i) => i,
        Err(e) => return super::error_page(&o.c.tr, &ApiError::from(e)),
    };
    let inconsistencies = inconsistencies
        .into_iter()
        .map(|i| InconsistencyRow {
            at: o.c.tr.when_opt(Some(i.at)),
            node: i.node.to_string(),
            reporter: i.reporter.to_string(),
            code: i.code,
            detail: i.detail,
        })
        .collect();
    let alerts = alerts
        .into_iter()
        .map(|a| AlertRow {
            at: o.c.tr.when_opt(Some(a.at)),
            node: a.peer.to_string(),
            event: a.event.as_str(),
            target: a.target,
            channel: a.channel,
            outcome: a.outcome,
        })
        .collect();
    let peers = report
        .into_iter()
        .map(|(m, s)| {
            let st = state.fed.peer_condition(&s);
            PeerRow {
                node: m.node_id.to_string(),
                team: m.team.clone(),
                country: m.country.to_string(),
                state: st,
                state_text: o.c.tr.t(&format!("node-{st}")),
                pending: s.pending,
                lag: s
                    .oldest_pending
                    .map(|t| o.c.tr.duration(now.millis_since(t)))
                    .unwrap_or_else(|| "—".into()),
                last_success: o.c.tr.when_opt(s.last_success),
                last_error: s.last_error.unwrap_or_default(),
                failing_since: s
                    .failing_since
                    .map(|t| o.c.tr.when_opt(Some(t)))
                    .unwrap_or_default(),
                paged: s.down_alerted.is_some(),
            }
        })
        .collect();
    render(&PeersPage {
        c: o.c,
        peers,
        alerts,
        inconsistencies,
    })
}

/// An account as the users page shows it.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Login.
    pub username: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Has TOTP.
    pub totp: bool,
    /// Disabled.
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    error: Option<String>,
    created: Option<String>,
}

async fn users_page(
    state: &AppState,
    c: Chrome,
    error: Option<String>,
    created: Option<String>,
    status: StatusCode,
) -> Response {
    match state.accounts.users().await {
        Ok(list) => render_status(
            status,
            &UsersPage {
                users: list
                    .into_iter()
                    .map(|u| UserRow {
                        id: u.id,
                        username: u.username,
                        name: u.display_name,
                        role: u.role,
                        totp: u.totp_secret.is_some(),
                        disabled: u.disabled.is_some(),
                    })
                    .collect(),
                roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
                c,
                error,
                created,
            },
        ),
        Err(e) => super::error_page(&c.tr, &ApiError::from(e)),
    }
}

/// `GET /console/users`
pub async fn users(
    State(state): State<AppState>,
    Need(o, ..): Need<ManageUsers, Officer>,
) -> Response {
    users_page(&state, o.c, None, None, StatusCode::OK).await
}

/// `POST /console/users`: create an account (its password is shown once).
pub async fn create_user(
    State(state): State<AppState>,
    Need(p, ..): Need<ManageUsers, Posted>,
) -> Response {
    let c = p.officer.c.clone();
    let role = match p.get("role").unwrap_or("").parse::<Role>() {
        Ok(r) => r,
        Err(e) => {
            return users_page(&state, c, Some(e), None, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let new = NewUser {
        username: p.get("username").unwrap_or("").to_owned(),
        display_name: p.get("name").unwrap_or("").to_owned(),
        role,
        password: p.get("password").unwrap_or("").to_owned(),
        timezone: p.get("timezone").unwrap_or("UTC").to_owned(),
        mfa_exempt: false,
    };
    match state.accounts.create_user(new).await {
        Ok(u) => {
            let msg = c.tr.ta("user-created", &[("username", u.username)]);
            users_page(&state, c, None, Some(msg), StatusCode::OK).await
        }
        Err(e) => {
            let err = account_error(&e);
            users_page(&state, c, Some(err.message), None, err.status).await
        }
    }
}

async fn after_user_change(state: &AppState, o: &Officer, r: Result<(), ApiError>) -> Response {
    match r {
        Ok(()) => Redirect::to("/console/users").into_response(),
        Err(e) => users_page(state, o.c.clone(), Some(e.message), None, e.status).await,
    }
}

/// `POST /console/users/{id}/role`
pub async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<ManageUsers, Posted>,
) -> Response {
    let o = &p.officer;
    let r = async {
        let role: Role = p
            .get("role")
            .unwrap_or("")
            .parse()
            .map_err(|e: String| ErrorCode::InvalidRole.with(e))?;
        if o.session.user.id == id && role != Role::Admin {
            return Err(
                ErrorCode::OwnRole.with("an admin cannot demote themselves (another admin can)")
            );
        }
        state
            .accounts
            .set_role(&id, role)
            .await
            .map_err(|e| account_error(&e))
    }
    .await;
    after_user_change(&state, o, r).await
}

/// `POST /console/users/{id}/disable`
pub async fn disable_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<ManageUsers, Posted>,
) -> Response {
    let o = &p.officer;
    let r = if o.session.user.id == id {
        Err(ErrorCode::OwnAccount.with("you cannot disable your own account"))
    } else {
        state
            .accounts
            .set_disabled(&id, true)
            .await
            .map_err(|e| account_error(&e))
    };
    after_user_change(&state, o, r).await
}

/// `POST /console/users/{id}/enable`
pub async fn enable_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Need(p, ..): Need<ManageUsers, Posted>,
) -> Response {
    let o = &p.officer;
    let r = state
        .accounts
        .set_disabled(&id, false)
        .await
        .map_err(|e| account_error(&e));
    after_user_change(&state, o, r).await
}

/// A token as the tokens page shows it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner's username, or the node.
    pub owner: String,
    /// Scopes.
    pub scopes: String,
    /// Created.
    pub created: String,
    /// Expires.
    pub expires: String,
    /// Last used.
    pub last_used: String,
    /// Revoked.
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    c: Chrome,
    tokens: Vec<TokenRow>,
    scopes: Vec<&'static str>,
    error: Option<String>,
    issued: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    o: &Officer,
    error: Option<String>,
    issued: Option<String>,
    status: StatusCode,
) -> Response {
    let admin = o.principal.rights.contains(Permission::ManageUsers);
    let result = async {
        let list = if admin {
            state.accounts.tokens(None).await?
        } else {
            state.accounts.tokens(Some(&o.session.user.id)).await?
        };
        let users = state.accounts.users().await?;
        Ok::<_, ApiError>(
            list.into_iter()
                .map(|t| TokenRow {
                    owner: t
                        .user_id
                        .as_ref()
                        .and_then(|id| users.iter().find(|u| &u.id == id))
                        .map_or_else(|| "—".into(), |u| u.username.clone()),
                    id: t.id,
                    name: t.name,
                    scopes: t.scopes,
                    created: o.c.tr.when(t.created),
                    expires: o.c.tr.when_opt(t.expires),
                    last_used: o.c.tr.when_opt(t.last_used),
                    revoked: t.revoked.is_some(),
                })
                .collect(),
        )
    }
    .await;
    match result {
        Ok(tokens) => render_status(
            status,
            &TokensPage {
                c: o.c.clone(),
                tokens,
                scopes: o.principal.rights.iter().map(|p| p.as_str()).collect(),
                error,
                issued,
            },
        ),
        Err(e) => super::error_page(&o.c.tr, &e),
    }
}

/// `GET /console/tokens`: one's own tokens (an admin sees everybody's).
pub async fn tokens(State(state): State<AppState>, o: Officer) -> Response {
    tokens_page(&state, &o, None, None, StatusCode::OK).await
}

/// `POST /console/tokens`: issue a token with some of one's own rights; shown once.
pub async fn create_token(State(state): State<AppState>, p: Posted) -> Response {
    let o = &p.officer;
    let scopes = p.all("scopes").join(" ");
    let days = match p.get("days").map(str::parse::<u32>) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            return tokens_page(
                &state,
                o,
                Some("days: not a number".into()),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match state
        .accounts
        .issue_token(
            Some(&o.session.user),
            p.get("name").unwrap_or(""),
            &scopes,
            days,
        )
        .await
    {
        Ok((token, _)) => tokens_page(&state, o, None, Some(token), StatusCode::OK).await,
        Err(e) => {
            let err = account_error(&e);
            tokens_page(&state, o, Some(err.message), None, err.status).await
        }
    }
}

/// `POST /console/tokens/{id}/revoke`: one's own (an admin: anybody's).
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: Posted,
) -> Response {
    let o = &p.officer;
    let admin = o.principal.rights.contains(Permission::ManageUsers);
    let owner = (!admin).then_some(o.session.user.id.as_str());
    match state.accounts.revoke_token(&id, owner).await {
        Ok(()) => Redirect::to("/console/tokens").into_response(),
        Err(e) => {
            let err = account_error(&e);
            tokens_page(&state, o, Some(err.message), None, err.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    c: Chrome,
    node_id: String,
    key_ref: String,
    country: String,
    roster_version: u64,
    members: usize,
    policy: String,
    oncall: Vec<(String, String, String, String, String)>,
    step_minutes: u32,
    error: Option<String>,
    saved: bool,
}

async fn settings_page(
    state: &AppState,
    c: Chrome,
    error: Option<String>,
    saved: bool,
    status: StatusCode,
) -> Response {
    let fed = &state.fed;
    let roster = fed.roster();
    let oncall: Option<OnCallRoster> = match state.oncall.json().await {
        Ok(j) => j.and_then(|j| serde_json::from_str(&j).ok()),
        Err(e) => return super::error_page(&c.tr, &ApiError::from(e)),
    };
    let rows = OnCallRole::ORDER
        .iter()
        .map(|role| {
            let e = oncall
                .as_ref()
                .and_then(|r| r.entries.iter().find(|e| e.role == *role));
            (
                serde_json::to_value(role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                e.map(|e| e.name.clone()).unwrap_or_default(),
                e.and_then(|e| e.email.clone()).unwrap_or_default(),
                e.and_then(|e| e.webhook.clone()).unwrap_or_default(),
                e.map(|e| e.timezone.clone())
                    .unwrap_or_else(|| c.tr.tz_name.clone()),
            )
        })
        .collect();
    render_status(
        status,
        &SettingsPage {
            node_id: fed.node_id().to_string(),
            key_ref: fed.key_ref().to_owned(),
            country: roster
                .member(fed.node_id())
                .map(|m| m.country.to_string())
                .unwrap_or_default(),
            roster_version: roster.version(),
            members: roster.roster.members.len(),
            policy: serde_json::to_string_pretty(fed.node_policy().as_ref()).unwrap_or_default(),
            oncall: rows,
            step_minutes: oncall.as_ref().map_or(15, |r| r.step_minutes),
            c,
            error,
            saved,
        },
    )
}

/// `GET /console/settings`
pub async fn settings(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadBulletins, Officer>,
) -> Response {
    settings_page(&state, o.c, None, false, StatusCode::OK).await
}

/// `POST /console/settings/oncall`: the primary, secondary and lead.
pub async fn save_oncall(
    State(state): State<AppState>,
    Need(p, ..): Need<EditOnCall, Posted>,
) -> Response {
    let c = p.officer.c.clone();
    let mut entries = Vec::new();
    for role in OnCallRole::ORDER {
        let key = serde_json::to_value(role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let Some(name) = p.get(&format!("{key}_name")) else {
            continue;
        };
        entries.push(OnCallEntry {
            role,
            name: name.to_owned(),
            email: p.get(&format!("{key}_email")).map(str::to_owned),
            webhook: p.get(&format!("{key}_webhook")).map(str::to_owned),
            timezone: p
                .get(&format!("{key}_timezone"))
                .unwrap_or("UTC")
                .to_owned(),
        });
    }
    let step_minutes = p
        .get("step_minutes")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let roster = OnCallRoster {
        entries,
        step_minutes,
    };
    let checked = roster.check().and_then(|()| {
        roster
            .entries
            .iter()
            .try_for_each(|e| atalaya_node::accounts::check_timezone(&e.timezone))
    });
    if let Err(e) = checked {
        return settings_page(&state, c, Some(e), false, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let json = serde_json::to_string(&roster).unwrap_or_default();
    match state.oncall.replace(&json).await {
        Ok(()) => settings_page(&state, c, None, true, StatusCode::OK).await,
        Err(e) => super::error_page(&c.tr, &ApiError::from(e)),
    }
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    c: Chrome,
    language: String,
    codes_left: u32,
    totp: bool,
    error: Option<String>,
    saved: bool,
}

async fn account_page(
    state: &AppState,
    o: &Officer,
    error: Option<String>,
    saved: bool,
    status: StatusCode,
) -> Response {
    let codes_left = state
        .accounts
        .recovery_codes_left(&o.session.user.id)
        .await
        .unwrap_or(0);
    render_status(
        status,
        &AccountPage {
            c: o.c.clone(),
            language: o.session.user.language.clone().unwrap_or_default(),
            codes_left,
            totp: o.session.user.totp_secret.is_some(),
            error,
            saved,
        },
    )
}

/// `?saved=1` after saving.
#[derive(Debug, serde::Deserialize)]
pub struct SavedQuery {
    saved: Option<u8>,
}

/// `GET /console/account`
pub async fn account(
    State(state): State<AppState>,
    o: Officer,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    account_page(&state, &o, None, q.saved == Some(1), StatusCode::OK).await
}

/// `POST /console/account`: language and time zone.
pub async fn save_account(State(state): State<AppState>, p: Posted) -> Response {
    let o = &p.officer;
    let lang = p.get("language").filter(|l| *l != "browser");
    let tz = p.get("timezone").unwrap_or("UTC");
    match state
        .accounts
        .set_preferences(&o.session.user, lang, tz)
        .await
    {
        Ok(()) => Redirect::to("/console/account?saved=1").into_response(),
        Err(e) => {
            let err = account_error(&e);
            account_page(&state, o, Some(err.message), false, err.status).await
        }
    }
}

/// `POST /console/language`: the switcher in the header; back to the page it was used on.
pub async fn set_language(State(state): State<AppState>, p: Posted) -> Response {
    let o = &p.officer;
    let lang = p.get("language").unwrap_or("");
    match state
        .accounts
        .set_preferences(&o.session.user, Some(lang), &o.session.user.timezone)
        .await
    {
        Ok(()) => {
            let back = p
                .get("back")
                .filter(|b| b.starts_with("/console") && !b.starts_with("//"))
                .unwrap_or("/console");
            Redirect::to(back).into_response()
        }
        Err(e) => super::error_page(&o.c.tr, &account_error(&e)),
    }
}
