//! The TAXII 2.1 server (OASIS Standard, June 2021) at `/taxii2/`: discovery, one API root
//! (`/taxii2/api/`), its collections, objects with paging, manifests, versions, and status.
//!
//! Collections follow the network's audiences, and the sharing policy decides every object of
//! every request:
//! - `public`: what the public may see (`Action::PublishPublic` for `Actor::Public`: TLP:CLEAR,
//!   embargo over, not retracted); readable without credentials;
//! - `network`: everything the node holds that the token's owner may export
//!   (`Action::Export` for `Actor::Person`);
//! - `country-xx`, one per member country of the roster: the `network` objects of bulletins
//!   addressed to that country (by country, or by naming one of its nodes).
//!
//! Clients authenticate with an API token, as `Authorization: Bearer <token>` or as the
//! password of HTTP Basic. Every error is a TAXII error resource. The STIX objects are kept in
//! the store, made from the bulletins table the first time a request needs them
//! ([`TaxiiState::sync`]), so a large collection pages straight from an index.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};

use atalaya_core::access::Permission;
use atalaya_core::policy::{Action, Actor, Item};
use atalaya_core::{Audience, CountryCode, EntropyRng, EnvelopeKind, Tlp, ids};
use atalaya_federation::Federation;
use atalaya_formats::exchange::{ImportError, ImportOptions, Imported};
use atalaya_formats::stix::{export, markings};
use atalaya_formats::taxii::{self as proto, Cursor, Query};
use atalaya_store::{NewStixObject, StixLabels, StixQuery, StixRow, StoreError};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{Principal, Via};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// Largest body a client may post (announced as the API root's `max_content_length`).
pub const MAX_CONTENT_LENGTH: usize = crate::edge::body_limit::TAXII;

/// Status resources kept for clients to read back.
const STATUSES_KEPT: usize = 1_000;

/// Bulletins turned into STIX objects per store transaction.
const SYNC_BATCH: u32 = 20;
/// About how many STIX objects one save of the sync holds in memory.
const SYNC_OBJECTS: usize = 5_000;

/// An importer of STIX 2.1 bundles (e.g. `atalaya_formats::stix::import`), for posted objects.
pub type StixImporter = fn(&[u8], &ImportOptions) -> Result<Imported, ImportError>;

/// What the TAXII server keeps between requests.
#[derive(Default)]
pub struct TaxiiState {
    statuses: Mutex<VecDeque<(String, Value)>>,
    importer: RwLock<Option<StixImporter>>,
    sync: tokio::sync::Mutex<()>,
}

impl TaxiiState {
    /// A server that takes posted objects with `importer`.
    pub fn with_importer(importer: StixImporter) -> Self {
        let s = Self::default();
        s.set_importer(importer);
        s
    }

    /// Take posted objects with this importer (without one, posted objects are checked and
    /// refused with a reason in their status).
    pub fn set_importer(&self, importer: StixImporter) {
        if let Ok(mut i) = self.importer.write() {
            *i = Some(importer);
        }
    }

    fn importer(&self) -> Option<StixImporter> {
        self.importer.read().ok().and_then(|i| *i)
    }

    /// Turn every bulletin the store holds and has not yet exported into STIX objects kept for
    /// paging. Cheap when there is nothing new. Returns the number of objects added.
    pub async fn sync(&self, fed: &Federation) -> Result<u64, StoreError> {
        let _one_at_a_time = self.sync.lock().await;
        let mut added = 0;
        loop {
            let backlog = fed.store.stix_backlog(SYNC_BATCH).await?;
            let Some((position, _)) = backlog.last() else {
                return Ok(added);
            };
            let position = *position;
            // Saved in pieces of about SYNC_OBJECTS, each with the position it reaches, so
            // memory stays bounded whatever the bulletins hold.
            let mut objects = Vec::new();
            for (at, record) in &backlog {
                objects.extend(stix_rows(&record.bulletin));
                if objects.len() >= SYNC_OBJECTS && *at != position {
                    added += fed
                        .store
                        .save_stix_objects(*at, &objects, fed.now())
                        .await?;
                    objects.clear();
                }
            }
            added += fed
                .store
                .save_stix_objects(position, &objects, fed.now())
                .await?;
        }
    }

