//! Sans-I/O POP3 server state machine
#![forbid(unsafe_code)]
