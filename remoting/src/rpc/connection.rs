//! One framed TCP connection shared by both ends: a writer task fed by a bounded channel, a reader
//! loop that completes pending requests by opaque and hands peer requests to a [`Handler`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::progress::{until_stalled, Clock, Progress};
use super::Handler;
use crate::code::ResponseCode;
use crate::command::RemotingCommand;
use crate::error::Error;
use crate::frame::FrameCodec;

/// Identifies a connection for the lifetime of the process.
pub type ConnectionId = u64;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Outbound queue depth per connection; a full queue back-pressures the senders.
const WRITE_QUEUE: usize = 4096;
/// Bytes of commands queued for writing on one connection at most (a larger command takes the
/// whole budget): a peer that does not read cannot make us hold more than this for it.
const WRITE_BUDGET: usize = 32 << 20;
/// A write that makes no progress for this long closes the connection (client connections;
/// servers use their `serverWriteTimeoutSeconds`).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Initial read buffer: one read takes many pipelined requests under load.
const READ_BUFFER: usize = 64 * 1024;

type Pending = Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>;

struct Inner {
    id: ConnectionId,
    peer: SocketAddr,
    tx: mpsc::Sender<(RemotingCommand, OwnedSemaphorePermit)>,
    /// Bytes that may still be queued ([`WRITE_BUDGET`]), returned as commands are written.
    write_budget: Arc<Semaphore>,
    pending: Pending,
    closed: AtomicBool,
    cancel: CancellationToken,
}

/// A cheap, cloneable handle to a live connection.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("id", &self.inner.id).field("peer", &self.inner.peer).finish()
    }
}

/// Admission limits applied to requests arriving on a server's connections.
#[derive(Clone)]
pub(crate) struct Admission {
    /// Requests handled at once, server-wide.
    pub normal: Arc<Semaphore>,
    /// Long-running requests (held pulls) at once, server-wide.
    pub long_running: Arc<Semaphore>,
    /// How long a request may wait for `normal` before `SYSTEM_BUSY`.
    pub max_wait: Duration,
    /// Requests (long-running ones excepted) one connection may have in progress; more are not
    /// read until one finishes, so one flooding client cannot take every `normal` slot.
    pub per_connection: usize,
    /// Long-running requests one connection may have in progress; more are answered
    /// `SYSTEM_BUSY` at once (a held pull must not stop the reading of its connection).
    pub per_connection_long_running: usize,
    /// A write that makes no progress for this long closes the connection (a peer that does
    /// not read its answers).
    pub write_timeout: Duration,
    /// A connection that sends no complete frame for this long is closed (idle, or a
    /// slowloris sending a frame byte by byte).
    pub idle_timeout: Duration,
}

impl Connection {
    /// This connection's id.
    pub fn id(&self) -> ConnectionId {
        self.inner.id
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// Whether the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Closes the connection: pending requests fail, the socket is shut down.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.cancel.cancel();
    }

    /// Queues a command for writing without waiting for an answer. Waits while the connection's
    /// write queue or byte budget is full; fails once the connection closes.
    pub async fn send(&self, cmd: RemotingCommand) -> Result<(), Error> {
        let closed = || Error::ConnectionClosed(self.inner.peer.to_string());
        if self.is_closed() {
            return Err(closed());
        }
        let bytes = (cmd.body.len() + 128).min(WRITE_BUDGET) as u32;
        let queued = async {
            let permit = Arc::clone(&self.inner.write_budget).acquire_many_owned(bytes).await.map_err(|_| closed())?;
            self.inner.tx.send((cmd, permit)).await.map_err(|_| closed())
        };
        tokio::select! {
            result = queued => result,
            _ = self.inner.cancel.cancelled() => Err(closed()),
        }
    }

    /// Sends a one-way request.
    pub async fn oneway(&self, request: RemotingCommand) -> Result<(), Error> {
        self.send(request.into_oneway()).await
    }