    fn keep_status(&self, owner: &str, status: Value) {
        if let Ok(mut s) = self.statuses.lock() {
            if s.len() >= STATUSES_KEPT {
                s.pop_front();
            }
            s.push_back((owner.to_owned(), status));
        }
    }

    fn status(&self, owner: &str, id: &str) -> Option<Value> {
        let s = self.statuses.lock().ok()?;
        s.iter()
            .find(|(o, v)| o == owner && v["id"] == id)
            .map(|(_, v)| v.clone())
    }
}

/// The rows a bulletin's STIX objects are kept as: its own objects carry its labels; the
/// issuing node's identity and the TLP markings are shared and public.
pub fn stix_rows(b: &atalaya_core::Bulletin) -> Vec<NewStixObject> {
    let labels = StixLabels {
        bulletin: b.id,
        origin: b.origin.clone(),
        tlp: tlp_wire(b.tlp).to_owned(),
        audience: serde_json::to_string(&b.audience).unwrap_or_default(),
        embargo_until: b.embargo_until,
        people: serde_json::to_string(&b.people).unwrap_or_else(|_| "[]".into()),
        retracted: false,
    };
    export::bulletin_objects(b)
        .into_iter()
        .map(|o| {
            let kind = o["type"].as_str().unwrap_or("").to_owned();
            let version = export::version_of(&o).unwrap_or("").to_owned();
            let shared = matches!(kind.as_str(), "identity" | "marking-definition");
            // A marking definition is filed under the label it stands for: the GREEN marking
            // never shows in the public collection, which would tell that GREEN items exist.
            let tlp = match kind.as_str() {
                "marking-definition" => markings::tlp_of_marking(&o).unwrap_or(Tlp::Red),
                "identity" => Tlp::Clear,
                _ => b.tlp,
            };
            NewStixObject {
                tlp: tlp_wire(tlp).to_owned(),
                object_id: o["id"].as_str().unwrap_or("").to_owned(),
                version_us: proto::parse_timestamp(&version).unwrap_or(0),
                version,
                spec_version: o["spec_version"].as_str().unwrap_or("2.1").to_owned(),
                labels: (!shared).then(|| labels.clone()),
                json: o.to_string(),
                kind,
            }
        })
        .collect()
}

fn tlp_wire(t: Tlp) -> &'static str {
    t.label().trim_start_matches("TLP:")
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A TAXII error resource (TAXII 2.1 §3.6.1) with its HTTP status.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl TaxiiError {
    fn of(code: ErrorCode, description: impl Into<String>) -> Self {
        Self::new(code.status(), code.as_str(), description)
    }

    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
        }
    }
}

impl From<ApiError> for TaxiiError {
    fn from(e: ApiError) -> Self {
        Self::new(e.status, e.code, e.message)
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e).into()
    }
}

impl From<proto::TaxiiError> for TaxiiError {
    fn from(e: proto::TaxiiError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.code, e.message)
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = json!({
            "title": title,
            "description": self.description,
            "error_code": self.code,
            "http_status": self.status.as_u16().to_string(),
        });
        let mut resp = taxii_response(self.status, body.to_string());
        if self.status == StatusCode::UNAUTHORIZED {
            let h = resp.headers_mut();
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"taxii2\""),
            );
            h.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"taxii2\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}

type Result<T, E = TaxiiError> = std::result::Result<T, E>;

fn taxii_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(proto::MEDIA_TYPE),
    );
    resp
}

fn unauthorized(description: &str) -> TaxiiError {
    TaxiiError::of(ErrorCode::Unauthorized, description)
}

fn not_found(what: &str) -> TaxiiError {
    TaxiiError::of(ErrorCode::NotFound, format!("no such {what}"))
}

// ---------------------------------------------------------------------------------------------
// Request checks

/// 406 unless the client accepts a TAXII 2.1 resource.
fn check_accept(headers: &HeaderMap) -> Result<()> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if proto::accepts_taxii(accept) {
        Ok(())
    } else {
        Err(TaxiiError::of(
            ErrorCode::NotAcceptable,
            format!("this server answers with {}", proto::MEDIA_TYPE),
        ))
    }
}

