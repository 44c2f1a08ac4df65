//! The example mail server: IMAP, POP3 and SMTP on tokio and rustls, composing imap-core,
//! pop3-core, smtp-core, auth2fa and mailstore. See README.md for the operator's guide.
#![forbid(unsafe_code)]

mod admin;
mod adminsock;
mod app;
mod cli;
mod config;
mod demo;
mod driver;
mod imap;
mod mailutil;
mod ops;
mod pop3;
mod queue;
mod search;
mod secret;
mod server;
mod smtp;
mod tls;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use crate::admin::{AdminRequest, AdminResponse};
use crate::cli::{
    AppPasswordCmd, ArchiveCmd, BanCmd, Cli, Command, DomainCmd, ShareCmd, TotpCmd, UserCmd,
};
use crate::config::Config;
use crate::secret::Secret;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("MAILSERVER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // MAILSERVER_LOG_FORMAT=json: one JSON object per event, for log collectors.
    if std::env::var("MAILSERVER_LOG_FORMAT").is_ok_and(|f| f == "json") {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let data = cli.data.as_path();
    let req = match cli.command {
        Command::Init { domain, hostname } => {
            init(data, &domain, hostname.as_deref())?;
            println!("initialised {}", data.display());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Serve => {
            server::serve(data).await.map_err(|e| e.to_string())?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Demo => {
            demo::demo(data).await.map_err(|e| e.to_string())?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Domain(DomainCmd::Add {
            domain,
            require_2fa,
        }) => AdminRequest::DomainAdd {
            domain,
            require_2fa,
        },
        Command::User(UserCmd::Add {
            email,
            password_stdin: _,
            kind,
            name,
            phone,
        }) => AdminRequest::UserAdd {
            email,
            password: read_password_stdin()?,
            kind,
            name,
            phone,
        },
        Command::User(UserCmd::Set {
            email,
            state,
            must_change_password,
            require_2fa,
            quota,
        }) => AdminRequest::UserSet {
            email,
            state,
            must_change_password,
            require_2fa,
            quota,
        },
        Command::User(UserCmd::Passwd {
            email,
            password_stdin: _,
        }) => AdminRequest::UserPasswd {
            email,
            password: read_password_stdin()?,
        },
        Command::User(UserCmd::List) => AdminRequest::UserList,
        Command::User(UserCmd::Del { email }) => AdminRequest::UserDel { email },
        Command::AppPassword(AppPasswordCmd::Add { email, name, scope }) => {
            AdminRequest::AppPasswordAdd { email, name, scope }
        }
        Command::AppPassword(AppPasswordCmd::List { email }) => {
            AdminRequest::AppPasswordList { email }
        }
        Command::AppPassword(AppPasswordCmd::Remove { email, name }) => {
            AdminRequest::AppPasswordRemove { email, name }
        }
        Command::AppPassword(AppPasswordCmd::Clear { email }) => {
            AdminRequest::AppPasswordClear { email }
        }
        Command::Totp(TotpCmd::Enroll { email, qr }) => {
            let req = AdminRequest::TotpEnroll {
                email,
                want_qr: qr.is_some(),
            };
            let resp = execute(data, req).await?;
            return finish(resp, qr.as_deref());
        }
        Command::Totp(TotpCmd::Confirm { email, code }) => {
            AdminRequest::TotpConfirm { email, code }
        }
        Command::Share(ShareCmd::Grant {
            owner,
            delegate,
            right,
        }) => AdminRequest::ShareGrant {
            owner,
            delegate,
            right,
        },
        Command::Share(ShareCmd::Revoke { owner, delegate }) => {
            AdminRequest::ShareRevoke { owner, delegate }
        }
        Command::Share(ShareCmd::List { owner }) => AdminRequest::ShareList { owner },
        Command::Ban(BanCmd::List) => AdminRequest::BanList,
        Command::Ban(BanCmd::Lift { ip }) => AdminRequest::BanLift { ip },
        Command::Log(a) => AdminRequest::Log {
            kind: a.kind,
            account: a.account,
            since: a.since,
            json: a.json,
        },
        Command::Archive(ArchiveCmd::List { email }) => AdminRequest::ArchiveList { email },
        Command::Archive(ArchiveCmd::Restore { email, id }) => {
            AdminRequest::ArchiveRestore { email, id }
        }
    };
    let resp = execute(data, req).await?;
    finish(resp, None)
}

/// Runs an admin request: through the running server's admin socket when there is one,
/// otherwise with the stores opened by this process. Same code path either way.
async fn execute(data: &Path, req: AdminRequest) -> Result<AdminResponse, String> {
    match adminsock::try_send(data, &req).await {
        Ok(Some(resp)) => return Ok(resp),
        Ok(None) => {}
        Err(e) => {
            return Err(format!(
                "cannot talk to the running server on {}: {e}",
                adminsock::socket_path(data).display()
            ));
        }
    }
    let config = Config::load(data).map_err(|e| e.to_string())?;
    let app = app::App::open(data, config)
        .await
        .map_err(|e| e.to_string())?;
    Ok(app.admin(req).await)
}

fn finish(resp: AdminResponse, qr: Option<&Path>) -> Result<ExitCode, String> {
    if !resp.ok {
        eprintln!("error: {}", resp.error);
        return Ok(ExitCode::FAILURE);
    }
    if let (Some(path), Some(png)) = (qr, resp.qr_png_base64.as_deref()) {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .map_err(|e| format!("bad QR code from the server: {e}"))?;
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    print!("{}", resp.stdout);
    if !resp.stdout.is_empty() && !resp.stdout.ends_with('\n') {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password_stdin() -> Result<Secret, String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let s = s.trim_end_matches(['\r', '\n']).to_string();
    if s.is_empty() {
        return Err(
            "no password on stdin (pipe it in: `echo 'PASSWORD' | mailserver user add ...`)".into(),
        );
    }
    Ok(Secret::new(s))
}

/// Writes config.toml and a self-signed certificate, unless they exist.
pub fn init(data: &Path, domain: &str, hostname: Option<&str>) -> Result<(), String> {
    if domain.is_empty() || !domain.contains('.') || domain.contains('@') {
        return Err(format!(
            "{domain:?} is not a mail domain (expected something like example.edu)"
        ));
    }
    std::fs::create_dir_all(data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let path = Config::path(data);
    if path.exists() {
        return Err(format!(
            "{} already exists; edit it, or use another --data directory",
            path.display()
        ));
    }
    let config = Config::new(domain, hostname);
    let cert = Config::resolve(data, &config.tls.cert);
    let key = Config::resolve(data, &config.tls.key);
    tls::write_self_signed(&config.hostname, &cert, &key).map_err(|e| e.to_string())?;
    config.save(data).map_err(|e| e.to_string())?;
    Ok(())
}
