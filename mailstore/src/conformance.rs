//! The conformance suite every backend runs (feature `conformance`).
