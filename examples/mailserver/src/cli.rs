//! The command line: every command of the operator's guide (README.md), parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

/// Example mail server composing imap-core, pop3-core, smtp-core, auth2fa and mailstore.
#[derive(Debug, Parser)]
#[command(name = "mailserver", version, about)]
pub struct Cli {
    /// Data directory: config.toml, tls/, the stores, admin.sock.
    #[arg(
        long,
        global = true,
        default_value = "./mail-data",
        env = "MAILSERVER_DATA"
    )]
    pub data: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write DATA/config.toml with defaults and a self-signed certificate under DATA/tls/.
    Init {
        /// The first local mail domain.
        #[arg(long)]
        domain: String,
        /// The server's host name (greetings, Received headers, certificate); default mail.DOMAIN.
        #[arg(long)]
        hostname: Option<String>,
    },
    /// Init if needed, create demo accounts, print how to connect, then serve.
    Demo,
    /// Run every listener until SIGINT or SIGTERM.
    Serve,
    /// Mail domains.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Client-specific (app) passwords for IMAP, POP3 and SMTP.
    #[command(subcommand, name = "app-password")]
    AppPassword(AppPasswordCmd),
    /// TOTP second factor.
    #[command(subcommand)]
    Totp(TotpCmd),
    /// Shared mailboxes.
    #[command(subcommand)]
    Share(ShareCmd),
    /// Brute-force IP blocks.
    #[command(subcommand)]
    Ban(BanCmd),
    /// Login, admin and mail logs.
    Log(LogArgs),
    /// Archived (expunged but retained) messages.
    #[command(subcommand)]
    Archive(ArchiveCmd),
}

#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    /// Add a local mail domain.
    Add {
        domain: String,
        /// Force two-factor authentication for every account of the domain.
        #[arg(long)]
        require_2fa: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindArg {
    Normal,
    Delivery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateArg {
    Active,
    Restricted,
    Banned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RightArg {
    ReadOnly,
    OnBehalf,
    Delegate,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create an account; the password is read from stdin and checked against the policy.
    Add {
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, value_enum, default_value = "normal")]
        kind: KindArg,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
    /// Change an account's state, flags or quota.
    Set {
        email: String,
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Require (true, the default when given without a value) or clear (false) a password
        /// change before protocol use.
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        must_change_password: Option<bool>,
        #[arg(long)]
        require_2fa: Option<bool>,
        #[arg(long)]
        quota: Option<u64>,
    },
    /// Set a new password (read from stdin).
    Passwd {
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Delete an account.
    Del { email: String },
}

#[derive(Debug, Subcommand)]
pub enum AppPasswordCmd {
    /// Create an app password; only the new password is printed on stdout.
    Add {
        email: String,
        #[arg(long)]
        name: String,
        /// Comma-separated protocols (imap,pop3,smtp); all when absent.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
    },
    /// Names, dates and last use of an account's app passwords (never the secrets).
    List { email: String },
    /// Remove one app password by name.
    Remove { email: String, name: String },
    /// Remove every app password of an account.
    Clear { email: String },
}

#[derive(Debug, Subcommand)]
pub enum TotpCmd {
    /// Enrol a TOTP factor; prints the otpauth URL.
    Enroll {
        email: String,
        /// Also write the QR code as a PNG file.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
    /// Finish enrolment with the first code the authenticator app shows (within 5 minutes;
    /// the pending enrolment lives in the running server).
    Confirm { email: String, code: String },
}

#[derive(Debug, Subcommand)]
pub enum ShareCmd {
    /// Share OWNER's mailbox with DELEGATE.
    Grant {
        owner: String,
        delegate: String,
        #[arg(long, value_enum)]
        right: RightArg,
    },
    /// Stop sharing.
    Revoke { owner: String, delegate: String },
    /// Who OWNER's mailbox is shared with.
    List { owner: String },
}

#[derive(Debug, Subcommand)]
pub enum BanCmd {
    /// Currently blocked IP addresses.
    List,
    /// Lift the block on one IP address.
    Lift { ip: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    Logins,
    Admin,
    Mail,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[arg(value_enum)]
    pub kind: LogKind,
    #[arg(long)]
    pub account: Option<String>,
    /// RFC 3339 time, e.g. 2026-01-31T00:00:00Z.
    #[arg(long)]
    pub since: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCmd {
    /// Archived messages of an account.
    List { email: String },
    /// Put an archived message back into its mailbox.
    Restore { email: String, id: String },
}
