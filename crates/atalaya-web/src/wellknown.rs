//! `/.well-known/*`: what anyone may fetch about the team running this node.

use atalaya_core::directory::TeamId;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// `GET /.well-known/security.txt` (RFC 9116): how to report a security problem to this node's
/// team, from the public view of its directory record. 404 until the team published one.
pub async fn security_txt(State(state): State<AppState>) -> Response {
    let me = state.fed.node_id().clone();
    let team = match state.fed.team(TeamId::of_node(&me).as_str()).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "This node's team has not published its directory record yet.\n",
            )
                .into_response();
        }
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let base = state
        .fed
        .roster()
        .member(&me)
        .map(|m| m.endpoint.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let languages: Vec<&str> = atalaya_core::member_states::by_code(team.country.as_str())
        .map(|s| s.languages.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let text = atalaya_formats::security_txt::security_txt(
        &team,
        &format!("{base}/.well-known/security.txt"),
        &format!("{base}/directory"),
        Some(&format!("{base}/.well-known/csaf/provider-metadata.json")),
        &languages,
        state.fed.now(),
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}
