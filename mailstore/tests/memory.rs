//! The conformance suite on the in-memory backend.
use std::sync::Arc;

use mailstore::{MemoryStore, Store, conformance};

fn make() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn conformance_suite() {
    conformance::run_all(&make).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency() {
    conformance::concurrent_appends_and_flags(make(), 16, 20).await;
}

#[test]
fn model_based() {
    conformance::model_proptest(&make, 64);
}
