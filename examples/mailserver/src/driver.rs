//! The one connection driver every protocol plugs into.
//!
//! All three protocol cores share a Sans-I/O shape (feed / poll_event / typed answers /
//! transmit + consume / poll_timeout + handle_timeout). A protocol adapter implements [`Session`]
//! over its core; this module owns the socket: it reads into a small buffer that grows only
//! while the client streams, feeds the core, lets the adapter answer the events (awaiting the
//! store and auth work), writes what the core transmits, upgrades to TLS in place after
//! STARTTLS / STLS, and enforces idle and slow-client timeouts and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// What the adapter wants after answering the pending events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep reading.
    Continue,
    /// Write what is pending, then run the TLS handshake on this socket.
    StartTls,
    /// Write what is pending, then close.
    Close,
}

/// Facts about a connection the adapters need.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

impl ConnInfo {
    pub fn ip(&self) -> IpAddr {
        self.peer.ip()
    }
}

/// A protocol session over one of the Sans-I/O cores.
pub trait Session: Send {
    /// Bytes read from the client.
    fn feed(&mut self, data: &[u8]);
    /// Bytes read from the client, in a buffer the session may keep (the driver allocates a
    /// new one when it does). A core that can take input over without a copy (smtp-core's
    /// `feed_bytes`) overrides this; the default copies through [`feed`](Self::feed).
    fn feed_owned(&mut self, data: BytesMut) {
        self.feed(&data);
    }
    /// Drains the core's events and answers them; may await the store and auth.
    fn process(&mut self, conn: &ConnInfo) -> impl Future<Output = Next> + Send;
    /// Bytes the core wants written.
    fn transmit(&mut self) -> Vec<u8>;
    /// Resolves when something outside this connection happened that the session must act on
    /// (a mailbox change during IDLE). Never resolves by default.
    fn external(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
    /// False while the core has enough unprocessed input buffered (back-pressure).
    fn wants_input(&self) -> bool {
        true
    }
    /// The core's next deadline, if any.
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    /// The TLS handshake after STARTTLS finished (not called for implicit TLS: the session
    /// is created knowing it).
    fn tls_started(&mut self);
    /// The connection was idle too long: queue a goodbye (BYE, -ERR, 421).
    fn idle_timeout(&mut self);
    /// The server is shutting down: queue a goodbye.
    fn shutdown(&mut self);
    /// Called once when the connection ends, however it ends (release locks, sessions).
    fn closed(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A plain or TLS socket.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Timeouts of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// No command for this long: goodbye.
    pub idle: Duration,
    /// A write, a TLS handshake or a command line left unfinished (input that does not end in
    /// LF) for this long: the client is dropped.
    pub slow_client: Duration,
}

/// Reads at most `size` bytes into `buf` (which is empty), reusing its allocation when
/// nobody else holds it.
async fn read_some<R: AsyncRead + Unpin>(
    conn: &mut R,
    buf: &mut BytesMut,
    size: usize,
) -> io::Result<usize> {
    buf.reserve(size);
    let mut limited = (&mut *conn).take(size as u64);
    limited.read_buf(buf).await
}

const MIN_BUF: usize = 4 * 1024;
const MAX_BUF: usize = 64 * 1024;

/// Runs one connection to its end. `implicit_tls` does the handshake first.
pub async fn run<S: Session>(
    stream: TcpStream,
    mut session: S,
    acceptor: TlsAcceptor,
    implicit_tls: bool,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = match stream.peer_addr() {
        Ok(p) => p,
        Err(_) => return,
    };
    let _ = stream.set_nodelay(true);
    let mut info = ConnInfo { peer, tls: false };
    let mut conn = if implicit_tls {
        match tokio::time::timeout(timeouts.slow_client, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                info.tls = true;
                Conn::Tls(Box::new(tls))
            }
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        }
    } else {
        Conn::Plain(stream)
    };

    // Each read fills `buf`'s spare capacity and is handed to the session as its own
    // `BytesMut`; when the session dropped it, `reserve` reuses the same allocation.
    let mut buf = BytesMut::new();
    let mut read_size = MIN_BUF;
    let mut last_activity = Instant::now();
    // Since when the client's input has ended in the middle of a line.
    let mut partial_since: Option<Instant> = None;
    let mut shutting_down = *shutdown.borrow();
    if shutting_down {
        session.shutdown();
    }
    'conn: loop {
        let next = session.process(&info).await;
        if !flush(&mut conn, &mut session, timeouts.slow_client).await {
            break;
        }
        match next {
            Next::Close => break,
            Next::StartTls => {
                let Conn::Plain(tcp) = conn else {
                    tracing::debug!(%peer, "STARTTLS on a TLS connection ignored");
                    break;
                };
                match tokio::time::timeout(timeouts.slow_client, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        conn = Conn::Tls(Box::new(tls));
                        info.tls = true;
                        session.tls_started();
                        continue;
                    }
                    _ => {
                        tracing::debug!(%peer, "STARTTLS handshake failed");
                        session.closed().await;
                        return;
                    }
                }
            }
            Next::Continue => {}
        }
        if shutting_down {
            break;
        }
        // Wait for input, an outside event, a deadline or shutdown.
        {
            let idle_deadline = last_activity + timeouts.idle;
            let slow_deadline = partial_since.map(|t| t + timeouts.slow_client);
            let mut deadline = idle_deadline;
            for d in [session.poll_timeout(), slow_deadline]
                .into_iter()
                .flatten()
            {
                deadline = deadline.min(d);
            }
            tokio::select! {
                r = read_some(&mut conn, &mut buf, read_size), if session.wants_input() => {
                    match r {
                        Ok(0) | Err(_) => break 'conn,
                        Ok(n) => {
                            last_activity = Instant::now();
                            if buf.last() == Some(&b'\n') {
                                partial_since = None;
                            } else if partial_since.is_none() {
                                partial_since = Some(last_activity);
                            }
                            session.feed_owned(buf.split());
                            // Read more at once only while the client streams; back to small
                            // reads when it stops.
                            if n == read_size && read_size < MAX_BUF {
                                read_size *= 2;
                            } else if n < MIN_BUF {
                                read_size = MIN_BUF;
                            }
                        }
                    }
                }
                _ = session.external() => {}
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    let slow = slow_deadline.is_some_and(|d| now >= d);
                    if slow {
                        tracing::info!(%peer, "slow client: command left unfinished; closing");
                    }
                    if now >= idle_deadline || slow {
                        tracing::debug!(%peer, "idle timeout");
                        session.idle_timeout();
                        let _ = session.process(&info).await;
                        let _ = flush(&mut conn, &mut session, timeouts.slow_client).await;
                        break 'conn;
                    }
                    session.handle_timeout(now);
                }
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() {
                        shutting_down = true;
                        session.shutdown();
                    }
                }
            }
        }
    }
    session.closed().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.shutdown()).await;
}

