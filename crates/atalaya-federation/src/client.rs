//! Talking to peers: signed pushes and pulls over HTTP, through a client that refuses to reach
//! loopback or private addresses unless the configuration allows it (peer URLs come from the
//! roster, and must not be a way into the node's own network).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use atalaya_core::{Member, NodeId};
use atalaya_crypto::RequestParts;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, Url};

use crate::wire::{BatchReply, MAX_ANSWER_BYTES, MAX_HOLDS, PullPage, envelopes_json};
use crate::{Federation, FederationSettings};

/// A failed exchange with a peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The peer's endpoint is not usable from here.
    #[error("endpoint refused: {0}")]
    Endpoint(String),
    /// The operator suspended exchanges with this peer.
    #[error("exchanges with {0} are suspended by configuration")]
    Suspended(NodeId),
    /// Connection, timeout or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The peer answered with an error.
    #[error("peer answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Its error body (truncated).
        body: String,
    },
    /// The peer's answer does not parse.
    #[error("bad answer: {0}")]
    BadAnswer(String),
}

/// IPv4 blocks of the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and later) that are
/// not globally reachable, and multicast and the reserved 240/4: `(network, prefix length)`.
const SPECIAL_V4: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0/8 "this network"
    (0x0a00_0000, 8),  // 10/8 private
    (0x6440_0000, 10), // 100.64/10 shared address space (CGNAT)
    (0x7f00_0000, 8),  // 127/8 loopback
    (0xa9fe_0000, 16), // 169.254/16 link local
    (0xac10_0000, 12), // 172.16/12 private
    (0xc000_0000, 24), // 192.0.0/24 IETF protocol assignments
    (0xc000_0200, 24), // 192.0.2/24 documentation (TEST-NET-1)
    (0xc058_6300, 24), // 192.88.99/24 deprecated 6to4 relay anycast
    (0xc0a8_0000, 16), // 192.168/16 private
    (0xc612_0000, 15), // 198.18/15 benchmarking
    (0xc633_6400, 24), // 198.51.100/24 documentation (TEST-NET-2)
    (0xcb00_7100, 24), // 203.0.113/24 documentation (TEST-NET-3)
    (0xe000_0000, 4),  // 224/4 multicast
    (0xf000_0000, 4),  // 240/4 reserved, and 255.255.255.255 broadcast
];

/// IPv6 blocks of the IANA IPv6 Special-Purpose Address Registry that are not globally
/// reachable, deprecated transition blocks, documentation, multicast.
const SPECIAL_V6: &[(u128, u8)] = &[
    (0, 96),                           // ::/96 unspecified, loopback, IPv4-compatible
    (0x0064_ff9b_0001 << 80, 48),      // 64:ff9b:1::/48 local-use IPv4/IPv6 translation
    (0x0100 << 112, 64),               // 100::/64 discard-only
    (0x0100_0000_0000_0001 << 64, 64), // 100:0:0:1::/64 dummy prefix
    (0x2001 << 112, 23), // 2001::/23 IETF protocol assignments (Teredo, ORCHID, benchmarking)
    (0x2001_0db8 << 96, 32), // 2001:db8::/32 documentation
    (0x2002 << 112, 16), // 2002::/16 6to4 (deprecated, RFC 7526)
    (0x3fff << 112, 20), // 3fff::/20 documentation
    (0x5f00 << 112, 16), // 5f00::/16 segment routing SIDs
    (0xfc00 << 112, 7),  // fc00::/7 unique local
    (0xfe80 << 112, 10), // fe80::/10 link local
    (0xfec0 << 112, 10), // fec0::/10 site local (deprecated)
    (0xff00 << 112, 8),  // ff00::/8 multicast
];

fn in_v4(ip: u32, (net, len): (u32, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    ip & mask == net & mask
}

fn in_v6(ip: u128, (net, len): (u128, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    ip & mask == net & mask
}

/// An address a node may contact when private peers are not allowed: none of the special-purpose
/// blocks of the IANA registries, and for the IPv6 forms that carry an IPv4 address (mapped,
/// NAT64 well-known prefix), an IPv4 address that is itself public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            !SPECIAL_V4.iter().any(|b| in_v4(n, *b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let n = u128::from(v6);
            // 64:ff9b::/96, the NAT64 well-known prefix: the IPv4 address in its last 32 bits.
            if in_v6(n, (0x0064_ff9b << 96, 96)) {
                #[allow(clippy::cast_possible_truncation)]
                return is_public(IpAddr::V4(std::net::Ipv4Addr::from(n as u32)));
            }
            !SPECIAL_V6.iter().any(|b| in_v6(n, *b))
        }
    }
}

/// Resolves names and drops non-public addresses.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client a node uses for its peers.
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    allow_private: bool,
    suspended: Vec<NodeId>,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient")
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

