//! The local admin endpoint: DATA/admin.sock, one JSON request per line, one JSON response per
//! line. `serve` listens on it because redb lets only one process open the stores; every CLI
//! admin command tries it first and opens the stores itself only when no server is running.
//! The socket is created mode 0600 (only the data directory's owner can administer).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::admin::{AdminRequest, AdminResponse};

pub fn socket_path(data: &Path) -> PathBuf {
    data.join("admin.sock")
}

/// Sends one request to a running server. `Ok(None)` when no server listens on the socket
/// (a stale socket file is removed).
pub async fn try_send(data: &Path, req: &AdminRequest) -> std::io::Result<Option<AdminResponse>> {
    let path = socket_path(data);
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                let _ = std::fs::remove_file(&path);
            }
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let (r, mut w) = stream.into_split();
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    w.write_all(line.as_bytes()).await?;
    w.shutdown().await?;
    let mut reader = BufReader::new(r);
    let mut resp = String::new();
    reader.read_line(&mut resp).await?;
    if resp.is_empty() {
        return Err(std::io::Error::other(
            "the running server closed the admin socket without answering",
        ));
    }
    let resp: AdminResponse = serde_json::from_str(&resp).map_err(std::io::Error::other)?;
    Ok(Some(resp))
}

/// Binds the socket (replacing a stale one) with owner-only permissions.
pub fn bind(data: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data);
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("another server is already running on {}", path.display()),
            ));
        }
        std::fs::remove_file(&path)?;
    }
    let l = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// Serves admin requests until the task is dropped.
pub async fn serve<F, Fut>(listener: UnixListener, handler: Arc<F>)
where
    F: Fn(AdminRequest) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = AdminResponse> + Send,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut reader = BufReader::new(r);
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let resp = match serde_json::from_str::<AdminRequest>(&line) {
                Ok(req) => handler(req).await,
                Err(e) => AdminResponse::err(format!("bad admin request: {e}")),
            };
            let mut out = serde_json::to_string(&resp).unwrap_or_else(|_| "{}".into());
            out.push('\n');
            let _ = w.write_all(out.as_bytes()).await;
        });
    }
}