/// The caller, from `Authorization: Bearer <token>` or `Basic` with the token as password;
/// `None` without credentials; 401 for wrong ones.
async fn caller(headers: &HeaderMap, state: &AppState) -> Result<Option<Principal>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("unreadable Authorization header"))?;
    let token = if let Some(t) = value.strip_prefix("Bearer ") {
        t.trim().to_owned()
    } else if let Some(b) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| unauthorized("Basic credentials are not base64 of user:token"))?;
        decoded
            .split_once(':')
            .map(|(_, p)| p.to_owned())
            .ok_or_else(|| unauthorized("Basic credentials are not user:token"))?
    } else {
        return Err(unauthorized(
            "send `Authorization: Bearer <API token>` or Basic with the token as password",
        ));
    };
    if token.is_empty() || token.len() > 256 {
        return Err(unauthorized("unknown, expired or revoked API token"));
    }
    match state
        .accounts
        .token(&token)
        .await
        .map_err(|e| TaxiiError::from(crate::auth::account_error(&e)))?
    {
        Some((t, owner, rights)) => Ok(Some(Principal {
            name: owner
                .as_ref()
                .map_or_else(|| t.name.clone(), |u| u.username.clone()),
            display_name: owner
                .as_ref()
                .map_or_else(|| t.name.clone(), |u| u.display_name.clone()),
            user_id: owner.map(|u| u.id),
            rights,
            via: Via::Token(t.id),
        })),
        None => Err(unauthorized("unknown, expired or revoked API token")),
    }
}

// ---------------------------------------------------------------------------------------------
// Collections

/// Which objects a collection holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// What the public may see.
    Public,
    /// Everything the caller may export.
    Network,
    /// What the caller may export of bulletins addressed to a country.
    Country(CountryCode),
}

/// A collection of this node's API root.
#[derive(Debug, Clone)]
pub struct Collection {
    /// Its id (a UUID derived from the node and the alias, stable across restarts).
    pub id: Uuid,
    /// `public`, `network`, `country-xx`.
    pub alias: String,
    /// What it holds.
    pub scope: Scope,
}

/// The collections of this node: `public`, `network`, then one per member country.
pub fn collections(fed: &Federation) -> Vec<Collection> {
    let make = |alias: String, scope| Collection {
        id: export::stix_uuid(
            &export::NAMESPACE,
            format!("taxii-collection:{}:{alias}", fed.node_id()).as_bytes(),
        ),
        alias,
        scope,
    };
    let mut out = vec![
        make("public".into(), Scope::Public),
        make("network".into(), Scope::Network),
    ];
    let mut countries: Vec<CountryCode> = fed
        .roster()
        .roster
        .members
        .iter()
        .map(|m| m.country)
        .collect();
    countries.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    countries.dedup();
    for c in countries {
        out.push(make(
            format!("country-{}", c.as_str().to_ascii_lowercase()),
            Scope::Country(c),
        ));
    }
    out
}

fn find_collection(fed: &Federation, id: &str) -> Result<Collection> {
    collections(fed)
        .into_iter()
        .find(|c| c.id.to_string() == id || c.alias == id)
        .ok_or_else(|| not_found("collection"))
}

fn can_read(c: &Collection, who: Option<&Principal>) -> bool {
    c.scope == Scope::Public || who.is_some_and(|p| p.rights.contains(Permission::ReadBulletins))
}

fn can_write(c: &Collection, who: Option<&Principal>) -> bool {
    c.scope != Scope::Public && who.is_some_and(|p| p.rights.contains(Permission::Publish))
}

/// 401 without credentials, 403 without the right to read it.
fn require_read(c: &Collection, who: Option<&Principal>) -> Result<()> {
    if can_read(c, who) {
        return Ok(());
    }
    match who {
        None => Err(unauthorized(
            "this collection needs an API token (Bearer, or Basic with the token as password)",
        )),
        Some(p) => Err(TaxiiError::of(
            ErrorCode::Forbidden,
            format!(
                "{} may not read this collection (needs bulletins:read)",
                p.name
            ),
        )),
    }
}

