//! Account security: passwords, app passwords, TOTP and other second factors, trusted devices, brute-force blocking, account policy, login log
#![forbid(unsafe_code)]