    /// Sends a request and waits up to `timeout` for its response.
    pub async fn request(&self, request: RemotingCommand, timeout: Duration) -> Result<RemotingCommand, Error> {
        let opaque = request.opaque;
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(opaque, tx);
        let result = tokio::time::timeout(timeout, async {
            self.send(request).await?;
            rx.await.map_err(|_| Error::ConnectionClosed(self.inner.peer.to_string()))
        })
        .await;
        self.lock_pending().remove(&opaque);
        match result {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout { addr: self.inner.peer.to_string(), millis: timeout.as_millis() as u64 }),
        }
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<RemotingCommand>>> {
        // A poisoned map only means another task panicked while holding it; the map is still valid.
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes over `stream`: spawns the writer task and runs the reader loop until the peer closes
    /// or sends a malformed frame. Returns the handle and the reader task.
    pub(crate) fn spawn<H: Handler>(
        stream: TcpStream,
        handler: Arc<H>,
        max_frame: usize,
        admission: Option<Admission>,
    ) -> (Connection, tokio::task::JoinHandle<()>) {
        let peer = stream.peer_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let _ = stream.set_nodelay(true);
        let (read_half, write_half) = stream.into_split();
        Self::spawn_io(read_half, write_half, peer, handler, max_frame, admission)
    }

    /// Like [`Connection::spawn`] for a TLS stream (already handshaken), either side's.
    pub(crate) fn spawn_tls<H: Handler>(
        stream: tokio_rustls::TlsStream<TcpStream>,
        handler: Arc<H>,
        max_frame: usize,
        admission: Option<Admission>,
    ) -> (Connection, tokio::task::JoinHandle<()>) {
        let tcp = stream.get_ref().0;
        let peer = tcp.peer_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let _ = tcp.set_nodelay(true);
        let (read_half, write_half) = tokio::io::split(stream);
        Self::spawn_io(read_half, write_half, peer, handler, max_frame, admission)
    }

    fn spawn_io<H: Handler, R, W>(
        read_half: R,
        write_half: W,
        peer: SocketAddr,
        handler: Arc<H>,
        max_frame: usize,
        admission: Option<Admission>,
    ) -> (Connection, tokio::task::JoinHandle<()>)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let conn = Connection {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                tx,
                write_budget: Arc::new(Semaphore::new(WRITE_BUDGET)),
                pending: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                cancel: CancellationToken::new(),
            }),
        };
        let cancel = conn.inner.cancel.clone();

        let clock = Clock::new();
        let writer = FramedWrite::new(Progress::new(write_half, clock.clone()), FrameCodec::new(max_frame));
        let write_timeout = admission.as_ref().map_or(WRITE_TIMEOUT, |a| a.write_timeout);
        tokio::spawn(write_loop(writer, clock, rx, cancel.clone(), peer, write_timeout));

        let reader_conn = conn.clone();
        let reader = tokio::spawn(async move {
            let mut frames = FramedRead::with_capacity(read_half, FrameCodec::new(max_frame), READ_BUFFER);
            let idle_timeout = admission.as_ref().map_or(Duration::MAX, |a| a.idle_timeout);
            // Server connections only: a client's own connections have no admission limits.
            let in_flight = admission.as_ref().map(|a| {
                (Arc::new(Semaphore::new(a.per_connection)), Arc::new(Semaphore::new(a.per_connection_long_running)))
            });
            // One timer per connection, re-armed only when it fires: a frame costs a clock read.
            let mut last_frame = tokio::time::Instant::now();
            let idle = tokio::time::sleep_until(deadline(last_frame, idle_timeout));
            tokio::pin!(idle);
            loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = &mut idle => {
                        if last_frame.elapsed() >= idle_timeout {
                            debug!(%peer, idle = ?idle_timeout, "closing a connection idle for too long");
                            break;
                        }
                        idle.as_mut().reset(deadline(last_frame, idle_timeout));
                        continue;
                    }
                    next = frames.next() => next,
                };
                last_frame = tokio::time::Instant::now();
                match next {
                    None => break,
                    Some(Err(e)) => {
                        warn!(%peer, error = %e, "closing connection after a bad frame");
                        break;
                    }
                    Some(Ok(cmd)) if cmd.is_response() => reader_conn.complete(cmd),
                    Some(Ok(cmd)) => {
                        // On a server, while answers wait for the write budget, read nothing
                        // more: the semaphore is fair, so this returns once the answers before it
                        // are queued. (A client goes on reading the responses it waits for.)
                        if in_flight.is_some() {
                            tokio::select! {
                                _ = cancel.cancelled() => break,
                                gate = reader_conn.inner.write_budget.acquire() => if gate.is_err() { break },
                            }
                        }
                        let slot = match &in_flight {
                            None => None,
                            Some((_, long_running)) if handler.is_long_running(cmd.code) => {
                                match Arc::clone(long_running).try_acquire_owned() {
                                    Ok(slot) => Some(slot),
                                    Err(_) => {
                                        reader_conn
                                            .answer_busy(&cmd, "too many long polls pending on this connection")
                                            .await;
                                        continue;
                                    }
                                }
                            }
                            // Waiting here stops reading this connection, nothing else; the
                            // write timeout closes a connection whose answers are never read.
                            Some((normal, _)) => tokio::select! {
                                _ = cancel.cancelled() => break,
                                slot = Arc::clone(normal).acquire_owned() => match slot {
                                    Ok(slot) => Some(slot),
                                    Err(_) => break,
                                },
                            },
                        };
                        reader_conn.dispatch(&handler, cmd, admission.as_ref(), slot).await
                    }
                }
            }
            reader_conn.inner.closed.store(true, Ordering::Release);
            reader_conn.inner.cancel.cancel();
            reader_conn.lock_pending().clear();
            handler.on_close(&reader_conn);
        });
        (conn, reader)
    }

    fn complete(&self, response: RemotingCommand) {
        match self.lock_pending().remove(&response.opaque) {
            Some(waiter) => {
                let _ = waiter.send(response);
            }
            None => debug!(peer = %self.inner.peer, opaque = response.opaque, "response matches no request"),
        }
    }

    async fn dispatch<H: Handler>(
        &self,
        handler: &Arc<H>,
        request: RemotingCommand,
        admission: Option<&Admission>,
        connection_slot: Option<OwnedSemaphorePermit>,
    ) {
        let permit = match admission {
            None => None,
            Some(adm) => {
                let sem = if handler.is_long_running(request.code) { &adm.long_running } else { &adm.normal };
                match tokio::time::timeout(adm.max_wait, sem.clone().acquire_owned()).await {
                    Ok(Ok(p)) => Some(p),
                    _ => {
                        self.answer_busy(&request, "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while")
                            .await;
                        return;
                    }
                }
            }
        };
        let conn = self.clone();
        let handler = Arc::clone(handler);
        let mut handled = Box::pin(async move {
            let oneway = request.is_oneway();
            let response = handler.handle(conn.clone(), request).await;
            drop(permit);
            if let (Some(resp), false) = (response, oneway) {
                let _ = conn.send(resp).await;
            }
            // Held until the answer is queued: a peer that does not read its answers stops
            // being read once its slots are used up, instead of piling up answers here.
            drop(connection_slot);
        });
        // Most requests complete without waiting: run them here, and give a task only to those
        // that wait (long polling, a sync flush, a call to another peer). Boxed, so a handler's
        // large future is not copied into the task.
        if futures::poll!(handled.as_mut()).is_pending() {
            tokio::spawn(handled);
        }
    }

    /// Answers `request` (unless one-way) `SYSTEM_BUSY`, as Apache's flow control does.
    async fn answer_busy(&self, request: &RemotingCommand, remark: &str) {
        if !request.is_oneway() {
            let _ = self.send(RemotingCommand::error(request, ResponseCode::SystemBusy, remark)).await;
        }
    }
}