fn collection_resource(c: &Collection, who: Option<&Principal>) -> Value {
    let (title, description) = match &c.scope {
        Scope::Public => (
            "Public advisories".to_owned(),
            "TLP:CLEAR objects the node publishes to everyone".to_owned(),
        ),
        Scope::Network => (
            "Network".to_owned(),
            "Every object of the network's bulletins that you may export".to_owned(),
        ),
        Scope::Country(cc) => (
            format!("Addressed to {}", cc.as_str()),
            format!(
                "Objects of bulletins addressed to {} that you may export",
                cc.as_str()
            ),
        ),
    };
    json!({
        "id": c.id.to_string(),
        "title": title,
        "description": description,
        "alias": c.alias,
        "can_read": can_read(c, who),
        "can_write": can_write(c, who),
        "media_types": [export::MEDIA_TYPE],
    })
}

// ---------------------------------------------------------------------------------------------
// Paging

/// Who is reading a collection, and what the policy lets them see.
pub struct Viewer<'a> {
    fed: &'a Federation,
    scope: Scope,
    user: Option<String>,
    decided: HashMap<Uuid, bool>,
}

impl<'a> Viewer<'a> {
    /// A reader of collection `scope`: a person (their account name), or the public.
    pub fn new(fed: &'a Federation, scope: Scope, user: Option<String>) -> Self {
        Self {
            fed,
            scope,
            user,
            decided: HashMap::new(),
        }
    }

    /// Whether this kept object belongs to the collection and the policy lets the reader have
    /// it (decided once per bulletin and request).
    pub fn sees(&mut self, row: &StixRow) -> bool {
        let Some(l) = &row.labels else { return true };
        if let Some(v) = self.decided.get(&l.bulletin) {
            return *v;
        }
        let v = self.decide(l);
        self.decided.insert(l.bulletin, v);
        v
    }

    fn decide(&self, l: &StixLabels) -> bool {
        let (Some(tlp), Ok(audience), Ok(people)) = (
            Tlp::parse(&l.tlp),
            serde_json::from_str::<Audience>(&l.audience),
            serde_json::from_str::<Vec<String>>(&l.people),
        ) else {
            return false;
        };
        if let Scope::Country(c) = &self.scope {
            let roster = self.fed.roster();
            let addressed = match &audience {
                Audience::Network => false,
                Audience::Countries { countries } => countries.contains(c),
                Audience::Nodes { nodes } => nodes
                    .iter()
                    .any(|n| roster.member(n).is_some_and(|m| m.country == *c)),
            };
            if !addressed {
                return false;
            }
        }
        let item = Item {
            origin: &l.origin,
            kind: EnvelopeKind::Bulletin,
            tlp,
            audience: &audience,
            embargo_until: l.embargo_until,
            people: &people,
            retracted: l.retracted,
        };
        let decision = match (&self.scope, &self.user) {
            (Scope::Public, _) => self
                .fed
                .decide(&item, &Actor::Public, Action::PublishPublic),
            (_, Some(user)) => self
                .fed
                .decide(&item, &Actor::Person { user }, Action::Export),
            (_, None) => return false,
        };
        decision.is_allowed()
    }
}

/// One page of a collection.
#[derive(Debug, Default)]
pub struct Page {
    /// The objects, in `(date_added, seq)` order.
    pub rows: Vec<StixRow>,
    /// Whether more follow.
    pub more: bool,
    /// Where to continue (with the same filters).
    pub next: Option<Cursor>,
}

