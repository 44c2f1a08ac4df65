//! Sans-I/O SMTP server and client state machines
#![forbid(unsafe_code)]
