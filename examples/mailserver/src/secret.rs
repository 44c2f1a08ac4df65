//! A password on its way from stdin or the admin socket to auth2fa: never printed or logged.

use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_is_redacted() {
        let s = super::Secret::new("hunter2-correct".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }
}
