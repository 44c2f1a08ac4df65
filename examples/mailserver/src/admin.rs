//! Admin operations: one request type for every CLI admin command, executed by one function
//! whether it arrives over the admin socket of a running server or from the CLI with the stores
//! opened directly. Every request is written to the admin audit log with its result.

use serde::{Deserialize, Serialize};

use crate::cli::{KindArg, LogKind, RightArg, StateArg};
use crate::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum AdminRequest {
    DomainAdd {
        domain: String,
        require_2fa: bool,
    },
    UserAdd {
        email: String,
        password: Secret,
        kind: KindArg,
        name: Option<String>,
        phone: Option<String>,
    },
    UserSet {
        email: String,
        state: Option<StateArg>,
        must_change_password: Option<bool>,
        require_2fa: Option<bool>,
        quota: Option<u64>,
    },
    UserPasswd {
        email: String,
        password: Secret,
    },
    UserList,
    UserDel {
        email: String,
    },
    AppPasswordAdd {
        email: String,
        name: String,
        scope: Vec<String>,
    },
    AppPasswordList {
        email: String,
    },
    AppPasswordRemove {
        email: String,
        name: String,
    },
    AppPasswordClear {
        email: String,
    },
    TotpEnroll {
        email: String,
        want_qr: bool,
    },
    TotpConfirm {
        email: String,
        code: String,
    },
    ShareGrant {
        owner: String,
        delegate: String,
        right: RightArg,
    },
    ShareRevoke {
        owner: String,
        delegate: String,
    },
    ShareList {
        owner: String,
    },
    BanList,
    BanLift {
        ip: String,
    },
    Log {
        kind: LogKind,
        account: Option<String>,
        since: Option<String>,
        json: bool,
    },
    ArchiveList {
        email: String,
    },
    ArchiveRestore {
        email: String,
        id: String,
    },
}

impl AdminRequest {
    /// The action name for the audit log.
    pub fn action(&self) -> &'static str {
        match self {
            AdminRequest::DomainAdd { .. } => "domain add",
            AdminRequest::UserAdd { .. } => "user add",
            AdminRequest::UserSet { .. } => "user set",
            AdminRequest::UserPasswd { .. } => "user passwd",
            AdminRequest::UserList => "user list",
            AdminRequest::UserDel { .. } => "user del",
            AdminRequest::AppPasswordAdd { .. } => "app-password add",
            AdminRequest::AppPasswordList { .. } => "app-password list",
            AdminRequest::AppPasswordRemove { .. } => "app-password remove",
            AdminRequest::AppPasswordClear { .. } => "app-password clear",
            AdminRequest::TotpEnroll { .. } => "totp enroll",
            AdminRequest::TotpConfirm { .. } => "totp confirm",
            AdminRequest::ShareGrant { .. } => "share grant",
            AdminRequest::ShareRevoke { .. } => "share revoke",
            AdminRequest::ShareList { .. } => "share list",
            AdminRequest::BanList => "ban list",
            AdminRequest::BanLift { .. } => "ban lift",
            AdminRequest::Log { .. } => "log",
            AdminRequest::ArchiveList { .. } => "archive list",
            AdminRequest::ArchiveRestore { .. } => "archive restore",
        }
    }

    /// The target of the action (account, domain, IP) for the audit log.
    pub fn target(&self) -> String {
        match self {
            AdminRequest::DomainAdd { domain, .. } => domain.clone(),
            AdminRequest::UserAdd { email, .. }
            | AdminRequest::UserSet { email, .. }
            | AdminRequest::UserPasswd { email, .. }
            | AdminRequest::UserDel { email }
            | AdminRequest::AppPasswordAdd { email, .. }
            | AdminRequest::AppPasswordList { email }
            | AdminRequest::AppPasswordRemove { email, .. }
            | AdminRequest::AppPasswordClear { email }
            | AdminRequest::TotpEnroll { email, .. }
            | AdminRequest::TotpConfirm { email, .. }
            | AdminRequest::ArchiveList { email }
            | AdminRequest::ArchiveRestore { email, .. } => email.clone(),
            AdminRequest::ShareGrant {
                owner, delegate, ..
            }
            | AdminRequest::ShareRevoke { owner, delegate } => format!("{owner} -> {delegate}"),
            AdminRequest::ShareList { owner } => owner.clone(),
            AdminRequest::BanLift { ip } => ip.clone(),
            AdminRequest::UserList | AdminRequest::BanList => String::new(),
            AdminRequest::Log { account, .. } => account.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminResponse {
    pub ok: bool,
    /// What the CLI prints on stdout.
    #[serde(default)]
    pub stdout: String,
    /// What the CLI prints on stderr (with a non-zero exit) when `ok` is false.
    #[serde(default)]
    pub error: String,
    /// A QR code PNG (totp enroll --qr), base64.
    #[serde(default)]
    pub qr_png_base64: Option<String>,
}

impl AdminResponse {
    pub fn ok(stdout: impl Into<String>) -> AdminResponse {
        AdminResponse {
            ok: true,
            stdout: stdout.into(),
            error: String::new(),
            qr_png_base64: None,
        }
    }
    pub fn err(error: impl Into<String>) -> AdminResponse {
        AdminResponse {
            ok: false,
            stdout: String::new(),
            error: error.into(),
            qr_png_base64: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_json_and_never_show_passwords_in_debug() {
        let req = AdminRequest::UserAdd {
            email: "a@example.edu".into(),
            password: Secret::new("Tq9!vLm2#pRz".into()),
            kind: KindArg::Delivery,
            name: Some("张三".into()),
            phone: None,
        };
        let line = serde_json::to_string(&req).unwrap();
        assert!(line.contains("\"op\":\"user-add\""), "{line}");
        let back: AdminRequest = serde_json::from_str(&line).unwrap();
        assert_eq!(back.action(), "user add");
        assert_eq!(back.target(), "a@example.edu");
        let shown = format!("{back:?}");
        assert!(!shown.contains("Tq9!"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