impl PeerClient {
    /// Build the client from the federation settings.
    pub fn new(settings: &FederationSettings) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            .connect_timeout(Duration::from_millis(
                settings.request_timeout_ms.min(5_000),
            ))
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .user_agent(concat!("atalaya/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private_peers {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self {
            http: builder.build().map_err(|e| e.to_string())?,
            allow_private: settings.allow_private_peers,
            suspended: settings.suspended_peers.clone(),
        })
    }

    fn url(&self, peer: &Member, path: &str) -> Result<Url, PeerError> {
        if self.suspended.contains(&peer.node_id) {
            return Err(PeerError::Suspended(peer.node_id.clone()));
        }
        let base = Url::parse(&peer.endpoint).map_err(|e| PeerError::Endpoint(e.to_string()))?;
        check_endpoint(&base, self.allow_private).map_err(PeerError::Endpoint)?;
        let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
        Url::parse(&joined).map_err(|e| PeerError::Endpoint(e.to_string()))
    }
}

/// Whether a peer's endpoint may be called: HTTPS to a public address, or on a test network
/// (`allow_private_peers`) plain HTTP and private addresses too.
pub fn check_endpoint(base: &Url, allow_private: bool) -> Result<(), String> {
    match (base.scheme(), allow_private) {
        ("https", _) | ("http", true) => {}
        ("http", false) => {
            return Err(format!(
                "{base} is plain HTTP: peers are reached over HTTPS (http:// only with \
                 federation.allow_private_peers, for test networks)"
            ));
        }
        (other, _) => return Err(format!("scheme {other}")),
    }
    if !allow_private {
        let literal = base
            .host_str()
            .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
        if let Some(ip) = literal
            && !is_public(ip)
        {
            return Err(format!(
                "{ip} is not a public address (set federation.allow_private_peers for test networks)"
            ));
        }
    }
    Ok(())
}

fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

