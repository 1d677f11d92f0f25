//! The HTTP surfaces of a node (DESIGN §8): the federation endpoints (`/fed/v1`, the road's
//! HTTP edge), the JSON API, the console, the public portal, TAXII, the CSAF provider, feeds,
//! health and metrics. Handlers are thin: they declare the right they need (`Need<Right>`),
//! read the body within their route group's limit, call a domain service of `atalaya-node` (or
//! the federation for the road), and answer refusals as an `error::ErrorCode`. The edge
//! (`edge.rs`) gives each request an id, an access-log line and a timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::error::ErrorCode;
use atalaya_federation::Federation;
use atalaya_node::accounts::{self, Accounts, ConsoleSettings};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tokio_util::sync::CancellationToken;

mod api;
pub mod auth;
mod body;
mod census_api;
pub mod charts;
mod checks;
pub mod console;
mod csaf;
mod directory_api;
pub mod edge;
pub mod error;
mod exchange_api;
mod fed;
mod feeds;
pub mod i18n;
pub mod limits;
pub mod live;
pub mod markdown;
pub mod misp_feed;
pub mod openapi;
mod ops;
pub mod page;
pub mod portal;
pub mod taxii;
mod wellknown;

pub use error::ApiError;
pub use ops::metrics_only;

/// The HTTP edge's own settings (`[http]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client;
    /// from anyone else the header is ignored. Rate limits key on the client so named.
    pub trusted_proxies: Vec<String>,
    /// API and TAXII requests one credential (API token or console session) may make per
    /// minute, as a burst that refills steadily.
    pub api_requests_per_minute: u32,
    /// API and TAXII requests one client address (IPv6: its /64) may make per minute.
    pub api_requests_per_minute_per_address: u32,
    /// A second address serving only `GET /metrics`, without a token, for a scraper that
    /// can reach it (e.g. `127.0.0.1:9464`); empty: none. On the main address `/metrics`
    /// always needs an API token.
    pub metrics_listen: String,
    /// Seconds a request may take before it is answered `503 request_timeout` (the event
    /// streams excepted); 0: no limit.
    pub request_timeout_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            api_requests_per_minute: 1200,
            api_requests_per_minute_per_address: 2400,
            metrics_listen: String::new(),
            request_timeout_secs: 30,
        }
    }
}

/// The HTTP edge's rate limits for the API and who the client is.
pub struct ApiLimits {
    /// Who the client is behind trusted proxies.
    pub clients: limits::ClientAddresses,
    by_credential: limits::Limit,
    by_address: limits::Limit,
}

impl ApiLimits {
    fn new(settings: &HttpSettings, clock: Arc<dyn atalaya_core::Clock>) -> Result<Self, String> {
        let minute = std::time::Duration::from_secs(60);
        Ok(Self {
            clients: limits::ClientAddresses::new(&settings.trusted_proxies)?,
            by_credential: limits::Limit::new(
                settings.api_requests_per_minute,
                minute,
                clock.clone(),
            ),
            by_address: limits::Limit::new(
                settings.api_requests_per_minute_per_address,
                minute,
                clock,
            ),
        })
    }
}
pub use fed::FedGate;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's federation service (and through it, the store, clock and keys).
    pub fed: Arc<Federation>,
    /// People, sessions and tokens.
    pub accounts: Arc<Accounts>,
    /// The bulletins people may see: every read makes and audits the View decision.
    pub bulletins: Arc<atalaya_node::bulletins::Bulletins>,
    /// The communication checks this node started and received.
    pub checks: Arc<atalaya_node::checks::Checks>,
    /// The public portal's awareness pages and report-form challenges.
    pub pages: Arc<atalaya_node::portal::PortalPages>,
    /// Who is called when a warning is not acknowledged.
    pub oncall: Arc<atalaya_node::oncall::OnCall>,
    /// Pages sent about peers and the audit inconsistencies known here.
    pub peers: Arc<atalaya_node::peers::Peers>,
    /// Incident reports: taken by the portal, read by the API and the console.
    pub reports: Arc<atalaya_node::reports::Reports>,
    /// Holds on logins after repeated failures, by account and by client address.
    pub login_limits: Arc<limits::LoginLimits>,
    /// Fires when the node shuts down: endless responses (event streams) end with it.
    pub shutdown: CancellationToken,
    /// Key-expiry and stale-contact windows of the directory.
    pub directory: atalaya_core::directory::DirectorySettings,
    /// The OpenPGP key that signs the CSAF provider's documents (`.asc`); without it the
    /// provider serves hashes only.
    pub csaf_signer: Option<Arc<atalaya_crypto::OpenPgpSigner>>,
    /// The public portal: the report form's proof-of-work key, settings and rate limits.
    pub portal: Arc<portal::Portal>,
    /// The TAXII server's status resources, its STIX importer, and its store sync.
    pub taxii: Arc<taxii::TaxiiState>,
    /// The public live stream of bulletins (`/public/v1/events`).
    pub live: Arc<live::PublicLive>,
    /// The HTTP edge's settings.
    pub http: HttpSettings,
    /// API rate limits and the client-address rule.
    pub limits: Arc<ApiLimits>,
    /// Limits of federation requests before and after authentication.
    pub fed_gate: Arc<fed::FedGate>,
}