/// The writer task: writes queued commands, coalescing those ready into one flush, until the
/// connection is cancelled or every sender is gone. A write during which no byte leaves for
/// `timeout`, or that fails, closes the connection.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: FramedWrite<Progress<W>, FrameCodec>,
    clock: Clock,
    mut rx: mpsc::Receiver<(RemotingCommand, OwnedSemaphorePermit)>,
    cancel: CancellationToken,
    peer: SocketAddr,
    timeout: Duration,
) {
    let mut check = tokio::time::interval((timeout / 4).max(Duration::from_millis(10)));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result: Result<(), String> = async {
        loop {
            let (cmd, _budget) = tokio::select! {
                _ = cancel.cancelled() => break,
                next = rx.recv() => match next {
                    Some(next) => next,
                    None => break,
                },
            };
            until_stalled(writer.feed(cmd), &clock, &mut check, timeout).await?;
            // Let the request tasks that are ready finish first, so their answers share this
            // write: one syscall for many responses under load, a few µs when idle.
            tokio::task::yield_now().await;
            while let Ok((more, _budget)) = rx.try_recv() {
                until_stalled(writer.feed(more), &clock, &mut check, timeout).await?;
            }
            until_stalled(writer.flush(), &clock, &mut check, timeout).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let _ = tokio::time::timeout(timeout, writer.into_inner().into_inner().shutdown()).await;
        }
        Err(reason) => {
            debug!(%peer, %reason, "closing the connection: write failed");
            cancel.cancel();
        }
    }
}

/// When a connection whose last frame came at `last` turns idle; far in the future for none.
fn deadline(last: tokio::time::Instant, idle_timeout: Duration) -> tokio::time::Instant {
    last.checked_add(idle_timeout).unwrap_or_else(|| last + Duration::from_secs(86_400 * 365))
}
