//! One node in process: a real SQLite file, real keys and roster, an injected clock, and the
//! node's whole router driven request by request, with a cookie jar like a browser's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    dead_code
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use atalaya_core::access::Role;
use atalaya_core::{
    CountryCode, EntropyRng, FixedClock, Node, NodeId, Roster, SeededEntropy, Timestamp, ids,
};
use atalaya_crypto::NodeKeys;
use atalaya_federation::{Federation, FederationSettings, Identity, sign_roster};
use atalaya_node::accounts::ConsoleSettings;
use atalaya_node::accounts::NewUser;
use atalaya_store::{SqliteOptions, SqliteStore};
use atalaya_web::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestNode {
    pub _dir: tempfile::TempDir,
    pub clock: Arc<FixedClock>,
    pub fed: Arc<Federation>,
    pub state: AppState,
    pub app: Router,
}

pub fn t0() -> Timestamp {
    Timestamp::parse("2026-11-22T12:00:00Z").unwrap()
}

impl TestNode {
    pub async fn start() -> TestNode {
        Self::start_with_peers(&[]).await
    }

    /// A node whose roster also lists these members (`id`, country); nothing runs for them.
    pub async fn start_with_peers(peers: &[(&str, &str)]) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let entropy = SeededEntropy::new(11);
        let keys = NodeKeys::generate(&mut EntropyRng(&entropy));
        let me = Node {
            node_id: NodeId::new("cl-csirt").unwrap(),
            country: CountryCode::new("CL").unwrap(),
            team: "CSIRT de Gobierno de Chile".into(),
            role: atalaya_core::Role::Coordinator,
            signing_key: keys.verifying_key().to_b64(),
            sealing_key: keys.sealing_public().to_b64(),
            endpoint: "https://atalaya.example.cl".into(),
        };
        let mut roster = Roster::new("test", me, t0());
        for (id, cc) in peers {
            let k = NodeKeys::generate(&mut EntropyRng(&entropy));
            roster.upsert(
                Node {
                    node_id: NodeId::new(id).unwrap(),
                    country: CountryCode::new(cc).unwrap(),
                    team: format!("Team {id}"),
                    role: atalaya_core::Role::Member,
                    signing_key: k.verifying_key().to_b64(),
                    sealing_key: k.sealing_public().to_b64(),
                    endpoint: format!("https://{id}.example.org"),
                },
                t0(),
            );
        }
        let roster = sign_roster(
            &roster,
            &keys,
            ids::new_id(t0(), &mut EntropyRng(&entropy)),
            t0(),
        )
        .unwrap();
        let clock = Arc::new(FixedClock::new(t0()));
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("node.db"), &SqliteOptions::default())
                .await
                .unwrap(),
        );
        let fed = Federation::start(
            Identity {
                node_id: NodeId::new("cl-csirt").unwrap(),
                coordinator_key: keys.verifying_key(),
                keys,
            },
            Some(&roster),
            store,
            clock.clone(),
            Arc::new(SeededEntropy::new(12)),
            FederationSettings::default(),
            atalaya_node::handlers(),
        )
        .await
        .unwrap();
        // As a node runs it: answers wait until their audit entries are written.
        tokio::spawn(atalaya_federation::audit::run(
            fed.clone(),
            tokio_util::sync::CancellationToken::new(),
        ));
        let state = AppState::new(
            fed.clone(),
            ConsoleSettings {
                secure_cookie: true,
                ..Default::default()
            },
        );
        let app = atalaya_web::router(state.clone());
        TestNode {
            _dir: dir,
            clock,
            fed,
            state,
            app,
        }
    }

    pub async fn user(&self, username: &str, role: Role, mfa_exempt: bool) -> String {
        self.state
            .accounts
            .create_user(NewUser {
                username: username.into(),
                display_name: format!("{username} (test)"),
                role,
                password: PASSWORD.into(),
                timezone: "America/Santiago".into(),
                mfa_exempt,
            })
            .await
            .unwrap()
            .id
    }

    /// A browser signed in as a new person with `role` (no second factor asked).
    pub async fn signed_in(&self, username: &str, role: Role) -> Browser {
        self.user(username, role, true).await;
        let mut b = self.browser();
        b.login(username).await;
        b
    }

    pub fn browser(&self) -> Browser {
        Browser {
            app: self.app.clone(),
            cookies: HashMap::new(),
            address: "127.0.0.1:50000".parse().unwrap(),
            csrf: String::new(),
        }
    }

    pub async fn bulletins(&self) -> usize {
        self.fed
            .store
            .bulletins(&atalaya_store::BulletinQuery {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
    }
}

/// A browser: keeps cookies, remembers the last CSRF token a page showed.
pub struct Browser {
    pub app: Router,
    pub cookies: HashMap<String, String>,
    pub address: SocketAddr,
    pub csrf: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of a hidden input in the page.
    pub fn input(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        Some(self.body[start..].split('"').next()?.to_owned())
    }

    /// The `code` of a JSON error body.
    pub fn code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .or_else(|| {
                let i = self.body.find("data-code=\"")? + "data-code=\"".len();
                Some(self.body[i..].split('"').next()?.to_owned())
            })
            .unwrap_or_default()
    }
}

pub fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