impl AppState {
    /// The state of a node's HTTP surfaces over its federation service.
    pub fn new(fed: Arc<Federation>, console: ConsoleSettings) -> Self {
        let login_limits = Arc::new(limits::LoginLimits::new(&console, fed.clock.clone()));
        let accounts = Arc::new(Accounts::new(
            fed.store.clone(),
            fed.clock.clone(),
            fed.entropy.clone(),
            console,
        ));
        let portal_settings = portal::PortalSettings::default();
        let live = Arc::new(live::PublicLive::new(
            portal_settings.live_subscribers as usize,
        ));
        let portal = Arc::new(portal::Portal::new(&fed, portal_settings));
        let http = HttpSettings::default();
        let limits = Arc::new(
            ApiLimits::new(&http, fed.clock.clone())
                .unwrap_or_else(|_| unreachable!("the default settings trust no proxy")),
        );
        let fed_gate = Arc::new(fed::FedGate::new(&fed.settings));
        let bulletins = Arc::new(atalaya_node::bulletins::Bulletins::new(fed.clone()));
        let checks = Arc::new(atalaya_node::checks::Checks::new(fed.clone()));
        let pages = Arc::new(atalaya_node::portal::PortalPages::new(fed.store.clone()));
        let oncall = Arc::new(atalaya_node::oncall::OnCall::new(
            fed.store.clone(),
            fed.clock.clone(),
        ));
        let peers = Arc::new(atalaya_node::peers::Peers::new(fed.store.clone()));
        let reports = Arc::new(atalaya_node::reports::Reports::new(fed.clone()));
        Self {
            http,
            limits,
            fed,
            accounts,
            bulletins,
            checks,
            pages,
            oncall,
            peers,
            reports,
            login_limits,
            shutdown: CancellationToken::new(),
            directory: Default::default(),
            csaf_signer: None,
            portal,
            taxii: Arc::new(taxii::TaxiiState::with_importer(
                atalaya_formats::stix::import::import,
            )),
            live,
            fed_gate,
        }
    }

    /// With these portal settings (proof-of-work difficulty, rate limits).
    pub fn with_portal(mut self, settings: portal::PortalSettings) -> Self {
        self.live = Arc::new(live::PublicLive::new(settings.live_subscribers as usize));
        self.portal = Arc::new(portal::Portal::new(&self.fed, settings));
        self
    }

    /// With these HTTP settings (trusted proxies, API rate limits, the metrics address).
    pub fn with_http(mut self, settings: HttpSettings) -> Result<Self, String> {
        self.limits = Arc::new(ApiLimits::new(&settings, self.fed.clock.clone())?);
        self.http = settings;
        Ok(self)
    }

    /// The client's address: the TCP peer, or behind a trusted proxy the client it names.
    pub fn client_ip(&self, peer: SocketAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
        self.limits.clients.client(peer, headers)
    }

    /// The key rate limits use for the client (IPv6: its /64).
    pub fn client_key(&self, peer: SocketAddr, headers: &axum::http::HeaderMap) -> String {
        limits::address_key(self.client_ip(peer, headers))
    }

    /// With these directory settings (key-expiry and stale-contact windows).
    pub fn with_directory(mut self, settings: atalaya_core::directory::DirectorySettings) -> Self {
        self.directory = settings;
        self
    }

