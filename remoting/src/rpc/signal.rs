//! Process termination for servers: SIGTERM and SIGINT handlers are installed when
//! [`termination`] is called (before a server announces itself), so a signal that arrives right
//! after start-up still triggers the graceful shutdown instead of the default kill.

use std::future::Future;

/// Installs the handlers now; the returned future completes on the first SIGTERM or SIGINT.
pub fn termination() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
                _ = int.recv() => tracing::info!("SIGINT received; shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