/// The page `query` asks for, of the objects `viewer` may see; `only` restricts it to one
/// object id (the object and versions endpoints), whose versions are all considered when
/// `all_versions`.
pub async fn page(
    fed: &Federation,
    viewer: &mut Viewer<'_>,
    query: &Query,
    only: Option<&str>,
    all_versions: bool,
) -> Result<Page, StoreError> {
    let versions = query.version_filter();
    let mut q = StixQuery {
        after: query.next.map(|c| (c.added, c.seq)),
        added_after: query.added_after,
        ids: match only {
            Some(id) => vec![id.to_owned()],
            None => query.ids.clone(),
        },
        types: query.types.clone(),
        spec_versions: query.spec_versions.clone(),
        first: versions.first,
        last: versions.last,
        all_versions: all_versions || versions.all,
        at: versions.at,
        clear_only: viewer.scope == Scope::Public,
        // Read a little past the page to know whether more follow; more when the policy hides
        // some.
        limit: query.limit.saturating_add(1).max(100),
    };
    let want = query.limit as usize;
    let mut out = Page::default();
    loop {
        let batch = fed.store.stix_objects(&q).await?;
        let exhausted = batch.len() < q.limit as usize;
        let Some(last) = batch.last() else { break };
        q.after = Some((last.added, last.seq));
        for row in batch {
            if viewer.sees(&row) {
                if out.rows.len() == want {
                    out.more = true;
                    break;
                }
                out.rows.push(row);
            }
        }
        if out.more || exhausted {
            break;
        }
    }
    if out.more
        && let Some(last) = out.rows.last()
    {
        out.next = Some(Cursor {
            added: last.added,
            seq: last.seq,
            filters: query.filters_hash(),
        });
    }
    Ok(out)
}

fn date_headers(resp: &mut Response, rows: &[StixRow]) {
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        for (name, us) in [
            ("x-taxii-date-added-first", first.added),
            ("x-taxii-date-added-last", last.added),
        ] {
            if let Ok(v) = HeaderValue::from_str(&proto::format_timestamp(us)) {
                resp.headers_mut().insert(name, v);
            }
        }
    }
}

/// An envelope written straight from the kept JSON (no re-parsing of the objects).
fn envelope(page: &Page) -> String {
    let mut s =
        String::with_capacity(64 + page.rows.iter().map(|r| r.json.len() + 1).sum::<usize>());
    s.push_str(if page.more {
        "{\"more\":true"
    } else {
        "{\"more\":false"
    });
    if let Some(n) = page.next {
        s.push_str(",\"next\":\"");
        s.push_str(&n.encode());
        s.push('"');
    }
    if !page.rows.is_empty() {
        s.push_str(",\"objects\":[");
        for (i, r) in page.rows.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&r.json);
        }
        s.push(']');
    }
    s.push('}');
    s
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// The base URL of this server as the client reached it.
fn base_url(headers: &HeaderMap, fed: &Federation) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let endpoint = fed
        .roster()
        .member(fed.node_id())
        .map(|m| m.endpoint.trim_end_matches('/').to_owned());
    let Some(host) = host else {
        return endpoint.unwrap_or_default();
    };
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| matches!(*p, "http" | "https"));
    let scheme = forwarded.unwrap_or_else(|| match &endpoint {
        Some(e) if e.starts_with("https://") && e.ends_with(host) => "https",
        _ => "http",
    });
    format!("{scheme}://{host}")
}

/// `GET /taxii2/`: the discovery resource.
pub async fn discovery(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    check_accept(&headers)?;
    let root = format!("{}/taxii2/api/", base_url(&headers, &state.fed));
    let body = json!({
        "title": format!("Atalaya node {}", state.fed.node_id()),
        "description": "TAXII 2.1 server of an Atalaya node: the network's warnings as STIX 2.1",
        "default": root,
        "api_roots": [root],
    });
    Ok(taxii_response(StatusCode::OK, body.to_string()))
}

/// `GET /taxii2/api/`: the API root.
pub async fn api_root(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    check_accept(&headers)?;
    let body = json!({
        "title": format!("Atalaya {}", state.fed.node_id()),
        "description": "Collections per audience; the sharing policy decides every object",
        "versions": [proto::MEDIA_TYPE],
        "max_content_length": MAX_CONTENT_LENGTH,
    });
    Ok(taxii_response(StatusCode::OK, body.to_string()))
}

/// `GET /taxii2/api/collections/`: the collections; without credentials, only `public`.
pub async fn list_collections(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response> {
    check_accept(&headers)?;
    let who = caller(&headers, &state).await?;
    let list: Vec<Value> = collections(&state.fed)
        .iter()
        .filter(|c| can_read(c, who.as_ref()) || can_write(c, who.as_ref()))
        .map(|c| collection_resource(c, who.as_ref()))
        .collect();
    Ok(taxii_response(
        StatusCode::OK,
        json!({ "collections": list }).to_string(),
    ))
}

/// `GET /taxii2/api/collections/{id}/`: one collection (by id or alias).
pub async fn show_collection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    check_accept(&headers)?;
    let who = caller(&headers, &state).await?;
    let c = find_collection(&state.fed, &id)?;
    require_read(&c, who.as_ref())?;
    Ok(taxii_response(
        StatusCode::OK,
        collection_resource(&c, who.as_ref()).to_string(),
    ))
}