impl Browser {
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        req = req.header(header::HOST, "127.0.0.1:7400");
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, c.join("; "));
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::from(body.unwrap_or_default())).unwrap();
        req.extensions_mut().insert(ConnectInfo(self.address));
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        let reply = Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if let Some(c) = reply.input("_csrf") {
            self.csrf = c;
        }
        reply
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.request(Method::GET, path, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.request(Method::POST, path, Some(form(fields)), &[])
            .await
    }

    /// A console form with the page's CSRF token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.csrf.clone();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Password step only. Returns where the node sends the browser next.
    pub async fn password(&mut self, username: &str, password: &str) -> Reply {
        let page = self.get("/console/login").await;
        let token = page.input("_login").expect("login form token");
        self.post(
            "/console/login",
            &[
                ("_login", &token),
                ("username", username),
                ("password", password),
                ("tz", "America/Santiago"),
            ],
        )
        .await
    }

    /// A full login for an account that needs no second factor; loads the watch floor.
    pub async fn login(&mut self, username: &str) {
        let r = self.password(username, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/console");
        let floor = self.get("/console").await;
        assert_eq!(floor.status, StatusCode::OK, "{}", floor.body);
    }
}

/// The TOTP code of `secret` at the node's clock.
pub fn code_now(secret: &str, node: &TestNode) -> String {
    use atalaya_core::Clock;
    let step = atalaya_crypto::totp::step_at(node.clock.now().unix_seconds());
    atalaya_crypto::totp::code_at(secret, step).unwrap()
}

/// A full, valid team record (a Chilean team: the test node's country) as the API takes it.
/// Every field is there; it has no `updated` (the API stamps it).
pub fn team_record(id: &str) -> Value {
    json!({
        "id": id,
        "official_name": "Equipo de Respuesta de Prueba (test)",
        "short_name": "ERP-TEST",
        "country": "CL",
        "team_type": "national",
        "host_organisation": "Ministerio Ficticio",
        "website": "https://csirt.example.org/",
        "established": "2015-03-01",
        "designation": {"reference": "Decreto Ficticio 1/2015", "date": "2015-02-01"},
        "constituency": {
            "types": ["National"],
            "sectors": ["energy", "financial-services"],
            "asns": [64512],
            "domains": ["*.example.org"],
            "ip_ranges": ["192.0.2.0/24", "2001:db8:10::/48"],
            "countries": ["CL"]
        },
        "services": ["incident-coordination", "incident-report-acceptance", "communication"],
        "business_hours": {"hours": "09:00-18:00 Monday to Friday", "timezone": "America/Santiago"},
        "available_24x7": true,
        "emails": [
            {"address": "incidentes@csirt.example.org", "usage": ["incident-report"], "public": true},
            {"address": "guardia@csirt.example.org", "usage": ["emergency"], "public": false}
        ],
        "phones": [
            {"number": "+56 2 555 0100", "usage": ["voice"], "timezone": "America/Santiago", "public": true},
            {"number": "+56 9 555 0199", "usage": ["emergency"], "timezone": "America/Santiago", "public": false}
        ],
        "pgp_keys": [{"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567", "expires": "2027-06-30"}],
        "mandate": {"disseminates_nationally": true, "authorised_to_share": true, "assists_other_teams": true},
        "sim3": {"assessed": "2026-01-10", "levels": {"O-1": 3, "H-1": 2}},
        "member_notes": "members only",
    })
}

/// A person's API token on a fresh node, and JSON requests with it.
pub struct Api {
    /// The node.
    pub node: TestNode,
    /// The bearer token of `username`, with every right of the role.
    pub token: String,
}

impl Api {
    /// A node where `username` has `role` and a token with all its rights.
    pub async fn start(username: &str, role: Role) -> Api {
        let node = TestNode::start().await;
        node.user(username, role, true).await;
        let owner = node
            .fed
            .store
            .user_by_name(username)
            .await
            .unwrap()
            .unwrap();
        let (token, _) = node
            .state
            .accounts
            .issue_token(Some(&owner), "test", &role.permissions().to_scopes(), None)
            .await
            .unwrap();
        Api { node, token }
    }

    /// A request with the token (a body is sent as JSON): status, the reply as JSON (or
    /// null), and its text.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> (StatusCode, Value, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let mut req = req.body(body.map_or_else(Body::empty, Body::from)).unwrap();
        req.extensions_mut().insert(ConnectInfo(
            "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        let resp = self.node.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 32 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        )
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (s, v, _) = self.call(Method::PUT, path, Some(body.to_string())).await;
        (s, v)
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (s, v, _) = self.call(Method::POST, path, Some(body.to_string())).await;
        (s, v)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (StatusCode, Value, String) {
        self.call(Method::GET, path, None).await
    }
}

/// Every `.route("path", method(..).method(..))` in the router's sources, as (METHOD, path).
pub fn routes_in_source() -> Vec<(String, String)> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut out = Vec::new();
    for file in ["src/lib.rs", "src/console/mod.rs"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        for piece in text.split(".route(").skip(1) {
            let path = piece.split('"').nth(1).unwrap().to_owned();
            // The method routers up to the closing parenthesis of `.route(`.
            let mut depth = 1;
            let mut end = 0;
            for (i, ch) in piece.char_indices() {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let body = &piece[..end];
            for m in ["get", "post", "put", "delete", "patch"] {
                let needle = format!("{m}(");
                let found = body.match_indices(&needle).any(|(i, _)| {
                    i == 0
                        || !body.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && body.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.push((m.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}