    /// With the OpenPGP key that signs the CSAF provider's documents.
    pub fn with_csaf_signer(mut self, signer: Arc<atalaya_crypto::OpenPgpSigner>) -> Self {
        self.csaf_signer = Some(signer);
        self
    }
}

/// All routes of a node, by group: each group that reads bodies holds them to its one limit
/// ([`edge::body_limit`]); the federation reads its own with the limits of its settings. Around
/// them all, the edge ([`edge`]): request id, access log, timeout.
pub fn router(state: AppState) -> Router {
    use edge::{BodyLimit, body_limit};
    use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
    let audited = state.clone();
    let limited = state.clone();
    let timeout = std::time::Duration::from_secs(state.http.request_timeout_secs);
    let request_ids = edge::RequestIds::new(state.fed.now());
    let with_limit = |routes: Router<AppState>, max: usize| {
        routes.layer(middleware::from_fn_with_state(
            BodyLimit(max),
            edge::limit_bodies,
        ))
    };
    Router::new()
        .merge(federation_routes())
        .merge(with_limit(api_routes(), body_limit::API))
        .merge(with_limit(import_routes(), body_limit::IMPORT))
        .merge(with_limit(taxii_routes(), body_limit::TAXII))
        .merge(with_limit(console::routes(), body_limit::CONSOLE_FORM))
        .merge(public_routes())
        .fallback(ops::not_found)
        // Bodies are read by each handler through `body::read` (so the refusal has our code).
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(audited, audit_before_answer))
        .layer(middleware::from_fn_with_state(limited, api_rate_limit))
        .layer(middleware::from_fn_with_state(
            timeout,
            edge::request_timeout,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(edge::error_request_id))
        .layer(PropagateRequestIdLayer::new(edge::REQUEST_ID))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(edge::request_span::<axum::body::Body>)
                .on_response(edge::access_log::<axum::body::Body>)
                // The access log already says the status; no second line for a 5xx.
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(edge::REQUEST_ID, request_ids))
        .layer(middleware::from_fn(edge::screen_request_id))
        .with_state(state)
}

/// Node to node (`/fed/v1/…`): authenticated by request signatures, bodies read by `fed`.
fn federation_routes() -> Router<AppState> {
    Router::new()
        .route("/fed/v1/inbox", post(fed::inbox))
        .route("/fed/v1/outbox", get(fed::outbox))
        .route("/fed/v1/roster", get(fed::roster))
        .route("/fed/v1/checkpoint", get(fed::checkpoint))
        .route("/fed/v1/audit/consistency", get(fed::audit_consistency))
        .route("/fed/v1/audit/cosignature", post(fed::audit_cosignature))
}