/// The common start of the reading endpoints: accept, caller, collection, right, query, and
/// the store brought up to date.
async fn reading<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    id: &str,
    raw_query: Option<&str>,
) -> Result<(Viewer<'a>, Query)> {
    check_accept(headers)?;
    let who = caller(headers, state).await?;
    let c = find_collection(&state.fed, id)?;
    require_read(&c, who.as_ref())?;
    let query = proto::parse_query(raw_query.unwrap_or(""))?;
    state.taxii.sync(&state.fed).await?;
    let user = match c.scope {
        Scope::Public => None,
        _ => who.map(|p| p.name),
    };
    Ok((Viewer::new(&state.fed, c.scope, user), query))
}

/// `GET /taxii2/api/collections/{id}/objects/`: an envelope of objects, paged.
pub async fn objects(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (mut viewer, query) = reading(&state, &headers, &id, raw.as_deref()).await?;
    let page = page(&state.fed, &mut viewer, &query, None, false).await?;
    let mut resp = taxii_response(StatusCode::OK, envelope(&page));
    date_headers(&mut resp, &page.rows);
    Ok(resp)
}

/// `GET /taxii2/api/collections/{id}/manifest/`: what the objects page would hold, as records.
pub async fn manifest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let (mut viewer, query) = reading(&state, &headers, &id, raw.as_deref()).await?;
    let page = page(&state.fed, &mut viewer, &query, None, false).await?;
    let records: Vec<Value> = page
        .rows
        .iter()
        .map(|r| {
            json!({
                "id": r.object_id,
                "date_added": proto::format_timestamp(r.added),
                "version": r.version,
                "media_type": export::MEDIA_TYPE,
            })
        })
        .collect();
    let mut body = json!({ "more": page.more });
    if let Some(n) = page.next {
        body["next"] = json!(n.encode());
    }
    if !records.is_empty() {
        body["objects"] = Value::Array(records);
    }
    let mut resp = taxii_response(StatusCode::OK, body.to_string());
    date_headers(&mut resp, &page.rows);
    Ok(resp)
}

fn object_id(object: &str) -> Result<&str> {
    if proto::is_stix_id(object) {
        Ok(object)
    } else {
        Err(not_found("object"))
    }
}

/// The page of one object's versions (`all_versions`: every one, else as `match[version]`
/// asks); 404 when the collection shows no version of it to this viewer.
async fn one_object(
    state: &AppState,
    headers: &HeaderMap,
    collection: &str,
    object: &str,
    raw: Option<&str>,
    all_versions: bool,
) -> Result<Page> {
    let (mut viewer, query) = reading(state, headers, collection, raw).await?;
    let page = page(
        &state.fed,
        &mut viewer,
        &query,
        Some(object_id(object)?),
        all_versions,
    )
    .await?;
    if page.rows.is_empty() && query.next.is_none() && query.added_after.is_none() {
        return Err(not_found("object in this collection"));
    }
    Ok(page)
}

