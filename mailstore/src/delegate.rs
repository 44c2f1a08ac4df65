//! Implements [`Store`](crate::Store) for a backend newtype by forwarding to its engine.

macro_rules! delegate_store {
    ($t:ty) => {
        #[async_trait::async_trait]
        impl $crate::Store for $t {
            async fn create_account(
                &self,
                account: &$crate::AccountId,
                mailboxes: &[($crate::MailboxName, Option<$crate::SpecialUse>)],
            ) -> $crate::Result<()> {
                self.engine.create_account(account, mailboxes).await
            }
            async fn account_exists(&self, account: &$crate::AccountId) -> $crate::Result<bool> {
                self.engine.account_exists(account).await
            }
            async fn delete_account(&self, account: &$crate::AccountId) -> $crate::Result<()> {
                self.engine.delete_account(account).await
            }
            async fn set_quota(
                &self,
                account: &$crate::AccountId,
                quota: $crate::Quota,
            ) -> $crate::Result<()> {
                self.engine.set_quota(account, quota).await
            }
            async fn quota(
                &self,
                account: &$crate::AccountId,
            ) -> $crate::Result<$crate::QuotaUsage> {
                self.engine.quota(account).await
            }
            async fn set_archive_mode(
                &self,
                account: &$crate::AccountId,
                on: bool,
            ) -> $crate::Result<()> {
                self.engine.set_archive_mode(account, on).await
            }
            async fn create_mailbox(
                &self,
                account: &$crate::AccountId,
                name: &$crate::MailboxName,
                special_use: Option<$crate::SpecialUse>,
            ) -> $crate::Result<$crate::MailboxId> {
                self.engine.create_mailbox(account, name, special_use).await
            }
            async fn delete_mailbox(
                &self,
                account: &$crate::AccountId,
                name: &$crate::MailboxName,
            ) -> $crate::Result<()> {
                self.engine.delete_mailbox(account, name).await
            }
            async fn rename_mailbox(
                &self,
                account: &$crate::AccountId,
                from: &$crate::MailboxName,
                to: &$crate::MailboxName,
            ) -> $crate::Result<()> {
                self.engine.rename_mailbox(account, from, to).await
            }
            async fn list_mailboxes(
                &self,
                account: &$crate::AccountId,
            ) -> $crate::Result<Vec<$crate::MailboxInfo>> {
                self.engine.list_mailboxes(account).await
            }
            async fn set_subscribed(
                &self,
                account: &$crate::AccountId,
                name: &$crate::MailboxName,
                on: bool,
            ) -> $crate::Result<()> {
                self.engine.set_subscribed(account, name, on).await
            }
            async fn set_special_use(
                &self,
                account: &$crate::AccountId,
                name: &$crate::MailboxName,
                special_use: Option<$crate::SpecialUse>,
            ) -> $crate::Result<()> {
                self.engine
                    .set_special_use(account, name, special_use)
                    .await
            }
            async fn mailbox_id(
                &self,
                owner: &$crate::AccountId,
                name: &$crate::MailboxName,
            ) -> $crate::Result<$crate::MailboxId> {
                self.engine.mailbox_id(owner, name).await
            }
            async fn select(
                &self,
                mailbox: $crate::MailboxId,
            ) -> $crate::Result<$crate::SelectedMailbox> {
                self.engine.select(mailbox).await
            }
            async fn status(
                &self,
                mailbox: $crate::MailboxId,
            ) -> $crate::Result<$crate::MailboxStatus> {
                self.engine.status(mailbox).await
            }
            async fn append(
                &self,
                mailbox: $crate::MailboxId,
                raw: bytes::Bytes,
                flags: $crate::Flags,
                internal_date: i64,
            ) -> $crate::Result<$crate::Appended> {
                self.engine.append(mailbox, raw, flags, internal_date).await
            }
            async fn message(
                &self,
                mailbox: $crate::MailboxId,
                uid: $crate::Uid,
            ) -> $crate::Result<$crate::MessageInfo> {
                self.engine.message(mailbox, uid).await
            }
            async fn messages(
                &self,
                mailbox: $crate::MailboxId,
                uids: &[$crate::Uid],
            ) -> $crate::Result<Vec<$crate::MessageInfo>> {
                self.engine.messages(mailbox, uids).await
            }
            async fn read_message(
                &self,
                mailbox: $crate::MailboxId,
                uid: $crate::Uid,
            ) -> $crate::Result<bytes::Bytes> {
                self.engine.read_message(mailbox, uid).await
            }
            async fn read_range(
                &self,
                mailbox: $crate::MailboxId,
                uid: $crate::Uid,
                start: u64,
                end: u64,
            ) -> $crate::Result<bytes::Bytes> {
                self.engine.read_range(mailbox, uid, start, end).await
            }
            async fn store_flags(
                &self,
                mailbox: $crate::MailboxId,
                uids: &[$crate::Uid],
                op: $crate::FlagOp,
                flags: &$crate::Flags,
                unchanged_since: Option<$crate::ModSeq>,
            ) -> $crate::Result<$crate::FlagsStored> {
                self.engine
                    .store_flags(mailbox, uids, op, flags, unchanged_since)
                    .await
            }
            async fn expunge(
                &self,
                mailbox: $crate::MailboxId,
                uids: Option<&[$crate::Uid]>,
            ) -> $crate::Result<Vec<$crate::Uid>> {
                self.engine.expunge(mailbox, uids).await
            }
            async fn copy(
                &self,
                from: $crate::MailboxId,
                uids: &[$crate::Uid],
                to: $crate::MailboxId,
            ) -> $crate::Result<$crate::CopiedUids> {
                self.engine.copy(from, uids, to).await
            }
            async fn move_messages(
                &self,
                from: $crate::MailboxId,
                uids: &[$crate::Uid],
                to: $crate::MailboxId,
            ) -> $crate::Result<$crate::CopiedUids> {
                self.engine.move_messages(from, uids, to).await
            }
            async fn changes_since(
                &self,
                mailbox: $crate::MailboxId,
                since: $crate::ModSeq,
            ) -> $crate::Result<$crate::Changes> {
                self.engine.changes_since(mailbox, since).await
            }
            async fn search(
                &self,
                mailbox: $crate::MailboxId,
                query: &$crate::SearchKey,
            ) -> $crate::Result<Vec<$crate::Uid>> {
                self.engine.search(mailbox, query).await
            }
            async fn subscribe(
                &self,
                mailbox: $crate::MailboxId,
            ) -> $crate::Result<$crate::Subscription> {
                self.engine.subscribe(mailbox).await
            }
            async fn set_rights(
                &self,
                owner: &$crate::AccountId,
                name: &$crate::MailboxName,
                grantee: &$crate::AccountId,
                rights: $crate::Rights,
            ) -> $crate::Result<()> {
                self.engine.set_rights(owner, name, grantee, rights).await
            }
            async fn acl(
                &self,
                owner: &$crate::AccountId,
                name: &$crate::MailboxName,
            ) -> $crate::Result<Vec<($crate::AccountId, $crate::Rights)>> {
                self.engine.acl(owner, name).await
            }
            async fn my_rights(
                &self,
                mailbox: $crate::MailboxId,
                who: &$crate::AccountId,
            ) -> $crate::Result<$crate::Rights> {
                self.engine.my_rights(mailbox, who).await
            }
            async fn shared_with(
                &self,
                grantee: &$crate::AccountId,
            ) -> $crate::Result<Vec<$crate::SharedMailbox>> {
                self.engine.shared_with(grantee).await
            }
            async fn list_archived(
                &self,
                account: &$crate::AccountId,
            ) -> $crate::Result<Vec<$crate::ArchivedMessage>> {
                self.engine.list_archived(account).await
            }
            async fn restore_archived(
                &self,
                account: &$crate::AccountId,
                id: u64,
                to: $crate::MailboxId,
            ) -> $crate::Result<$crate::Appended> {
                self.engine.restore_archived(account, id, to).await
            }
            async fn read_receipts(
                &self,
                message_id: &str,
            ) -> $crate::Result<Vec<$crate::ReadReceipt>> {
                self.engine.read_receipts(message_id).await
            }
            async fn log_mail(&self, record: $crate::MailLogRecord) -> $crate::Result<()> {
                self.engine.log_mail(record).await
            }
            async fn mail_log(
                &self,
                account: &$crate::AccountId,
                since: i64,
                until: i64,
            ) -> $crate::Result<Vec<$crate::MailLogRecord>> {
                self.engine.mail_log(account, since, until).await
            }
        }
    };
}

pub(crate) use delegate_store;