/// The JSON API (`/api/v1/…`), its imports excepted.
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/bulletins", post(api::publish).get(api::list))
        .route("/api/v1/bulletins/{id}", get(api::show))
        .route("/api/v1/bulletins/{id}/retract", post(api::retract))
        .route("/api/v1/bulletins/{id}/ack", post(api::acknowledge))
        .route("/api/v1/bulletins/{id}/renotify", post(api::renotify))
        .route(
            "/api/v1/bulletins/{id}/export/{format}",
            get(exchange_api::export),
        )
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/policy", get(api::show_policy).put(api::set_policy))
        .route("/api/v1/oncall", get(api::show_oncall).put(api::set_oncall))
        .route(
            "/api/v1/agreement",
            get(api::show_agreement).post(api::issue_agreement),
        )
        .route("/api/v1/agreement/accept", post(api::accept_agreement))
        .route(
            "/api/v1/roster",
            put(api::install_roster).get(api::show_roster),
        )
        .route("/api/v1/checks", post(checks::start).get(checks::history))
        .route("/api/v1/checks/pending", get(checks::pending))
        .route("/api/v1/checks/trend", get(checks::trend))
        .route("/api/v1/checks/{id}", get(checks::report))
        .route("/api/v1/checks/{id}/answer", post(checks::answer))
        .route("/api/v1/teams", get(directory_api::list_teams))
        .route(
            "/api/v1/teams/{id}",
            get(directory_api::show_team).put(directory_api::put_team),
        )
        .route(
            "/api/v1/teams/{id}/confirm-contacts",
            post(directory_api::confirm_contacts),
        )
        .route(
            "/api/v1/teams/{id}/rfc2350",
            get(directory_api::team_rfc2350),
        )
        .route("/api/v1/teams/{id}/vcard", get(directory_api::team_vcard))
        .route("/api/v1/directory/export", get(directory_api::export))
        .route("/api/v1/directory/hygiene", get(directory_api::hygiene))
        .route("/api/v1/cybercrime", get(directory_api::list_cybercrime))
        .route(
            "/api/v1/cybercrime/{country}",
            get(directory_api::show_cybercrime).put(directory_api::put_cybercrime),
        )
        .route(
            "/api/v1/standards",
            get(directory_api::show_standards).put(directory_api::put_standards),
        )
        .route(
            "/api/v1/standards/adoption",
            get(directory_api::list_adoption),
        )
        .route(
            "/api/v1/standards/adoption/{country}",
            put(directory_api::put_adoption),
        )
        .route(
            "/api/v1/census/questionnaire",
            get(census_api::questionnaire),
        )
        .route(
            "/api/v1/census/rounds",
            get(census_api::rounds).post(census_api::open_round),
        )
        .route("/api/v1/census/rounds/{id}", get(census_api::show_round))
        .route(
            "/api/v1/census/rounds/{id}/close",
            post(census_api::close_round),
        )
        .route(
            "/api/v1/census/rounds/{id}/prefill",
            get(census_api::prefill),
        )
        .route(
            "/api/v1/census/rounds/{id}/responses",
            get(census_api::responses).post(census_api::answer),
        )
        .route("/api/v1/census/rounds/{id}/report", get(census_api::report))
        .route("/api/v1/census/compare", get(census_api::compare))
        .route("/api/v1/coverage", get(census_api::coverage))
        .route(
            "/api/v1/coverage/minimum-services",
            get(census_api::show_minimum).put(census_api::put_minimum),
        )
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/reports", get(portal::api_reports))
        .route("/api/v1/reports/{id}", get(portal::api_report))
}

/// Imports into the API: documents of other formats, larger than the API's JSON.
fn import_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/import/{format}", post(exchange_api::import))
        .route(
            "/api/v1/import/{format}/bulletin",
            post(exchange_api::import_converted),
        )
        .route("/api/v1/directory/import", post(directory_api::import))
}

/// TAXII 2.1 (`/taxii2/…`).
fn taxii_routes() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(taxii::discovery))
        .route("/taxii2/api/", get(taxii::api_root))
        .route("/taxii2/api/status/{id}/", get(taxii::status))
        .route("/taxii2/api/collections/", get(taxii::list_collections))
        .route("/taxii2/api/collections/{id}/", get(taxii::show_collection))
        .route(
            "/taxii2/api/collections/{id}/manifest/",
            get(taxii::manifest),
        )
        .route(
            "/taxii2/api/collections/{id}/objects/",
            get(taxii::objects).post(taxii::add_objects),
        )
        .route(
            "/taxii2/api/collections/{id}/objects/{object}/",
            get(taxii::object),
        )
        .route(
            "/taxii2/api/collections/{id}/objects/{object}/versions/",
            get(taxii::versions),
        )
}

