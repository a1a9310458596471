//! Serving HTTP/1.1 connections directly (the single-binary default) with limits that keep idle
//! and trickling clients from holding the server (targets.md R23):
//!
//! - at most `max_connections` open at once; past it, new connections wait in the kernel's
//!   accept queue (they are not accepted) while the open ones keep being served;
//! - a connection must send complete request headers within `header_timeout` — counted from
//!   the accept for its first request, from its first byte for later ones — or it is closed;
//! - a keep-alive connection with no request for `idle_timeout` is closed.
//!
//! A connection is never cut while a request is in flight (its response body included). hyper's
//! own `header_read_timeout` is not used: it starts when hyper waits for a head, so it would also
//! close keep-alive connections after the header timeout instead of the idle one.

use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::Router;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// The connection limits (`TRELLIS_MAX_CONNECTIONS`, `TRELLIS_HEADER_TIMEOUT_SECS`,
/// `TRELLIS_IDLE_TIMEOUT_SECS`) and the proxies whose `X-Forwarded-For` is believed
/// (`TRELLIS_TRUSTED_PROXIES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time to send complete request headers.
    pub header_timeout: Duration,
    /// Time a keep-alive connection may sit without a request.
    pub idle_timeout: Duration,
    /// Reverse proxies in front: requests through them carry the client's address in
    /// `ConnectInfo` (see [`crate::client_addr`]).
    pub trusted_proxies: Arc<crate::client_addr::TrustedProxies>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            trusted_proxies: Arc::default(),
        }
    }
}

/// Counters of the connections, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Open now.
    pub open: AtomicUsize,
    /// Accepted so far.
    pub accepted: AtomicU64,
    /// Closed because complete headers did not arrive in time.
    pub header_timeouts: AtomicU64,
    /// Closed after sitting idle between requests.
    pub idle_timeouts: AtomicU64,
}

/// What one connection is doing, shared by its reader, its requests and its watchdog.
struct ConnState {
    opened: Instant,
    /// Requests in flight (until their response body is done).
    in_flight: AtomicUsize,
    /// Requests whose headers arrived.
    requests: AtomicU64,
    inner: Mutex<Phase>,
}

struct Phase {
    /// When the last response finished (or the accept).
    idle_since: Instant,
    /// First byte received since then: a request head is on its way.
    head_started: Option<Instant>,
}

impl ConnState {
    fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            opened: now,
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            inner: Mutex::new(Phase { idle_since: now, head_started: None }),
        })
    }

    fn bytes_arrived(&self) {
        let mut p = self.inner.lock().expect("not poisoned");
        if p.head_started.is_none() && self.in_flight.load(Ordering::Acquire) == 0 {
            p.head_started = Some(Instant::now());
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.lock().expect("not poisoned").head_started = None;
        InFlight(self.clone())
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &Limits) -> Option<Expiry> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let p = self.inner.lock().expect("not poisoned");
        if self.requests.load(Ordering::Relaxed) == 0 {
            return (self.opened.elapsed() >= limits.header_timeout).then_some(Expiry::Headers);
        }
        match p.head_started {
            Some(t) => (t.elapsed() >= limits.header_timeout).then_some(Expiry::Headers),
            None => (p.idle_since.elapsed() >= limits.idle_timeout).then_some(Expiry::Idle),
        }
    }
}

/// Held while a request is in flight; its drop (the response body finished or was dropped)
/// makes the connection idle again.
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut p = self.0.inner.lock().expect("not poisoned");
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            p.idle_since = Instant::now();
            p.head_started = None;
        }
    }
}

enum Expiry {
    Headers,
    Idle,
}

/// The socket, noting when request bytes arrive.
struct Watched {
    io: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_arrived();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A response body that keeps its request in flight until it is sent (or dropped).
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves; then stops accepting,
/// lets requests in flight finish and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stats: Arc<ConnStats>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // Take a slot before accepting: past the cap, clients wait in the accept queue.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        let (router, stats, stop, limits) = (router.clone(), stats.clone(), stop_rx.clone(), limits.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, router, limits, &stats, stop).await;
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection gives its slot back when it ends.
    let _all = permits.acquire_many(limits.max_connections as u32).await;
    Ok(())
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, router: Router, limits: Limits, stats: &ConnStats, mut stop: watch::Receiver<bool>) {
    let state = ConnState::new();
    let io = TokioIo::new(Watched { io: stream, state: state.clone() });
    let requests = state.clone();
    let proxies = limits.trusted_proxies.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = requests.request_started();
        let mut req = req.map(Body::new);
        let client = SocketAddr::new(proxies.client(peer.ip(), req.headers()), peer.port());
        req.extensions_mut().insert(ConnectInfo(client));
        let router = router.clone();
        async move {
            let res = tower::ServiceExt::oneshot(router, req).await.unwrap_or_else(|e: Infallible| match e {});
            Ok::<_, Infallible>(res.map(|body| Body::new(Tracked { body, _in_flight: in_flight })))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    let mut stopping = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = ticker.tick() => match state.expired(&limits) {
                Some(Expiry::Headers) => {
                    stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closed a connection that sent no complete request headers in time");
                    return;
                }
                Some(Expiry::Idle) => {
                    stats.idle_timeouts.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                None => {}
            },
        }
    }
}
