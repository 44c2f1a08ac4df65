//! `serve`: binds every listener, prints its "listening" line, serves the admin socket, and
//! shuts down gracefully on SIGINT / SIGTERM (stop accepting, let sessions say goodbye and
//! deliveries in flight finish, then exit).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::admin::AdminRequest;
use crate::app::App;
use crate::config::{Config, ListenerKind};
use crate::driver::{ConnLimiter, Timeouts};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error(
        "cannot listen on {addr} for {kind}: {source} (is another server running? change [listeners] in config.toml)"
    )]
    Bind {
        kind: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("admin socket: {0}")]
    Admin(std::io::Error),
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    #[error("{0}")]
    Other(String),
}

pub async fn serve(data: &Path) -> Result<(), ServeError> {
    let config = Config::load(data)?;
    let app = App::open(data, config).await?;
    serve_app(app).await
}

async fn serve_app(app: Arc<App>) -> Result<(), ServeError> {
    let data = app.data.clone();
    let cfg = &app.config;
    let tls = crate::tls::server_config(
        &Config::resolve(&data, &cfg.tls.cert),
        &Config::resolve(&data, &cfg.tls.key),
    )?;
    let acceptor = TlsAcceptor::from(tls);
    let enabled = cfg.listeners.enabled().map_err(ServeError::Invalid)?;

    let admin_listener = crate::adminsock::bind(&data).map_err(ServeError::Admin)?;
    let mut listeners = Vec::new();
    for (kind, addr) in enabled {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind {
                kind: kind.name(),
                addr,
                source,
            })?;
        let local = l.local_addr().map_err(ServeError::Admin)?;
        listeners.push((kind, l, local));
    }

    let queue_task = tokio::spawn(crate::queue::worker(app.clone()));
    let alert_task = tokio::spawn(crate::app::alert_worker(app.clone()));
    // auth2fa's redb store batches the login log without fsync; make it durable every second.
    let flush_app = app.clone();
    let flush_task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let app = flush_app.clone();
            let _ = tokio::task::spawn_blocking(move || app.auth.flush()).await;
        }
    });
    let admin_app = app.clone();
    let admin_task = tokio::spawn(crate::adminsock::serve(
        admin_listener,
        Arc::new(move |req: AdminRequest| {
            let app = admin_app.clone();
            async move { app.admin(req).await }
        }),
    ));

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Every connection holds a clone of `alive`; when all are gone, `drained` returns None.
    let (alive, mut drained) = mpsc::channel::<()>(1);
    let limiter = ConnLimiter::default();
    let mut accept_tasks = Vec::new();
    for (kind, listener, local) in listeners {
        println!("{} listening on {}", kind.name(), local);
        tracing::info!(listener = kind.name(), %local, "listening");
        accept_tasks.push(tokio::spawn(accept_loop(
            app.clone(),
            kind,
            listener,
            acceptor.clone(),
            limiter.clone(),
            shutdown_rx.clone(),
            alive.clone(),
        )));
    }
    drop(alive);
    use std::io::Write;
    let _ = std::io::stdout().flush();

    wait_for_signal().await?;
    tracing::info!("shutting down: no new connections, finishing sessions");
    let _ = shutdown_tx.send(true);
    for t in accept_tasks {
        let _ = t.await;
    }
    if tokio::time::timeout(Duration::from_secs(30), drained.recv())
        .await
        .is_err()
    {
        tracing::warn!("some sessions did not finish within 30 s");
    }
    admin_task.abort();
    queue_task.abort();
    alert_task.abort();
    flush_task.abort();
    let flush_app = app.clone();
    let _ = tokio::task::spawn_blocking(move || flush_app.auth.flush()).await;
    let _ = std::fs::remove_file(crate::adminsock::socket_path(&data));
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() -> Result<(), ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

async fn accept_loop(
    app: Arc<App>,
    kind: ListenerKind,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    limiter: ConnLimiter,
    mut shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(listener = kind.name(), error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Some(slot) = limiter.acquire(peer.ip(), app.config.limits.max_connections_per_ip)
        else {
            tracing::warn!(listener = kind.name(), %peer, "too many connections from this address");
            drop(stream);
            continue;
        };
        let app = app.clone();
        let acceptor = acceptor.clone();
        let shutdown = shutdown.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _alive = alive;
            handle(app, kind, stream, acceptor, shutdown).await;
        });
    }
}

async fn handle(
    app: Arc<App>,
    kind: ListenerKind,
    stream: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    shutdown: watch::Receiver<bool>,
) {
    let limits = &app.config.limits;
    let idle = match kind {
        ListenerKind::Imap | ListenerKind::Imaps => limits.imap_idle_timeout_secs,
        ListenerKind::Pop3 | ListenerKind::Pop3s => limits.pop3_idle_timeout_secs,
        _ => limits.smtp_idle_timeout_secs,
    };
    let timeouts = Timeouts {
        idle: Duration::from_secs(idle),
        slow_client: Duration::from_secs(limits.slow_client_timeout_secs),
    };
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let tls = kind.implicit_tls();
    let span = tracing::info_span!("conn", listener = kind.name(), %peer);
    tracing::debug!(parent: &span, "connected");
    use tracing::Instrument;
    match kind {
        ListenerKind::Pop3 | ListenerKind::Pop3s => {
            let s = crate::pop3::Pop3Session::new(app.clone(), tls, peer.ip());
            crate::driver::run(stream, s, acceptor, tls, timeouts, shutdown)
                .instrument(span)
                .await
        }
        ListenerKind::Smtp | ListenerKind::Submission | ListenerKind::Submissions => {
            let submission = kind != ListenerKind::Smtp;
            let s = crate::smtp::SmtpSession::new(app.clone(), submission, tls, peer.ip());
            crate::driver::run(stream, s, acceptor, tls, timeouts, shutdown)
                .instrument(span)
                .await
        }
        ListenerKind::Imap | ListenerKind::Imaps => {
            let s = crate::imap::ImapSession::new(app.clone(), tls, peer.ip());
            crate::driver::run(stream, s, acceptor, tls, timeouts, shutdown)
                .instrument(span)
                .await
        }
    }
}