impl Federation {
    async fn signed(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, PeerError> {
        let auth = authority(&url);
        let parts = RequestParts {
            method: method.as_str(),
            authority: &auth,
            path: url.path(),
            query: url.query(),
            body: body.as_deref(),
        };
        let sig = self.sign_request(&parts).map_err(PeerError::Endpoint)?;
        let mut req = self
            .client
            .http
            .request(method, url)
            .header("signature-input", sig.signature_input)
            .header("signature", sig.signature)
            .header("accept", "application/json");
        if let Some(d) = sig.content_digest {
            req = req.header("content-digest", d);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| PeerError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        let bytes = read_capped(resp, MAX_ANSWER_BYTES).await?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(PeerError::Status {
                status: status.as_u16(),
                body,
            });
        }
        Ok(bytes.to_vec())
    }

    /// Push envelopes to a peer's inbox; returns its verdicts.
    pub async fn push(&self, peer: &Member, raws: &[String]) -> Result<BatchReply, PeerError> {
        let url = self.client.url(peer, "/fed/v1/inbox")?;
        let body = envelopes_json("{\"envelopes\":", raws.iter().map(String::as_str), "}");
        let answer = self
            .signed(Method::POST, url, Some(body.into_bytes()))
            .await?;
        serde_json::from_slice(&answer).map_err(|e| PeerError::BadAnswer(e.to_string()))
    }

    /// The signed checkpoint of `node` that `peer` holds, if any.
    pub(crate) async fn fetch_checkpoint_raw(
        &self,
        peer: &Member,
        node: &NodeId,
    ) -> Result<Option<String>, PeerError> {
        let mut url = self.client.url(peer, "/fed/v1/checkpoint")?;
        url.query_pairs_mut().append_pair("node", node.as_str());
        match self.signed(Method::GET, url, None).await {
            Ok(body) => Ok(Some(
                String::from_utf8(body).map_err(|e| PeerError::BadAnswer(e.to_string()))?,
            )),
            Err(PeerError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A consistency proof between two sizes of `peer`'s own audit tree
    /// (`GET /fed/v1/audit/consistency`).
    pub(crate) async fn fetch_consistency(
        &self,
        peer: &Member,
        from: u64,
        to: u64,
    ) -> Result<Vec<atalaya_core::merkle::Hash>, PeerError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            from: u64,
            to: u64,
            proof: Vec<String>,
        }
        let mut url = self.client.url(peer, "/fed/v1/audit/consistency")?;
        url.query_pairs_mut()
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string());
        let body = self.signed(Method::GET, url, None).await?;
        let a: Answer =
            serde_json::from_slice(&body).map_err(|e| PeerError::BadAnswer(e.to_string()))?;
        if (a.from, a.to) != (from, to) || a.proof.len() > atalaya_core::merkle::MAX_PROOF_LEN {
            return Err(PeerError::BadAnswer(
                "a proof between other sizes, or too long".into(),
            ));
        }
        a.proof
            .iter()
            .map(|h| atalaya_core::merkle::from_hex(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                PeerError::BadAnswer("the proof holds something else than hashes".into())
            })
    }

    /// Send a countersignature of `peer`'s audit head back to it
    /// (`POST /fed/v1/audit/cosignature`).
    pub(crate) async fn send_cosignature(
        &self,
        peer: &Member,
        c: &atalaya_core::audit::Cosignature,
    ) -> Result<(), PeerError> {
        let url = self.client.url(peer, "/fed/v1/audit/cosignature")?;
        let body = serde_json::to_vec(c).map_err(|e| PeerError::BadAnswer(e.to_string()))?;
        self.signed(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// Pull one page of a peer's log (optionally only `origin`'s envelopes, optionally
    /// starting at the first created at or after `since`) and store what passes the checks.
    ///
    /// A page that holds more envelopes than asked for, or envelopes of another origin than
    /// the one asked for, is refused whole and nothing of it is stored: a peer does not get to
    /// push what it was not asked for through a pull.
    pub(crate) async fn pull_page(
        &self,
        peer: &Member,
        after: i64,
        origin: Option<&NodeId>,
        since: Option<atalaya_core::Timestamp>,
    ) -> Result<Pulled, PeerError> {
        let limit = self.settings.pull_page.max(1);
        let mut url = self.client.url(peer, "/fed/v1/outbox")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("after", &after.to_string());
            q.append_pair("limit", &limit.to_string());
            if let Some(o) = origin {
                q.append_pair("origin", o.as_str());
            }
            if let Some(s) = since {
                q.append_pair("since", &s.to_string());
            }
        }
        let answer = self.signed(Method::GET, url, None).await?;
        let page: PullPage<'_> =
            serde_json::from_slice(&answer).map_err(|e| PeerError::BadAnswer(e.to_string()))?;
        check_page(&page, limit, origin)?;
        let reply = self
            .receive_batch(&page.envelopes)
            .await
            .map_err(|e| PeerError::Transport(format!("storing pulled envelopes: {e}")))?;
        let holds = page
            .holds
            .iter()
            .filter_map(|(o, c)| Some((NodeId::new(o).ok()?, *c)))
            .collect();
        Ok(Pulled {
            reply,
            next: page.next,
            more: page.more,
            holds,
        })
    }
}

/// One pulled page: the verdicts on its envelopes, where to continue, and what the source
/// says it holds of each origin.
#[derive(Debug)]
pub struct Pulled {
    /// Verdicts on the page's envelopes.
    pub reply: BatchReply,
    /// The cursor to ask after next.
    pub next: i64,
    /// Whether more is waiting.
    pub more: bool,
    /// The source's newest log position per origin.
    pub holds: Vec<(NodeId, i64)>,
}

/// The checks a page passes before anything of it is stored.
fn check_page(page: &PullPage<'_>, limit: u32, origin: Option<&NodeId>) -> Result<(), PeerError> {
    if page.envelopes.len() > limit as usize {
        return Err(PeerError::BadAnswer(format!(
            "{} envelopes in a page of at most {limit}",
            page.envelopes.len()
        )));
    }
    if page.holds.len() > MAX_HOLDS {
        return Err(PeerError::BadAnswer(format!(
            "holdings of {} origins (at most {MAX_HOLDS})",
            page.holds.len()
        )));
    }
    if let Some(origin) = origin {
        #[derive(serde::Deserialize)]
        struct OriginOnly<'a> {
            #[serde(borrow)]
            origin: std::borrow::Cow<'a, str>,
        }
        for raw in &page.envelopes {
            let theirs = serde_json::from_str::<OriginOnly<'_>>(raw.get())
                .map(|o| o.origin.into_owned())
                .unwrap_or_default();
            if theirs != origin.as_str() {
                return Err(PeerError::BadAnswer(format!(
                    "asked for envelopes of {origin}, got one of {theirs:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Read a response body, refusing one larger than `max` bytes without reading it all.
async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, PeerError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(PeerError::BadAnswer(format!(
            "answer of {} bytes (at most {max})",
            resp.content_length().unwrap_or_default()
        )));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| PeerError::Transport(e.without_url().to_string()))?
    {
        if out.len() + chunk.len() > max {
            return Err(PeerError::BadAnswer(format!("answer over {max} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_reached_over_https_outside_test_networks() {
        let check = |u: &str, private| check_endpoint(&Url::parse(u).unwrap(), private);
        assert!(check("https://atalaya.csirt.example.cl", false).is_ok());
        assert!(check("https://200.1.2.3:7400", false).is_ok());
        let e = check("http://atalaya.csirt.example.cl", false).unwrap_err();
        assert!(e.contains("plain HTTP"), "{e}");
        assert!(check("https://10.0.0.1", false).is_err());
        assert!(check("https://[64:ff9b::a00:1]", false).is_err());
        assert!(check("ftp://example.org", false).is_err());
        assert!(check("ftp://example.org", true).is_err());
        assert!(check("http://127.0.0.1:7400", true).is_ok());
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            // Multicast, reserved, broadcast, benchmarking, documentation, protocol blocks.
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "198.19.255.254",
            "192.0.0.8",
            "192.0.2.7",
            "198.51.100.7",
            "203.0.113.7",
            "192.88.99.1",
            "0.1.2.3",
            // NAT64 to private space, 6to4, Teredo, documentation, multicast, site local.
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:c0a8:101::1",
            "2002:0808:0808::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "ff02::1",
            "ff0e::1",
            "fec0::1",
            "100::1",
            "5f00::1",
            "::",
            "::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "200.1.2.3",
            "8.8.8.8",
            "2800:150::1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "64:ff9b::808:808",
            "2001:1200::1",
            "2620:fe::fe",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
