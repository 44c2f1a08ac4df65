//! End-to-end tests: the real `mailserver` binary on free loopback ports, driven by real
//! clients (Python's imaplib / poplib / smtplib, curl, swaks, mbsync).

mod harness;

use harness::{DOMAIN, Server, cli, cli_ok, init_dir};

const PASSWORD: &str = "Tq9!vLm2#pRz";

fn addr(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// The accounts most tests use: alice, bob, carol, eve, frank (normal), dave (delivery),
/// office (a shared mailbox: alice delegate, bob on-behalf, carol read-only).
fn standard_accounts(dir: &std::path::Path) {
    for u in ["alice", "bob", "carol", "eve", "frank", "office"] {
        cli_ok(
            dir,
            &["user", "add", &addr(u), "--password-stdin"],
            Some(PASSWORD),
        );
    }
    cli_ok(
        dir,
        &[
            "user",
            "add",
            &addr("dave"),
            "--password-stdin",
            "--kind",
            "delivery",
        ],
        Some(PASSWORD),
    );
    for (who, right) in [
        ("alice", "delegate"),
        ("bob", "on-behalf"),
        ("carol", "read-only"),
    ] {
        cli_ok(
            dir,
            &[
                "share",
                "grant",
                &addr("office"),
                &addr(who),
                "--right",
                right,
            ],
            None,
        );
    }
}

fn start_standard() -> Server {
    let dir = init_dir(|_| {});
    standard_accounts(dir.path());
    Server::start(dir)
}

#[test]
fn cli_admin_commands_work_with_and_without_a_running_server() {
    let dir = init_dir(|_| {});
    // Password policy: non-zero exit naming the rule.
    let out = cli(
        dir.path(),
        &["user", "add", &addr("weak"), "--password-stdin"],
        Some("password"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("common password"), "{err}");
    let out = cli(
        dir.path(),
        &["user", "add", "x@not-local.example", "--password-stdin"],
        Some(PASSWORD),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("domain add"));
    // Without a server: stores opened directly.
    cli_ok(
        dir.path(),
        &["user", "add", &addr("alice"), "--password-stdin"],
        Some(PASSWORD),
    );
    let mut server = Server::start(dir);
    // With the server running (redb allows one process): through the admin socket.
    assert!(server.path().join("admin.sock").exists());
    server.cli_ok(&["domain", "add", "second.example", "--require-2fa"], None);
    server.cli_ok(
        &[
            "user",
            "add",
            "zhang@second.example",
            "--password-stdin",
            "--name",
            "张三",
        ],
        Some(PASSWORD),
    );
    let list = server.cli_ok(&["user", "list"], None);
    assert!(list.contains("alice@example.edu") && list.contains("zhang@second.example"));
    assert!(list.contains("name=张三"), "{list}");
    let zhang = list.lines().find(|l| l.starts_with("zhang@")).unwrap();
    assert!(
        zhang.contains("2fa=true"),
        "domain policy forces 2FA: {zhang}"
    );
    server.cli_ok(
        &["user", "set", &addr("alice"), "--state", "restricted"],
        None,
    );
    let out = server.cli(
        &["user", "passwd", &addr("alice"), "--password-stdin"],
        Some("N3w!pass#word"),
    );
    assert!(
        !out.status.success(),
        "restricted accounts get no password reset"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("restricted"));
    assert!(server.cli_ok(&["ban", "list"], None).trim().is_empty());
    // --phone: bound as the SMS factor (the code goes to the outbox); one phone, one mailbox.
    let out = server.cli_ok(
        &[
            "user",
            "add",
            &addr("li"),
            "--password-stdin",
            "--phone",
            "+86 138 0013 8000",
        ],
        Some(PASSWORD),
    );
    assert!(out.contains("SMS second factor"), "{out}");
    let list = server.cli_ok(&["user", "list"], None);
    let li = list.lines().find(|l| l.starts_with("li@")).unwrap();
    assert!(li.contains("2fa=true"), "{li}");
    let outbox = std::fs::read_to_string(server.path().join("outbox.log")).unwrap();
    assert!(
        outbox.contains("\"account\":\"li@example.edu\"") && outbox.contains("Bind"),
        "{outbox}"
    );
    let out = server.cli(
        &[
            "user",
            "add",
            &addr("wang"),
            "--password-stdin",
            "--phone",
            "+8613800138000",
        ],
        Some(PASSWORD),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already bound to another mailbox"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st = server.stop();
    assert!(st.success(), "graceful exit on SIGTERM: {st:?}");
    assert!(!server.path().join("admin.sock").exists());
    // Server gone: the same commands open the stores directly again.
    let list = cli_ok(server.path(), &["user", "list"], None);
    assert!(list.contains("state=restricted"), "{list}");
    cli_ok(
        server.path(),
        &["user", "del", "zhang@second.example"],
        None,
    );
    let log = cli_ok(server.path(), &["log", "admin"], None);
    for needle in [
        "user add\tweak@example.edu\tfailed: password not accepted",
        "domain add\tsecond.example\tok",
        "user passwd\talice@example.edu\tfailed",
        "user del\tzhang@second.example\tok",
    ] {
        assert!(log.contains(needle), "admin log lacks {needle:?}:\n{log}");
    }
    let later = cli_ok(
        server.path(),
        &["log", "admin", "--since", "2999-01-01T00:00:00Z"],
        None,
    );
    assert!(later.trim().is_empty(), "--since filters: {later}");
    let bad = cli(
        server.path(),
        &["log", "admin", "--since", "yesterday"],
        None,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
    let json = cli_ok(server.path(), &["log", "admin", "--json"], None);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert!(first.get("action").is_some());
}

#[test]
fn pop3_login_rules_maildrop_lock_and_tls() {
    let server = start_standard();
    server.python("pop3_login_and_maildrop", &[]);
    // curl's pop3 URLs: list over STLS (pinned certificate), with the right password.
    let url = format!("pop3://127.0.0.1:{}/", server.port("pop3"));
    let out = server.run(
        "curl",
        &[
            "-sS",
            "--max-time",
            "20",
            "--ssl-reqd",
            "--cacert",
            &server.cert().to_string_lossy(),
            "--user",
            &format!("{}:{PASSWORD}", addr("alice")),
            &url,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl pop3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("1 "), "one message listed: {stdout:?}");
}

#[test]
fn smtp_delivery_submission_and_shared_mailboxes() {
    let server = start_standard();
    server.python("smtp_delivery_and_submission", &[]);
    // swaks: submission with STARTTLS and AUTH, then curl reads it back over POP3S.
    let out = server.run(
        "swaks",
        &[
            "--server",
            &format!("127.0.0.1:{}", server.port("submission")),
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            &addr("alice"),
            "--auth-password",
            PASSWORD,
            "--from",
            &addr("alice"),
            "--to",
            &addr("frank"),
            "--header",
            "Subject: =?UTF-8?B?5pyf5pyr6ICD6K+V5a6J5o6S?=",
            "--body",
            "swaks body 你好",
            "--timeout",
            "20",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "swaks failed:\n{text}");
    assert!(text.contains("235 2.7.0"), "{text}");
    assert!(text.contains("250 2.0.0 Ok: stored as"), "{text}");
    let out = server.run(
        "curl",
        &[
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            &server.cert().to_string_lossy(),
            "--user",
            &format!("{}:{PASSWORD}", addr("frank")),
            &format!("pop3s://127.0.0.1:{}/1", server.port("pop3s")),
        ],
    );
    let msg = String::from_utf8_lossy(&out.stdout);
    assert!(
        msg.contains("swaks body") && msg.contains("Received: from"),
        "{msg}"
    );
    // swaks without AUTH on submission is refused.
    let out = server.run(
        "swaks",
        &[
            "--server",
            &format!("127.0.0.1:{}", server.port("submission")),
            "--tls",
            "--from",
            &addr("alice"),
            "--to",
            &addr("bob"),
            "--timeout",
            "20",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("530 5.7.0"));
    // curl's smtp URL: inbound delivery on the SMTP port.
    server.curl_deliver(
        "ext@other.example",
        &addr("eve"),
        "From: <ext@other.example>\r\nSubject: via curl\r\n\r\ncurl body\r\n",
    );
    let log = server.cli_ok(&["log", "mail", "--account", &addr("eve")], None);
    assert!(
        log.contains("subject=via curl") && log.contains("delivered"),
        "{log}"
    );
}

#[test]
fn brute_force_block_and_app_passwords() {
    let server = start_standard();
    server.python("block_and_app_passwords", &[]);
}

#[test]
fn imap_folders_idle_tls_and_shared_rights() {
    let server = start_standard();
    server.python("imap_clients", &[]);
    // curl's imap URL: list INBOX of bob over IMAPS.
    let out = server.run(
        "curl",
        &[
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            &server.cert().to_string_lossy(),
            "--user",
            &format!("{}:{PASSWORD}", addr("bob")),
            &format!("imaps://127.0.0.1:{}/", server.port("imaps")),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl imaps: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("INBOX") && text.contains("\\Sent"), "{text}");
}

#[test]
fn mbsync_syncs_both_ways() {
    let server = start_standard();
    let alice = addr("alice");
    // One message on the server before the first sync.
    server.curl_deliver(
        "ext@other.example",
        &alice,
        "From: <ext@other.example>\r\nSubject: from the server\r\n\r\nserver side\r\n",
    );
    let local = server.dir.path().join("maildir");
    std::fs::create_dir_all(&local).unwrap();
    let pw = server.dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let cfg = server.dir.path().join("mbsyncrc");
    std::fs::write(
        &cfg,
        format!(
            "IMAPAccount test\nHost 127.0.0.1\nPort {port}\nUser {alice}\nPassCmd \"cat {pw}\"\n\
             SSLType STARTTLS\nCertificateFile {cert}\nTimeout 20\n\n\
             IMAPStore remote\nAccount test\n\n\
             MaildirStore local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Both\nExpunge Both\nSyncState *\n",
            port = server.port("imap"),
            pw = pw.display(),
            cert = server.cert().display(),
            local = local.display(),
        ),
    )
    .unwrap();
    let mbsync = |what: &str| {
        let out = server.run("mbsync", &["-c", &cfg.to_string_lossy(), "-a"]);
        assert!(
            out.status.success(),
            "mbsync ({what}) failed:\n{}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            harness::tail(&server.log(), 40)
        );
    };
    mbsync("first sync");
    let files = |dir: &std::path::Path| -> Vec<String> {
        let mut v = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
                for e in rd.flatten() {
                    v.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        v
    };
    let inbox = local.join("INBOX");
    let got = files(&inbox);
    assert!(
        got.iter().any(|m| m.contains("server side")),
        "server -> local: {got:?}"
    );
    // A message written locally goes up on the next sync.
    std::fs::write(
        inbox.join("new").join("1700000000.local1.host"),
        "From: <alice@example.edu>\r\nSubject: written locally\r\n\r\n本地写的\r\n",
    )
    .unwrap();
    mbsync("second sync");
    let out = server.run(
        "curl",
        &[
            "-sS",
            "--max-time",
            "20",
            "--user",
            &format!("{alice}:{PASSWORD}"),
            &format!("imap://127.0.0.1:{}/INBOX", server.port("imap")),
            "-X",
            "SEARCH SUBJECT \"written locally\"",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<&str> = text
        .trim()
        .trim_start_matches("* SEARCH")
        .split_whitespace()
        .collect();
    assert_eq!(hits.len(), 1, "local -> server: {text:?}");
}

#[test]
fn demo_creates_accounts_prints_credentials_and_serves() {
    // `demo` inits only when there is no config: init first to get free ports.
    let dir = tempfile::tempdir().unwrap();
    cli_ok(
        dir.path(),
        &[
            "init",
            "--domain",
            "demo.example",
            "--hostname",
            "localhost",
        ],
        None,
    );
    let path = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.contains("= \"127.0.0.1:") {
                format!("{}= \"127.0.0.1:0\"\n", l.split_once('=').unwrap().0)
            } else if l.starts_with("fast_password_hashing_for_tests") {
                "fast_password_hashing_for_tests = true\n".into()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let server = Server::start_cmd(dir, "demo");
    let banner = server.banner.join("\n");
    assert!(banner.contains("alice@demo.example"), "{banner}");
    assert!(banner.contains("swaks --server"), "{banner}");
    let app_pw = server
        .banner
        .iter()
        .find_map(|l| l.split("must use the app password ").nth(1))
        .expect("app password printed")
        .trim()
        .to_string();
    let alice_pw = "Plum-Tree-47!x";
    assert!(banner.contains(alice_pw));
    let imaps = format!("imaps://127.0.0.1:{}/", server.port("imaps"));
    let cert = server.cert().to_string_lossy().into_owned();
    let curl = |user: &str, pw: &str| {
        server.run(
            "curl",
            &[
                "-sS",
                "--max-time",
                "20",
                "--cacert",
                &cert,
                "--user",
                &format!("{user}:{pw}"),
                &imaps,
            ],
        )
    };
    assert!(curl("alice@demo.example", alice_pw).status.success());
    // zhang has 2FA: the app password works, the account password does not.
    let ok = curl("zhang@demo.example", &app_pw);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        !curl("zhang@demo.example", "Moon&Lake-1925")
            .status
            .success()
    );
    // The delivery account is refused over IMAP.
    assert!(
        !curl("clerk@demo.example", "Stone*Bridge-6204q")
            .status
            .success()
    );
}

#[test]
fn plaintext_logins_refused_before_tls_when_configured() {
    let dir = init_dir(|t| {
        *t = t.replace(
            "allow_plaintext_from_loopback = true",
            "allow_plaintext_from_loopback = false",
        )
    });
    cli_ok(
        dir.path(),
        &["user", "add", &addr("alice"), "--password-stdin"],
        Some(PASSWORD),
    );
    let server = Server::start(dir);
    server.python("plaintext_refused", &[]);
}

#[test]
fn delivery_mailbox_archive_survives_a_delegate_expunge() {
    let dir = init_dir(|_| {});
    standard_accounts(dir.path());
    cli_ok(
        dir.path(),
        &[
            "share",
            "grant",
            &addr("dave"),
            &addr("alice"),
            "--right",
            "delegate",
        ],
        None,
    );
    let server = Server::start(dir);
    server.python("archive_and_delegate", &[]);
}

#[test]
fn sigterm_says_bye_to_connected_clients_and_exits_cleanly() {
    use std::io::{Read, Write};
    let mut server = start_standard();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port("imap"))).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut greeting = [0u8; 512];
    let n = s.read(&mut greeting).unwrap();
    assert!(String::from_utf8_lossy(&greeting[..n]).starts_with("* OK"));
    s.write_all(
        format!(
            "a1 LOGIN {} \"{PASSWORD}\"\r\na2 SELECT INBOX\r\n",
            addr("alice")
        )
        .as_bytes(),
    )
    .unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&all).contains("a2 OK") {
                break;
            }
        }
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(30)));
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = server.stop();
    let seen = reader.join().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(seen.contains("a2 OK"), "{seen}");
    assert!(
        seen.contains("* BYE"),
        "client told before the server exits: {seen}"
    );
}

fn submit(server: &Server, to: &str, subject: &str) -> std::process::Output {
    server.run(
        "swaks",
        &[
            "--server",
            &format!("127.0.0.1:{}", server.port("submission")),
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            &addr("alice"),
            "--auth-password",
            PASSWORD,
            "--from",
            &addr("alice"),
            "--to",
            to,
            "--header",
            &format!("Subject: {subject}"),
            "--timeout",
            "20",
        ],
    )
}

/// Polls alice's INBOX over POP3 (curl) until a message containing `needle` is there.
fn wait_for_mail(server: &Server, user: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list = server.run(
            "curl",
            &[
                "-sS",
                "--max-time",
                "10",
                "--user",
                &format!("{user}:{PASSWORD}"),
                &format!("pop3://127.0.0.1:{}/", server.port("pop3")),
            ],
        );
        let n = String::from_utf8_lossy(&list.stdout).lines().count();
        for i in 1..=n {
            let m = server.run(
                "curl",
                &[
                    "-sS",
                    "--max-time",
                    "10",
                    "--user",
                    &format!("{user}:{PASSWORD}"),
                    &format!("pop3://127.0.0.1:{}/{i}", server.port("pop3")),
                ],
            );
            let text = String::from_utf8_lossy(&m.stdout).into_owned();
            if text.contains(needle) {
                return text;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail with {needle:?} for {user}\n{}",
            harness::tail(&server.log(), 30)
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn smarthost_relay_delivers_and_bounces() {
    // B is the smarthost (its inbound port), for other.example.
    let b_dir = harness::init_dir_for("other.example", |_| {});
    cli_ok(
        b_dir.path(),
        &["user", "add", "friend@other.example", "--password-stdin"],
        Some(PASSWORD),
    );
    let b = Server::start(b_dir);
    let b_port = b.port("smtp");
    let b_cert = b.cert();
    // STARTTLS to the smarthost, its (self-signed) certificate pinned as the CA.
    let a_dir = init_dir(|t| {
        t.push_str(&format!(
            "\n[smarthost]\naddress = \"127.0.0.1:{b_port}\"\nmax_attempts = 2\ninitial_backoff_secs = 1\nca_file = \"{}\"\n",
            b_cert.display()
        ))
    });
    cli_ok(
        a_dir.path(),
        &["user", "add", &addr("alice"), "--password-stdin"],
        Some(PASSWORD),
    );
    let a = Server::start(a_dir);
    let out = submit(&a, "friend@other.example", "relayed hello");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let got = wait_for_mail(&b, "friend@other.example", "relayed hello");
    assert!(
        got.contains("by mail.example.edu"),
        "A's Received header: {got}"
    );
    assert!(
        got.contains("by mail.other.example with ESMTPS"),
        "relayed over STARTTLS: {got}"
    );
    // The smarthost refuses an unknown user: a DSN comes back to alice.
    let out = submit(&a, "nobody@other.example", "will bounce");
    assert!(
        out.status.success(),
        "queued: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dsn = wait_for_mail(&a, &addr("alice"), "Undelivered Mail Returned to Sender");
    assert!(
        dsn.contains("nobody@other.example") && dsn.contains("Status: 5.1.1"),
        "{dsn}"
    );
    let log = a.cli_ok(&["log", "mail", "--account", &addr("alice")], None);
    assert!(log.contains("relayed") && log.contains("bounced"), "{log}");
}

#[test]
fn smarthost_down_retries_then_bounces() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let dir = init_dir(|t| {
        t.push_str(&format!(
            "\n[smarthost]\naddress = \"{dead}\"\nmax_attempts = 2\ninitial_backoff_secs = 1\n"
        ))
    });
    cli_ok(
        dir.path(),
        &["user", "add", &addr("alice"), "--password-stdin"],
        Some(PASSWORD),
    );
    let server = Server::start(dir);
    let out = submit(&server, "someone@far.example", "never arrives");
    assert!(out.status.success());
    let dsn = wait_for_mail(
        &server,
        &addr("alice"),
        "Undelivered Mail Returned to Sender",
    );
    assert!(dsn.contains("gave up after 2 attempts"), "{dsn}");
    assert!(dsn.contains("cannot connect to smarthost"), "{dsn}");
}

#[test]
fn per_ip_connection_limit() {
    use std::io::Read;
    let dir =
        init_dir(|t| *t = t.replace("max_connections_per_ip = 50", "max_connections_per_ip = 2"));
    let server = Server::start(dir);
    let greet = |s: &mut std::net::TcpStream| -> String {
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut b = [0u8; 256];
        let n = s.read(&mut b).unwrap_or(0);
        String::from_utf8_lossy(&b[..n]).into_owned()
    };
    let port = server.port("pop3");
    let mut a = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut b = std::net::TcpStream::connect(("127.0.0.1", server.port("imap"))).unwrap();
    assert!(greet(&mut a).starts_with("+OK"));
    assert!(greet(&mut b).starts_with("* OK"));
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(
        greet(&mut c),
        "",
        "third connection from 127.0.0.1 is closed at once"
    );
    drop(a);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut d = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(greet(&mut d).starts_with("+OK"), "a slot is free again");
    assert!(
        server
            .log()
            .contains("too many connections from this address")
    );
}

#[test]
fn login_from_a_new_place_alerts_the_user() {
    let dir = init_dir(|t| {
        *t = t.replace(
            "fast_password_hashing_for_tests = true",
            "fast_password_hashing_for_tests = true\nlocator_file = \"places.txt\"",
        )
    });
    std::fs::write(
        dir.path().join("places.txt"),
        "127.0.0.1/32 CN/Shanghai\n127.0.0.2/32 CN/Beijing\n",
    )
    .unwrap();
    cli_ok(
        dir.path(),
        &["user", "add", &addr("alice"), "--password-stdin"],
        Some(PASSWORD),
    );
    let server = Server::start(dir);
    server.python("new_place_alert", &[]);
}

#[test]
fn queued_mail_survives_a_restart_and_is_relayed() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let dir = init_dir(|t| {
        t.push_str(&format!(
            "\n[smarthost]\naddress = \"{dead}\"\nmax_attempts = 50\ninitial_backoff_secs = 1\n"
        ))
    });
    cli_ok(
        dir.path(),
        &["user", "add", &addr("alice"), "--password-stdin"],
        Some(PASSWORD),
    );
    let mut a = Server::start(dir);
    let out = submit(&a, "friend@other.example", "kept across restarts");
    assert!(out.status.success());
    assert!(a.stop().success());
    let dir = std::mem::replace(&mut a.dir, tempfile::tempdir().unwrap());
    drop(a);
    let queued: Vec<_> = std::fs::read_dir(dir.path().join("queue"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(queued.len(), 1, "the message waits in the durable queue");
    // Now point the server at a live smarthost (B, for other.example) and start it again.
    let b_dir = harness::init_dir_for("other.example", |_| {});
    cli_ok(
        b_dir.path(),
        &["user", "add", "friend@other.example", "--password-stdin"],
        Some(PASSWORD),
    );
    let b = Server::start(b_dir);
    let cfg = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&dead.to_string(), &format!("127.0.0.1:{}", b.port("smtp")));
    std::fs::write(&cfg, text).unwrap();
    let a = Server::start(dir);
    wait_for_mail(&b, "friend@other.example", "kept across restarts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_dir(a.path().join("queue")).unwrap().count() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "queue entry not removed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_command_left_unfinished_is_dropped_after_the_slow_client_timeout() {
    use std::io::{Read, Write};
    let dir = init_dir(|t| {
        *t = t.replace(
            "slow_client_timeout_secs = 60",
            "slow_client_timeout_secs = 2",
        )
    });
    let server = Server::start(dir);
    let connect = || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port("smtp"))).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .unwrap();
        let mut b = [0u8; 512];
        let n = s.read(&mut b).unwrap();
        assert!(b[..n].starts_with(b"220 "));
        s
    };
    // Idle between commands is fine (the SMTP idle timeout is 5 minutes).
    let mut idle = connect();
    // Stopping in the middle of a line is not.
    let mut slow = connect();
    slow.write_all(b"EHLO never-fini").unwrap();
    let start = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let waited = start.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(1500)
            && waited < std::time::Duration::from_secs(10),
        "dropped after about 2 s, not {waited:?}"
    );
    assert!(
        String::from_utf8_lossy(&rest).starts_with("421"),
        "{rest:?}"
    );
    idle.write_all(b"NOOP\r\n").unwrap();
    let mut b = [0u8; 512];
    let n = idle.read(&mut b).unwrap();
    assert!(
        b[..n].starts_with(b"250"),
        "{:?}",
        String::from_utf8_lossy(&b[..n])
    );
}

#[test]
fn plaintext_pipelined_after_starttls_is_discarded() {
    let server = start_standard();
    server.python("starttls_injection", &[]);
}

#[test]
fn user_del_deletes_the_mail_and_a_recreated_account_starts_empty() {
    let server = start_standard();
    let out = submit(&server, &addr("eve"), "before deletion 7f3a");
    assert!(out.status.success(), "swaks: {out:?}");
    wait_for_mail(&server, &addr("eve"), "before deletion 7f3a");
    let used = |server: &Server| -> String {
        let out = server.cli(&["user", "list"], None);
        assert!(out.status.success(), "{out:?}");
        let list = String::from_utf8_lossy(&out.stdout).into_owned();
        list.lines()
            .find(|l| l.starts_with(&format!("{}\t", addr("eve"))))
            .and_then(|l| l.split('\t').find(|f| f.starts_with("used=")))
            .unwrap_or_else(|| panic!("eve not in {list}"))
            .to_string()
    };
    assert_ne!(
        used(&server),
        "used=0",
        "the message counts before deletion"
    );
    let del = server.cli(&["user", "del", &addr("eve")], None);
    assert!(del.status.success(), "user del: {del:?}");
    assert!(
        String::from_utf8_lossy(&del.stdout).contains("mailboxes, messages"),
        "{}",
        String::from_utf8_lossy(&del.stdout)
    );
    let add = server.cli(
        &["user", "add", &addr("eve"), "--password-stdin"],
        Some(PASSWORD),
    );
    assert!(add.status.success(), "user add again: {add:?}");
    assert_eq!(used(&server), "used=0", "re-created account starts empty");
    let list = server.run(
        "curl",
        &[
            "-sS",
            "--max-time",
            "10",
            "--user",
            &format!("{}:{PASSWORD}", addr("eve")),
            &format!("pop3://127.0.0.1:{}/", server.port("pop3")),
        ],
    );
    assert!(list.status.success(), "curl pop3: {list:?}");
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "",
        "the old mail is gone from the new INBOX"
    );
}
