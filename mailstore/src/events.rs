//! Change notification: a [`Subscription`] receives [`MailboxEvent`]s of one mailbox.

use tokio::sync::broadcast;

use crate::records::MailboxEvent;

/// Events of one mailbox, in commit order, published after the change is durable.
///
/// Subscribe before [`Store::select`](crate::Store::select) so nothing falls between the
/// snapshot and the first event; events the snapshot already shows can be ignored by UID and
/// modseq.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<MailboxEvent>,
}

impl Subscription {
    /// Wraps a broadcast receiver (for third-party backends).
    pub fn new(rx: broadcast::Receiver<MailboxEvent>) -> Subscription {
        Subscription { rx }
    }

    /// The next event; `None` once the store is gone. A subscriber that falls more than
    /// the channel capacity behind gets [`MailboxEvent::Lagged`] and should re-read the mailbox.
    pub async fn recv(&mut self) -> Option<MailboxEvent> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(MailboxEvent::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is ready.
    pub fn try_recv(&mut self) -> Option<MailboxEvent> {
        match self.rx.try_recv() {
            Ok(e) => Some(e),
            Err(broadcast::error::TryRecvError::Lagged(n)) => Some(MailboxEvent::Lagged(n)),
            Err(_) => None,
        }
    }
}
