//! Write-progress tracking for a connection's writer: a peer that reads slowly keeps its
//! connection, one that stops reading loses it after the write timeout. [`Progress`] wraps the
//! socket and records when bytes last left; [`until_stalled`] runs a write until it completes or
//! no byte has left for the timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::AsyncWrite;

/// When bytes last left, shared between the socket wrapper and the writer loop.
#[derive(Clone)]
pub(crate) struct Clock {
    start: Instant,
    /// Milliseconds after `start`.
    last: Arc<AtomicU64>,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock { start: Instant::now(), last: Arc::new(AtomicU64::new(0)) }
    }

    /// Records progress now.
    pub(crate) fn mark(&self) {
        self.last.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn since_last(&self) -> Duration {
        self.start.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)))
    }
}

/// A writer that marks its [`Clock`] whenever bytes are written.
pub(crate) struct Progress<W> {
    inner: W,
    clock: Clock,
}

impl<W> Progress<W> {
    pub(crate) fn new(inner: W, clock: Clock) -> Progress<W> {
        Progress { inner, clock }
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Progress<W> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.clock.mark();
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.clock.mark();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Runs `write` to completion unless no byte leaves for `timeout` (checked every `check`
/// tick); the error says which.
pub(crate) async fn until_stalled<E: std::fmt::Display>(
    write: impl Future<Output = Result<(), E>>,
    clock: &Clock,
    check: &mut tokio::time::Interval,
    timeout: Duration,
) -> Result<(), String> {
    clock.mark();
    tokio::pin!(write);
    loop {
        tokio::select! {
            done = &mut write => return done.map_err(|e| e.to_string()),
            _ = check.tick() => {
                if clock.since_last() >= timeout {
                    return Err(format!("no write progress for {timeout:?}: the peer does not read"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_slow_reader_keeps_going_and_a_stopped_one_times_out() {
        let (client, mut server) = tokio::io::duplex(64);
        let clock = Clock::new();
        let mut writer = Progress::new(client, clock.clone());
        let mut check = tokio::time::interval(Duration::from_millis(20));
        // Read 64 bytes every 50 ms: 1 KiB takes ~0.8 s, longer than the 300 ms timeout, but
        // progress never stops for that long.
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let mut total = 0;
            while total < 1024 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                total += tokio::io::AsyncReadExt::read(&mut server, &mut buf).await.expect("read");
            }
            server
        });
        let slow = until_stalled(writer.write_all(&[7u8; 1024]), &clock, &mut check, Duration::from_millis(300));
        assert_eq!(slow.await, Ok(()));
        let _server = reader.await.expect("reader");
        let stopped = until_stalled(writer.write_all(&[7u8; 1024]), &clock, &mut check, Duration::from_millis(300));
        assert!(stopped.await.expect_err("nobody reads").contains("no write progress"));
    }
}