/// Public pages, feeds and operations; the portal's report form reads its own small body.
fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/public/v1/bulletins", get(api::public_bulletins))
        .route("/public/v1/events", get(live::events))
        // The public portal (no login).
        .route("/", get(portal::home))
        .route("/advisories/{id}", get(portal::advisory))
        .route("/report", get(portal::report_index))
        .route(
            "/report/{country}",
            get(portal::report_form).post(portal::report_submit),
        )
        .route("/pages/{slug}", get(portal::page))
        .route("/portal/static/{file}", get(portal::static_file))
        .route("/.well-known/security.txt", get(wellknown::security_txt))
        .route("/feeds/misp/manifest.json", get(misp_feed::manifest))
        .route("/feeds/misp/hashes.csv", get(misp_feed::hashes))
        .route("/feeds/misp/{file}", get(misp_feed::event))
        .route(
            "/.well-known/csaf/provider-metadata.json",
            get(csaf::provider_metadata),
        )
        .route("/.well-known/csaf/clear/index.txt", get(csaf::index_txt))
        .route(
            "/.well-known/csaf/clear/changes.csv",
            get(csaf::changes_csv),
        )
        .route("/.well-known/csaf/clear/", get(csaf::list_clear))
        .route("/.well-known/csaf/clear/{year}/", get(csaf::list_year))
        .route("/.well-known/csaf/clear/{year}/{file}", get(csaf::document))
        .route("/.well-known/csaf/feed-tlp-clear.json", get(csaf::feed))
        .route("/.well-known/csaf/openpgp/{file}", get(csaf::openpgp_key))
        .route(
            "/.well-known/csaf-aggregator/aggregator.json",
            get(csaf::aggregator),
        )
        .route("/feeds/advisories.atom", get(feeds::advisories))
        .route("/feeds/cap.atom", get(feeds::cap_index))
        .route("/feeds/cap/{file}", get(feeds::cap_alert))
        .route("/directory", get(console::directory::public_directory))
        .route("/directory/{file}", get(console::directory::public_file))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
}

/// The API and TAXII: every request counts against its client address and, when it carries
/// one, its credential (an API token or a session cookie, keyed by a hash whether or not it
/// is valid: a caller cycling made-up tokens is still held by its address). Over either limit:
/// `429 rate_limited` with `Retry-After`, before any work is done.
async fn api_rate_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/api/") || path.starts_with("/taxii2/")) {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let address = peer.map_or_else(
        || "unknown".to_owned(),
        |p| state.client_key(p, req.headers()),
    );
    let credential = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            let name = auth::session_cookie_name(state.accounts.settings.secure_cookie);
            auth::cookie(req.headers(), name).map(str::to_owned)
        });
    let limits = &state.limits;
    let verdict = limits
        .by_address
        .hit(&address)
        .and_then(|()| match &credential {
            Some(c) => limits.by_credential.hit(&accounts::sha256_hex(c)),
            None => Ok(()),
        });
    match verdict {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let secs = wait.as_secs().max(1);
            let mut resp = ErrorCode::RateLimited
                .with(format!("too many requests; try again in {secs} s"))
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

/// No answer leaves before the audit entries of what it shows are written: every surface that
/// audits (API, console, TAXII, exports, feeds, the federation outbox) goes through here. The
/// audit decision is taken before a handler returns (streamed bodies included), so waiting
/// between the handler and the response is enough. A request that audited nothing, while no
/// one else did either, does not wait; one whose entries could not be written is refused.
async fn audit_before_answer(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let queue = state.fed.audit_queue();
    let mark = queue.mark();
    let resp = next.run(req).await;
    match queue.durable(mark).await {
        Ok(()) => resp,
        Err(e) => {
            tracing::error!(error = %e, "answer withheld: its audit entries are not written");
            ErrorCode::AuditUnavailable.with("the node could not record this request in its audit trail, so it withholds the \
                 answer; try again later, and tell the node's operator if it persists",
            )
            .into_response()
        }
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    // The public directory and the portal are pages too: they use the console's stylesheet,
    // and the portal's report form posts here (the same policy as the console's).
    let path = req.uri().path();
    let console =
        path.starts_with("/console") || path == "/directory" || portal::is_portal_path(path);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // The console needs same-origin requests to carry their Origin (checked on every post).
    set(
        h,
        header::REFERRER_POLICY,
        if console {
            "same-origin"
        } else {
            "no-referrer"
        },
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        if console {
            console::CONSOLE_CSP
        } else {
            "default-src 'none'; frame-ancestors 'none'"
        },
    );
    // Pages and data are never cached; versioned static files say otherwise themselves.
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    resp
}

/// Serve on `listener` until `cancel` fires, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let streams = state.shutdown.clone();
    let stop = cancel.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        streams.cancel();
    });
    match portal::seed_default_pages(&state.fed).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(pages = n, "default awareness pages added to the portal"),
        Err(e) => tracing::error!(error = %e, "could not seed the portal's awareness pages"),
    }
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}

/// Serve only `GET /metrics`, without credentials, on `listener` (`[http] metrics_listen`):
/// an address only the operator's scraper reaches.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let app = ops::metrics_only(state).layer(middleware::from_fn(security_headers));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}
