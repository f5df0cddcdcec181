//! The slave's side of the HA transfer: connect to the master's HA port (`haMasterAddress`, or
//! the address the NameServer reports for the group's master), report the CommitLog end, append
//! every frame verbatim and report the new end; report at least every
//! `haSendHeartbeatInterval`. Any error, a frame that does not continue the log, or a master
//! silent for `haHousekeepingInterval` drops the connection; the next attempt reports the end
//! again, so the transfer resumes exactly where the log stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::{FRAME_HEADER_LEN, MAX_FRAME_BODY};
use crate::runtime::Broker;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Follows the master until `stop`, reconnecting after every failure.
pub async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    loop {
        // A fenced slave follows nobody until it is told which master to follow: whatever the
        // old master still sends it may be cut, so it must not be acknowledged.
        let replication = &broker.replication;
        let master = replication.master_ha_addr().filter(|_| replication.is_slave() && !replication.is_fenced());
        if let Some(addr) = master {
            if let Err(why) = follow(&broker, &addr, &mut stop).await {
                warn!(master = %addr, %why, "replication from the master interrupted; reconnecting");
            }
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY_PAUSE) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection to the master: report, then append frames until something fails or this
/// broker is promoted. Frames are read, and reports written, by their own tasks, so nothing is
/// ever read or written half when the loop moves on.
async fn follow(broker: &Broker, addr: &str, stop: &mut watch::Receiver<bool>) -> Result<(), String> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let config = broker.replication.config();
    let start = broker.store.commit_log_max_offset();
    let (end_tx, end_rx) = watch::channel(start);
    let mut reporter = tokio::spawn(report_loop(writer, end_rx, config.heartbeat_interval));
    let (frames_tx, mut frames) = mpsc::channel(16);
    let reading = tokio::spawn(read_loop(reader, frames_tx, config.housekeeping_interval));
    info!(master = %addr, offset = start, "following the master");
    let mut role_check = tokio::time::interval(Duration::from_secs(1));
    let outcome = loop {
        tokio::select! {
            _ = role_check.tick() => {
                if !broker.replication.is_slave() {
                    break Ok(()); // promoted: stop following
                }
                if broker.replication.is_fenced() || broker.replication.master_ha_addr().as_deref() != Some(addr) {
                    break Ok(()); // fenced, or told to follow another master: reconnect
                }
            }
            frame = frames.recv() => {
                let (offset, body) = match frame {
                    Some(Ok(frame)) => frame,
                    Some(Err(why)) => break Err(why),
                    None => break Err("the frame reader stopped".to_owned()),
                };
                broker.replication.master_frame(true);
                if body.is_empty() {
                    continue;
                }
                if broker.replication.master_ha_addr().as_deref() != Some(addr) {
                    break Ok(()); // re-pointed: nothing more from the former master
                }
                let Some(_appending) = broker.replication.begin_replicated_append() else {
                    break Ok(()); // fenced: nothing more from the former master
                };
                match broker.store.append_replicated(offset, &body) {
                    Ok(end) => {
                        end_tx.send_if_modified(|reported| std::mem::replace(reported, end) != end);
                    }
                    Err(e) => break Err(format!("frame at {offset}: {e}")),
                }
            }
            reported = &mut reporter => break Err(reported.map_or_else(|e| e.to_string(), |r| r.err().unwrap_or_default())),
            _ = stop.changed() => break Ok(()),
        }
    };
    reporter.abort();
    reading.abort();
    broker.replication.master_frame(false);
    outcome
}

/// Reads frames into `frames` until an error, EOF or a master silent for `silence`.
async fn read_loop(mut reader: OwnedReadHalf, frames: mpsc::Sender<Result<(i64, Vec<u8>), String>>, silence: Duration) {
    loop {
        let frame = match tokio::time::timeout(silence, read_frame(&mut reader)).await {
            Ok(frame) => frame,
            Err(_) => Err("the master is silent".to_owned()),
        };
        let failed = frame.is_err();
        if frames.send(frame).await.is_err() || failed {
            return;
        }
    }
}

/// Sends the slave's CommitLog end whenever it grows, and every `interval` regardless.
async fn report_loop(
    mut writer: OwnedWriteHalf,
    mut end: watch::Receiver<i64>,
    interval: Duration,
) -> Result<(), String> {
    loop {
        let offset = *end.borrow_and_update();
        writer.write_i64(offset).await.map_err(|e| format!("report: {e}"))?;
        tokio::select! {
            changed = end.changed() => changed.map_err(|_| "stopped".to_owned())?,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

async fn read_frame(reader: &mut OwnedReadHalf) -> Result<(i64, Vec<u8>), String> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    reader.read_exact(&mut header).await.map_err(|e| format!("read: {e}"))?;
    let offset = i64::from_be_bytes(header[..8].try_into().map_err(|_| "bad header".to_owned())?);
    let size = i32::from_be_bytes(header[8..].try_into().map_err(|_| "bad header".to_owned())?);
    let size = usize::try_from(size).map_err(|_| format!("negative frame size {size}"))?;
    if size > MAX_FRAME_BODY {
        return Err(format!("frame of {size} bytes exceeds {MAX_FRAME_BODY}"));
    }
    let mut body = vec![0u8; size];
    reader.read_exact(&mut body).await.map_err(|e| format!("read: {e}"))?;
    Ok((offset, body))
}