/// Writes everything the session transmits; false if the client is gone or too slow.
async fn flush<S: Session>(conn: &mut Conn, session: &mut S, slow: Duration) -> bool {
    loop {
        let out = session.transmit();
        if out.is_empty() {
            return true;
        }
        match tokio::time::timeout(slow, async {
            conn.write_all(&out).await?;
            conn.flush().await
        })
        .await
        {
            Ok(Ok(())) => {}
            _ => return false,
        }
    }
}

/// Per-IP connection counting across all listeners.
#[derive(Debug, Default, Clone)]
pub struct ConnLimiter {
    inner: Arc<Mutex<std::collections::HashMap<IpAddr, usize>>>,
}

/// Releases the connection slot when dropped.
pub struct ConnSlot {
    limiter: ConnLimiter,
    ip: IpAddr,
}

impl ConnLimiter {
    /// A slot for `ip`, or `None` when it already has `max` connections.
    pub fn acquire(&self, ip: IpAddr, max: usize) -> Option<ConnSlot> {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnSlot {
            limiter: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut m = self.limiter.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_ip_and_releases_on_drop() {
        let l = ConnLimiter::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let s1 = l.acquire(a, 2).unwrap();
        let _s2 = l.acquire(a, 2).unwrap();
        assert!(l.acquire(a, 2).is_none());
        assert!(l.acquire(b, 2).is_some());
        drop(s1);
        assert!(l.acquire(a, 2).is_some());
    }
}
