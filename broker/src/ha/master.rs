//! The master's HA port: one transfer per connected slave. The slave's first 8-byte report
//! says where its CommitLog ends (0 = empty: start at the master's last file); the master then
//! sends frames of whole records from there, waits for the CommitLog to grow when it has
//! nothing new, and sends an empty frame every `haSendHeartbeatInterval` while idle. Every later
//! report is the slave's acknowledgement; a connection silent for `haHousekeepingInterval` is
//! closed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tracing::{debug, info, warn};

use super::FRAME_HEADER_LEN;
use crate::runtime::Broker;

static NEXT_LINK: AtomicU64 = AtomicU64::new(1);

/// Accepts slaves on `listener` until `stop`.
pub async fn serve(broker: Arc<Broker>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(transfer(Arc::clone(&broker), stream, peer, stop.clone()));
            }
            Err(e) => warn!(error = %e, "HA accept failed"),
        }
    }
}

/// Serves one slave until it disconnects, goes silent, a write fails or the broker stops.
async fn transfer(broker: Arc<Broker>, stream: TcpStream, peer: SocketAddr, mut stop: watch::Receiver<bool>) {
    let link = NEXT_LINK.fetch_add(1, Ordering::Relaxed);
    info!(%peer, link, "slave connected to the HA port");
    let (reader, writer) = stream.into_split();
    let (first_tx, first_rx) = oneshot::channel();
    let reports = tokio::spawn(read_reports(Arc::clone(&broker), reader, peer, link, first_tx));
    tokio::select! {
        outcome = send_records(&broker, writer, first_rx) => {
            if let Err(why) = outcome {
                debug!(%peer, link, %why, "HA transfer ended");
            }
        }
        _ = stop.changed() => {}
    }
    reports.abort();
    broker.replication.slave_gone(link);
    info!(%peer, link, "slave disconnected from the HA port");
}

/// Reads the slave's 8-byte offset reports; the first goes to `first`, each is recorded as
/// its acknowledgement. Ends on EOF, error or silence.
async fn read_reports(
    broker: Arc<Broker>,
    mut reader: OwnedReadHalf,
    peer: SocketAddr,
    link: u64,
    first: oneshot::Sender<i64>,
) {
    let mut first = Some(first);
    let silence = broker.replication.housekeeping();
    loop {
        let offset = match tokio::time::timeout(silence, reader.read_i64()).await {
            Ok(Ok(offset)) => offset,
            Ok(Err(_)) => return,
            Err(_) => {
                warn!(%peer, link, "slave silent past haHousekeepingInterval; closing");
                return;
            }
        };
        if offset < 0 {
            warn!(%peer, link, offset, "slave reported a negative offset; closing");
            return;
        }
        if let Some(first) = first.take() {
            let _ = first.send(offset);
        }
        broker.replication.slave_reported(link, peer, offset);
    }
}

/// Streams CommitLog frames from where the slave's first report says it ends.
async fn send_records(broker: &Broker, writer: OwnedWriteHalf, first: oneshot::Receiver<i64>) -> Result<(), String> {
    let replication = &broker.replication;
    let _counted = replication.transfer_started();
    let config = replication.config();
    let reported = tokio::time::timeout(replication.housekeeping(), first)
        .await
        .map_err(|_| "no offset report from the slave".to_owned())?
        .map_err(|_| "the slave closed before reporting".to_owned())?;
    let mut offset = broker.store.replication_start(reported);
    info!(reported, start = offset, "replicating to a slave");
    let mut writer = BufWriter::new(writer);
    loop {
        let grown = replication.grown_notified();
        tokio::pin!(grown);
        grown.as_mut().enable();
        let chunk = broker.store.replication_chunk(offset, config.transfer_batch_size).map_err(|e| e.to_string())?;
        let Some(chunk) = chunk else {
            // Nothing new: wait for the CommitLog to grow, or send a heartbeat frame.
            if tokio::time::timeout(config.heartbeat_interval, grown).await.is_err() {
                write_frame(&mut writer, offset, &[]).await?;
            }
            continue;
        };
        write_frame(&mut writer, chunk.offset, &chunk.bytes).await?;
        offset = chunk.next_offset;
    }
}

async fn write_frame(writer: &mut BufWriter<OwnedWriteHalf>, offset: i64, body: &[u8]) -> Result<(), String> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    header[..8].copy_from_slice(&offset.to_be_bytes());
    let size = i32::try_from(body.len()).map_err(|_| "frame body over 2 GiB".to_owned())?;
    header[8..].copy_from_slice(&size.to_be_bytes());
    let io = |e: std::io::Error| e.to_string();
    writer.write_all(&header).await.map_err(io)?;
    writer.write_all(body).await.map_err(io)?;
    writer.flush().await.map_err(io)
}
