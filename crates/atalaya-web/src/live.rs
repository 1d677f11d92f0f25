//! `GET /public/v1/events`: the public live stream. Every bulletin that the public may see
//! (the same decision as `/public/v1/bulletins`: TLP:CLEAR, embargo over, not retracted) is sent
//! to every subscriber as it is stored here, published here or received from a peer, **with its
//! content**, as an event `bulletin` whose data is the bulletin exactly as
//! `/public/v1/bulletins` lists it. A subscriber therefore needs no follow-up request, which is
//! what lets one node warn ten thousand public subscribers within a second (DESIGN §9).
//!
//! One task per node turns the federation's content-free `Bulletins` events into these: it
//! reads the node's log from where it last stopped, decides once per new bulletin, serialises
//! it once, and hands the same bytes to every subscriber through a broadcast channel. So the
//! work per warning is one log read plus one write per subscriber, whatever their number.
//!
//! The stream is live, not a history: it starts with what is stored after the subscription.
//! A subscriber that falls too far behind receives an event `resync` (fetch
//! `/public/v1/bulletins`) instead of what it missed. Bulletins that become public later (an
//! embargo that ends) are not announced here; the portal and the feeds show them. The number
//! of subscribers is bounded (`[portal] live_subscribers`); past it the stream answers 503
//! `too_many_subscribers`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atalaya_federation::{Federation, NodeEvent};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::{OnceCell, broadcast};
use tokio_util::sync::CancellationToken;

use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// Envelopes read from the log per page when catching up after an event.
const LOG_PAGE: u32 = 500;
/// Bulletins a subscriber may fall behind before it is told to resynchronise.
const QUEUE: usize = 256;

/// The public live stream of one node: its feed task (started with the first subscriber) and
/// the bound on subscribers.
pub struct PublicLive {
    feed: OnceCell<broadcast::Sender<Arc<str>>>,
    subscribers: Arc<AtomicUsize>,
    max_subscribers: usize,
}

impl PublicLive {
    /// A stream that accepts at most `max_subscribers` at once.
    pub fn new(max_subscribers: usize) -> Self {
        Self {
            feed: OnceCell::new(),
            subscribers: Arc::new(AtomicUsize::new(0)),
            max_subscribers,
        }
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    /// The sender of the feed, starting the feed task the first time. The task listens to the
    /// node's events before it reads where the log ends, so nothing stored after this call
    /// returns is missed.
    async fn feed(
        &self,
        fed: &Arc<Federation>,
        shutdown: &CancellationToken,
    ) -> Result<broadcast::Sender<Arc<str>>, ApiError> {
        self.feed
            .get_or_try_init(|| async {
                let events = fed.subscribe();
                let cursor = fed.store.log_head().await?;
                let (tx, _) = broadcast::channel(QUEUE);
                tokio::spawn(run_feed(
                    Arc::clone(fed),
                    tx.clone(),
                    events,
                    cursor,
                    shutdown.clone(),
                ));
                Ok::<_, ApiError>(tx)
            })
            .await
            .cloned()
    }
}

/// Counts one subscriber while it lives.
struct Subscribed(Arc<AtomicUsize>);

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Turn `Bulletins` events into public bulletin events until `shutdown`.
async fn run_feed(
    fed: Arc<Federation>,
    tx: broadcast::Sender<Arc<str>>,
    mut events: broadcast::Receiver<NodeEvent>,
    mut cursor: i64,
    shutdown: CancellationToken,
) {
    use broadcast::error::RecvError;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => match event {
                Ok(NodeEvent::Bulletins) | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => return,
            },
        }
        if let Err(e) = announce_after(&fed, &tx, &mut cursor).await {
            tracing::error!(error = %e, "public live stream: could not read the log");
        }
    }
}

/// Send every public bulletin stored after `cursor`, and move `cursor` past what was read.
async fn announce_after(
    fed: &Federation,
    tx: &broadcast::Sender<Arc<str>>,
    cursor: &mut i64,
) -> Result<(), atalaya_store::StoreError> {
    if tx.receiver_count() == 0 {
        // Nobody listens: skip what was stored instead of reading it.
        *cursor = fed.store.log_head().await?.max(*cursor);
        return Ok(());
    }
    loop {
        let page = fed.store.log_after(*cursor, None, LOG_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        *cursor = last.cursor;
        for env in page
            .iter()
            .filter(|e| e.kind == "bulletin" && e.tlp == "CLEAR")
        {
            let Some(record) = fed.store.bulletin(env.id).await? else {
                continue;
            };
            if !fed.is_public(&record) {
                continue;
            }
            match serde_json::to_string(&crate::api::view(&record)) {
                // No subscriber left is not an error: the next one starts from here.
                Ok(json) => drop(tx.send(Arc::from(json))),
                Err(e) => tracing::error!(error = %e, "public live stream: cannot serialise"),
            }
        }
        if page.len() < LOG_PAGE as usize {
            return Ok(());
        }
    }
}

/// `GET /public/v1/events`: server-sent events `bulletin` (data: the public bulletin as
/// `/public/v1/bulletins` lists it) and `resync`; no login.
pub async fn events(
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let live = Arc::clone(&state.live);
    let before = live.subscribers.fetch_add(1, Ordering::Relaxed);
    let guard = Subscribed(Arc::clone(&live.subscribers));
    if before >= live.max_subscribers {
        return Err(ErrorCode::TooManySubscribers
            .with(format!(
                "this node serves at most {} live subscribers; read /public/v1/bulletins instead",
                live.max_subscribers
            ))
            .into_response());
    }
    let tx = live
        .feed(&state.fed, &state.shutdown)
        .await
        .map_err(IntoResponse::into_response)?;
    let rx = tx.subscribe();
    let stream = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        use broadcast::error::RecvError;
        let event = match rx.recv().await {
            Ok(json) => Event::default().event("bulletin").data(&*json),
            Err(RecvError::Lagged(missed)) => Event::default().event("resync").data(format!(
                "{missed} bulletins missed: fetch /public/v1/bulletins"
            )),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), (rx, guard)))
    });
    // The stream ends when the node shuts down, so shutdown never waits on a subscriber.
    let stream = futures::StreamExt::take_until(stream, state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