/// `GET /taxii2/api/collections/{id}/objects/{object}/`: one object's versions (by
/// `match[version]`, the last by default), in an envelope.
pub async fn object(
    State(state): State<AppState>,
    Path((id, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let page = one_object(&state, &headers, &id, &object, raw.as_deref(), false).await?;
    let mut resp = taxii_response(StatusCode::OK, envelope(&page));
    date_headers(&mut resp, &page.rows);
    Ok(resp)
}

/// `GET /taxii2/api/collections/{id}/objects/{object}/versions/`: every version of an object.
pub async fn versions(
    State(state): State<AppState>,
    Path((id, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let page = one_object(&state, &headers, &id, &object, raw.as_deref(), true).await?;
    let mut body = json!({ "more": page.more });
    if let Some(n) = page.next {
        body["next"] = json!(n.encode());
    }
    if !page.rows.is_empty() {
        body["versions"] = json!(page.rows.iter().map(|r| &r.version).collect::<Vec<_>>());
    }
    let mut resp = taxii_response(StatusCode::OK, body.to_string());
    date_headers(&mut resp, &page.rows);
    Ok(resp)
}

/// `POST /taxii2/api/collections/{id}/objects/`: add objects (needs `bulletins:publish`).
/// The envelope is checked object by object; the objects that pass go to the STIX importer as
/// one bundle and become bulletins this node publishes. Answers 202 with a status resource.
pub async fn add_objects(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    check_accept(&headers)?;
    let who = caller(&headers, &state).await?;
    let Some(who) = who else {
        return Err(unauthorized("adding objects needs an API token"));
    };
    if !who.rights.contains(Permission::Publish) {
        return Err(TaxiiError::of(
            ErrorCode::Forbidden,
            format!("{} does not have the right bulletins:publish", who.name),
        ));
    }
    let c = find_collection(&state.fed, &id)?;
    if !can_write(&c, Some(&who)) {
        return Err(TaxiiError::of(
            ErrorCode::Forbidden,
            "the public collection is read-only",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !proto::is_taxii_content_type(content_type) {
        return Err(TaxiiError::of(
            ErrorCode::UnsupportedMediaType,
            format!("post a TAXII envelope as {}", proto::MEDIA_TYPE),
        ));
    }
    let bytes = crate::body::read(body).await?;
    crate::body::check_text(&bytes)?;
    let (objects, verdicts) = proto::read_envelope(&bytes)?;
    let now = state.fed.now();
    let status_id = ids::new_id(now, &mut EntropyRng(state.fed.entropy.as_ref())).to_string();

    let mut successes = Vec::new();
    let mut failures = Vec::new();
    let mut good = Vec::new();
    for (o, v) in objects.into_iter().zip(&verdicts) {
        match &v.problem {
            Some(p) => failures.push(detail(v, p)),
            None => good.push((o, v)),
        }
    }
    if !good.is_empty() {
        match state.taxii.importer() {
            None => {
                for (_, v) in &good {
                    failures.push(detail(
                        v,
                        "this node does not import STIX objects yet; nothing was stored",
                    ));
                }
            }
            Some(import) => {
                let bundle = export::bundle(good.iter().map(|(o, _)| o.clone()).collect());
                let bytes = serde_json::to_vec(&bundle).map_err(ApiError::internal)?;
                let outcome = match import(&bytes, &ImportOptions::default()) {
                    Ok(imported) => crate::exchange_api::land_posted(&state, imported).await,
                    Err(e) => Err(format!("{}: {}", e.code, e.reason)),
                };
                match outcome {
                    Ok(()) => successes.extend(
                        good.iter()
                            .map(|(_, v)| json!({"id": v.id, "version": v.version})),
                    ),
                    Err(why) => failures.extend(good.iter().map(|(_, v)| detail(v, &why))),
                }
            }
        }
    }
    let status = json!({
        "id": status_id,
        "status": "complete",
        "request_timestamp": proto::format_timestamp(now.unix_millis() * 1000),
        "total_count": verdicts.len(),
        "success_count": successes.len(),
        "successes": successes,
        "failure_count": failures.len(),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    });
    state.taxii.keep_status(&who.name, status.clone());
    Ok(taxii_response(StatusCode::ACCEPTED, status.to_string()))
}

fn detail(v: &proto::PostedObject, message: &str) -> Value {
    json!({
        "id": v.id.clone().unwrap_or_default(),
        "version": v.version.clone().unwrap_or_default(),
        "message": message,
    })
}

/// `GET /taxii2/api/status/{id}/`: the status of an earlier post, to the one who posted.
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    check_accept(&headers)?;
    let Some(who) = caller(&headers, &state).await? else {
        return Err(unauthorized("status resources need an API token"));
    };
    let status = state
        .taxii
        .status(&who.name, &id)
        .ok_or_else(|| not_found("status"))?;
    Ok(taxii_response(StatusCode::OK, status.to_string()))
}
