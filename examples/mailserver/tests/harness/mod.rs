//! Starts the real `mailserver` binary on a temporary data directory with free ports and drives
//! it with real clients (Python's imaplib/poplib/smtplib, curl, swaks, mbsync).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mailserver");
pub const DOMAIN: &str = "example.edu";

pub struct Server {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub ports: HashMap<String, SocketAddr>,
    /// Everything the server printed on stdout before its last listening line.
    pub banner: Vec<String>,
}

/// The data directory's path as a string.
pub fn data(dir: &Path) -> String {
    dir.to_string_lossy().into_owned()
}

/// Runs a CLI command on `dir` with an optional stdin, bounded by 120 s.
pub fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data").arg(dir).args(args);
    cmd.env("MAILSERVER_LOG", "warn");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mailserver");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    wait_bounded(
        child,
        Duration::from_secs(120),
        &format!("mailserver {args:?}"),
    )
}

/// Like `cli` but asserts success and returns stdout.
pub fn cli_ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = cli(dir, args, stdin);
    assert!(
        out.status.success(),
        "mailserver {args:?} failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Output {
    let start = Instant::now();
    loop {
        match child.try_wait().unwrap() {
            Some(_) => return child.wait_with_output().unwrap(),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{what} did not finish in {limit:?}\nstdout: {}\nstderr: {}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A fresh data directory: `init`, every listener on a free port (port 0), cheap password
/// hashing, at most two accounts' indexes in memory (so every test also runs the store's
/// eviction and reload under real sessions), and `edit` applied to config.toml's text.
pub fn init_dir(edit: impl FnOnce(&mut String)) -> tempfile::TempDir {
    init_dir_for(DOMAIN, edit)
}

/// Like `init_dir` for another first domain.
pub fn init_dir_for(domain: &str, edit: impl FnOnce(&mut String)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    cli_ok(dir.path(), &["init", "--domain", domain], None);
    let path = dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    // Every listener on a free port: the "listening" lines tell us which.
    let re_ports: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("= \"127.0.0.1:") {
                let (k, _) = l.split_once('=').unwrap();
                format!("{k}= \"127.0.0.1:0\"")
            } else if l.starts_with("fast_password_hashing_for_tests") {
                "fast_password_hashing_for_tests = true".to_string()
            } else if l.starts_with("max_loaded_accounts") {
                "max_loaded_accounts = 2".to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    text = re_ports.join("\n");
    text.push('\n');
    edit(&mut text);
    std::fs::write(&path, text).unwrap();
    dir
}

impl Server {
    /// Starts `serve` on the directory and waits (at most 60 s) for the seven listening lines.
    pub fn start(dir: tempfile::TempDir) -> Server {
        Server::start_cmd(dir, "serve")
    }

    /// Starts `serve` or `demo`.
    pub fn start_cmd(dir: tempfile::TempDir, command: &str) -> Server {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(dir.path())
            .arg(command)
            .env("MAILSERVER_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn mailserver serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            dir,
            child: Some(child),
            ports: HashMap::new(),
            banner: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.ports.len() < 7 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    server.banner.push(line.clone());
                    if let Some((name, addr)) = line.split_once(" listening on ") {
                        server
                            .ports
                            .insert(name.to_string(), addr.trim().parse().unwrap());
                    }
                }
                Err(_) => panic!(
                    "server did not print its listening lines in time; log:\n{}",
                    server.log()
                ),
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        server
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self, name: &str) -> u16 {
        self.ports[name].port()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        cli(self.path(), args, stdin)
    }

    pub fn cli_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        cli_ok(self.path(), args, stdin)
    }

    /// The environment every client script gets: ports, certificate, data directory.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .ports
            .iter()
            .map(|(k, v)| (format!("{}_PORT", k.to_uppercase()), v.port().to_string()))
            .collect();
        env.push(("CERT".into(), self.cert().to_string_lossy().into_owned()));
        env.push(("DATA".into(), data(self.path())));
        env.push(("DOMAIN".into(), DOMAIN.into()));
        env.push(("MAILSERVER_BIN".into(), BIN.into()));
        env
    }

    /// Runs tests/e2e/NAME.py with python3 (bounded by 120 s); panics with its output and the
    /// server log when it fails.
    pub fn python(&self, name: &str, extra: &[(&str, &str)]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e")
            .join(format!("{name}.py"));
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .envs(self.env())
            .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .env("PYTHONPATH", script.parent().unwrap())
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = wait_bounded(
            cmd.spawn().expect("python3"),
            Duration::from_secs(120),
            name,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{name}.py failed\nstdout:\n{stdout}\nstderr:\n{}\nserver log (tail):\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 80)
        );
        stdout
    }

    /// Delivers `message` from `from` to `rcpt` on the inbound SMTP port with curl's smtp URL,
    /// asserting that curl succeeded.
    pub fn curl_deliver(&self, from: &str, rcpt: &str, message: &str) {
        let file = self.dir.path().join(format!("curl-{rcpt}.eml"));
        std::fs::write(&file, message).unwrap();
        let url = format!("smtp://127.0.0.1:{}", self.port("smtp"));
        let path = file.to_string_lossy();
        let out = self.run(
            "curl",
            &[
                "-sS",
                "--max-time",
                "20",
                &url,
                "--mail-from",
                from,
                "--mail-rcpt",
                rcpt,
                "--upload-file",
                &path,
            ],
        );
        assert!(
            out.status.success(),
            "curl smtp: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs an external client (curl, swaks, mbsync) bounded by 60 s.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        wait_bounded(
            cmd.spawn().unwrap_or_else(|e| {
                panic!("{program}: {e} (install it: apt-get install -y swaks isync curl)")
            }),
            Duration::from_secs(60),
            program,
        )
    }

    /// Sends SIGTERM and waits for a graceful exit (at most 40 s).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > Duration::from_secs(40) {
                let _ = child.kill();
                panic!("server did not stop within 40 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
