//! `demo`: init if needed, create demo accounts (through the same audited admin operations as
//! the CLI), print their credentials and how to connect, then serve.

use std::path::Path;

use crate::admin::AdminRequest;
use crate::app::App;
use crate::cli::{KindArg, RightArg};
use crate::config::{Config, ListenerKind};
use crate::secret::Secret;
use crate::server::ServeError;

pub const DEMO_DOMAIN: &str = "demo.example";

struct DemoUser {
    local: &'static str,
    password: &'static str,
    kind: KindArg,
    name: &'static str,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        local: "alice",
        password: "Plum-Tree-47!x",
        kind: KindArg::Normal,
        name: "Alice Wang",
    },
    DemoUser {
        local: "bob",
        password: "Green#River-83",
        kind: KindArg::Normal,
        name: "Bob Li",
    },
    DemoUser {
        local: "zhang",
        password: "Moon&Lake-1925",
        kind: KindArg::Normal,
        name: "张三",
    },
    DemoUser {
        local: "office",
        password: "Harbor$Lamp-716",
        kind: KindArg::Normal,
        name: "Office",
    },
    DemoUser {
        local: "clerk",
        password: "Stone*Bridge-6204q",
        kind: KindArg::Delivery,
        name: "Court Clerk",
    },
];

async fn run(app: &App, req: AdminRequest) -> Result<String, String> {
    let r = app.admin(req).await;
    if r.ok { Ok(r.stdout) } else { Err(r.error) }
}

/// The current TOTP code for a base32 secret (RFC 6238: SHA-1, 30 s, 6 digits).
fn totp_now(secret_b32: &str) -> Option<String> {
    let mut bits = 0u64;
    let mut n = 0u32;
    let mut key = Vec::new();
    for c in secret_b32.trim_end_matches('=').chars() {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            key.push((bits >> (n - 8)) as u8);
            n -= 8;
        }
    }
    let counter = crate::app::unix_now() as u64 / 30;
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    let tag = ring::hmac::sign(&k, &counter.to_be_bytes());
    let h = tag.as_ref();
    let off = (h[h.len() - 1] & 15) as usize;
    let code = (u32::from_be_bytes([h[off], h[off + 1], h[off + 2], h[off + 3]]) & 0x7fff_ffff)
        % 1_000_000;
    Some(format!("{code:06}"))
}

pub async fn demo(data: &Path) -> Result<(), ServeError> {
    if !Config::path(data).exists() {
        crate::init(data, DEMO_DOMAIN, Some("localhost")).map_err(ServeError::Other)?;
        println!("initialised {}", data.display());
    }
    if crate::adminsock::socket_path(data).exists()
        && std::os::unix::net::UnixStream::connect(crate::adminsock::socket_path(data)).is_ok()
    {
        return Err(ServeError::Other(format!(
            "a server is already running on {}; stop it first",
            data.display()
        )));
    }
    let config = Config::load(data)?;
    let domain = config.domain.clone();
    let app = App::open(data, config.clone()).await?;
    let mail = |l: &str| format!("{l}@{domain}");
    for u in USERS {
        let r = run(
            &app,
            AdminRequest::UserAdd {
                email: mail(u.local),
                password: Secret::new(u.password.into()),
                kind: u.kind,
                name: Some(u.name.into()),
                phone: None,
            },
        )
        .await;
        if let Err(e) = r
            && !e.contains("already exists")
        {
            return Err(ServeError::Other(format!(
                "creating {}: {e}",
                mail(u.local)
            )));
        }
    }
    for (who, right) in [("alice", RightArg::Delegate), ("bob", RightArg::OnBehalf)] {
        run(
            &app,
            AdminRequest::ShareGrant {
                owner: mail("office"),
                delegate: mail(who),
                right,
            },
        )
        .await
        .map_err(ServeError::Other)?;
    }
    // zhang has two-factor authentication: TOTP bound here, and an app password for clients.
    let zhang = mail("zhang");
    let has_factor = app
        .auth
        .account(&zhang)
        .map(|a| a.has_second_factor())
        .unwrap_or(false);
    if !has_factor {
        let url = run(
            &app,
            AdminRequest::TotpEnroll {
                email: zhang.clone(),
                want_qr: false,
            },
        )
        .await
        .map_err(ServeError::Other)?;
        let secret = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("secret="))
            .unwrap_or_default()
            .to_string();
        let code = totp_now(&secret).ok_or_else(|| ServeError::Other("bad TOTP secret".into()))?;
        run(
            &app,
            AdminRequest::TotpConfirm {
                email: zhang.clone(),
                code,
            },
        )
        .await
        .map_err(ServeError::Other)?;
        println!("zhang's authenticator secret (add it to an OTP app for the web login): {url}");
    }
    let _ = run(
        &app,
        AdminRequest::AppPasswordRemove {
            email: zhang.clone(),
            name: "demo client".into(),
        },
    )
    .await;
    let app_pw = run(
        &app,
        AdminRequest::AppPasswordAdd {
            email: zhang.clone(),
            name: "demo client".into(),
            scope: vec![],
        },
    )
    .await
    .map_err(ServeError::Other)?;
    drop(app);

    let addr = |k: ListenerKind| config.listeners.addr(k).to_string();
    let cert = Config::resolve(data, &config.tls.cert);
    println!();
    println!("Demo accounts on {domain} (log in with the full address):");
    for u in USERS {
        let note = match u.local {
            "zhang" => format!(
                "2FA on: mail clients must use the app password {}",
                app_pw.trim()
            ),
            "office" => "shared mailbox: alice is delegate, bob sends on behalf".to_string(),
            "clerk" => {
                "document delivery account: web only, IMAP/POP3/SMTP logins are refused by design"
                    .to_string()
            }
            _ => String::new(),
        };
        println!("  {:<22} password {:<20} {note}", mail(u.local), u.password);
    }
    println!();
    println!("Servers (self-signed certificate: {}):", cert.display());
    println!(
        "  IMAP  {} (STARTTLS)   IMAPS {}",
        addr(ListenerKind::Imap),
        addr(ListenerKind::Imaps)
    );
    println!(
        "  POP3  {} (STLS)       POP3S {}",
        addr(ListenerKind::Pop3),
        addr(ListenerKind::Pop3s)
    );
    println!(
        "  SMTP  {} (inbound)    submission {} (STARTTLS, AUTH)   submissions {} (TLS, AUTH)",
        addr(ListenerKind::Smtp),
        addr(ListenerKind::Submission),
        addr(ListenerKind::Submissions)
    );
    println!();
    println!(
        "Thunderbird / Foxmail: add an account with the full address and password; IMAP server"
    );
    println!(
        "  127.0.0.1 port {} (SSL/TLS) and SMTP 127.0.0.1 port {} (SSL/TLS), normal password;",
        port(&addr(ListenerKind::Imaps)),
        port(&addr(ListenerKind::Submissions))
    );
    println!("  accept the self-signed certificate when asked.");
    println!(
        "curl:  curl --cacert {} --user '{}:{}' imaps://{}/INBOX",
        cert.display(),
        mail("alice"),
        USERS[0].password,
        addr(ListenerKind::Imaps)
    );
    println!(
        "swaks: swaks --server {} --tls --auth-user {} --auth-password '{}' --from {} --to {}",
        addr(ListenerKind::Submission),
        mail("alice"),
        USERS[0].password,
        mail("alice"),
        mail("bob")
    );
    println!(
        "Admin: cargo run -p mailserver -- --data {} user list   (works while the server runs)",
        data.display()
    );
    println!();
    crate::server::serve(data).await
}

fn port(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or(addr)
}
