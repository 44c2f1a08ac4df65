//! The host's answers: typed, state-checked completion methods and mailbox updates.

use super::selected::Selected;
use super::{Mode, PendingKind, Server, State};
use crate::Error;
use crate::syntax::{
    Code, Data, ESearch, FetchItem, Flag, FlagFetch, FlagPerm, ListItem, Mailbox, NamespaceDesc,
    QuotaResource, Ranges, SearchReturn, Status, StatusValue, Writer,
};

/// What the host knows about a mailbox being selected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectInfo {
    /// Flags defined in the mailbox (`* FLAGS`).
    pub flags: Vec<Flag>,
    /// Flags the client can change permanently (empty on a read-only mailbox).
    pub permanent_flags: Vec<FlagPerm>,
    /// Every message's UID, strictly ascending.
    pub uids: Vec<u32>,
    /// UIDVALIDITY (non-zero).
    pub uid_validity: u32,
    /// UIDNEXT (greater than every UID).
    pub uid_next: u32,
    /// HIGHESTMODSEQ, or `None` if the mailbox has no mod-sequences (`NOMODSEQ`).
    pub highest_modseq: Option<u64>,
    /// Number of \Recent messages (IMAP4rev1 clients only).
    pub recent: u32,
    /// UID of the first unseen message (IMAP4rev1 `[UNSEEN n]`).
    pub first_unseen: Option<u32>,
    /// QRESYNC: UIDs expunged since the client's mod-sequence (`VANISHED (EARLIER)`).
    pub vanished: Vec<u32>,
    /// QRESYNC: messages changed since the client's mod-sequence: (UID, flags, modseq).
    pub changed: Vec<(u32, Vec<Flag>, u64)>,
}

/// A COPYUID/APPENDUID-style mapping (UIDPLUS): source UIDs and the UIDs they got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyUid {
    /// UIDVALIDITY of the destination.
    pub uid_validity: u32,
    /// Source UIDs, in the order copied.
    pub source: Vec<u32>,
    /// Destination UIDs, pairwise.
    pub dest: Vec<u32>,
}

fn strictly_ascending(v: &[u32]) -> bool {
    v.windows(2).all(|w| w[0] < w[1]) && v.first().is_none_or(|&u| u > 0)
}

impl Server {
    fn pending_is(&self, f: impl Fn(&PendingKind) -> bool) -> bool {
        self.pending.as_ref().is_some_and(|p| f(&p.kind))
    }

    fn finish(&mut self, status: Status, code: Option<Code>, text: Option<&str>) {
        let Some(p) = self.pending.take() else { return };
        let allow_expunge = !matches!(
            p.kind,
            PendingKind::Fetch { uid: false, .. }
                | PendingKind::Store { uid: false, .. }
                | PendingKind::Search { uid: false, .. }
        );
        if status == Status::Ok {
            self.bad_commands = 0;
        }
        self.flush_updates(allow_expunge);
        let default;
        let text = match text {
            Some(t) => t,
            None => {
                default = format!(
                    "{} {}",
                    p.name,
                    match status {
                        Status::Ok => "completed",
                        Status::No => "failed",
                        Status::Bad => "refused",
                    }
                );
                &default
            }
        };
        self.tagged(&p.tag, status, code, text);
        self.process();
    }

    /// Completes the waiting command with `OK`. Valid for CREATE, DELETE, RENAME, SUBSCRIBE,
    /// UNSUBSCRIBE, LIST/LSUB, NOOP/CHECK, CLOSE/UNSELECT, EXPUNGE, FETCH, STORE, SETACL,
    /// DELETEACL, SETQUOTA, COPY (without UIDPLUS data).
    pub fn ok(&mut self) -> Result<(), Error> {
        let Some(p) = &self.pending else {
            return Err(self.wrong("ok"));
        };
        match &p.kind {
            PendingKind::Simple
            | PendingKind::List { .. }
            | PendingKind::Poll
            | PendingKind::Expunge
            | PendingKind::Fetch { .. }
            | PendingKind::Store { .. }
            | PendingKind::Copy => {}
            PendingKind::Close => {
                self.state = State::Authenticated;
            }
            _ => return Err(self.wrong("ok")),
        }
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    /// Completes the waiting command with `NO [code] text` (any command; for LOGIN and
    /// AUTHENTICATE this is [`Server::auth_reject`]; for APPEND it abandons the message).
    pub fn no(&mut self, code: Option<Code>, text: &str) -> Result<(), Error> {
        let Some(p) = &self.pending else {
            return Err(self.wrong("no"));
        };
        match p.kind {
            PendingKind::Login => return self.auth_reject(code, text),
            PendingKind::AppendStart => self.append_refused(),
            PendingKind::AppendComplete => self.append_mailbox = None,
            _ => {}
        }
        self.finish(Status::No, code, Some(text));
        Ok(())
    }

    /// Completes the waiting command with `BAD text` (a semantic error the core could not see).
    pub fn bad(&mut self, text: &str) -> Result<(), Error> {
        let Some(p) = &self.pending else {
            return Err(self.wrong("bad"));
        };
        match p.kind {
            PendingKind::AppendStart => self.append_refused(),
            PendingKind::Login => self.auth_failures += 1,
            _ => {}
        }
        self.finish(Status::Bad, None, Some(text));
        Ok(())
    }

    // ------------------------------------------------------------ authentication

    /// Accepts the credentials of [`super::Event::Login`]: `OK [CAPABILITY ...] Logged in`.
    pub fn auth_accept(&mut self) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Login)) {
            return Err(self.wrong("auth_accept"));
        }
        self.state = State::Authenticated;
        let caps = self.capabilities();
        self.finish(Status::Ok, Some(Code::Capability(caps)), Some("Logged in"));
        Ok(())
    }

    /// Refuses the credentials: `NO [code] text` (default code AUTHENTICATIONFAILED). After
    /// `max_auth_failures` the session ends with BYE.
    pub fn auth_reject(&mut self, code: Option<Code>, text: &str) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Login)) {
            return Err(self.wrong("auth_reject"));
        }
        self.auth_failures += 1;
        let code = code.or(Some(Code::AuthenticationFailed));
        if self.auth_failures >= self.cfg.max_auth_failures {
            // No further pipelined command is read.
            if let Some(p) = self.pending.take() {
                self.tagged(&p.tag, Status::No, code, text);
            }
            self.close_with_bye(None, "Too many authentication failures");
        } else {
            self.finish(Status::No, code, Some(text));
        }
        Ok(())
    }

    /// Answers ID with the server's parameters (`None`: `ID NIL`).
    pub fn id_reply(&mut self, params: Option<Vec<(String, Option<String>)>>) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Id)) {
            return Err(self.wrong("id_reply"));
        }
        self.data(&Data::Id(params));
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    // ------------------------------------------------------------ mailboxes

    /// Opens the mailbox of [`super::Event::Select`]: sends FLAGS, EXISTS, PERMANENTFLAGS,
    /// UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (and QRESYNC data), then the tagged OK.
    pub fn select_ok(&mut self, info: SelectInfo) -> Result<(), Error> {
        self.select_ok_with(info, false)
    }

    /// Like [`Server::select_ok`], but opens the mailbox read-only even for SELECT: the tagged
    /// OK carries `[READ-ONLY]`, PERMANENTFLAGS is empty, and STORE, EXPUNGE, MOVE and APPEND's
    /// implicit changes to it are refused by the session. For hosts whose user may read but not
    /// change the mailbox (a read-only shared mailbox, RFC 4314 rights without `s`, `w`, `t`).
    pub fn select_ok_read_only(&mut self, info: SelectInfo) -> Result<(), Error> {
        self.select_ok_with(info, true)
    }

    fn select_ok_with(&mut self, info: SelectInfo, force_read_only: bool) -> Result<(), Error> {
        let Some(PendingKind::Select {
            read_only,
            condstore,
        }) = self.pending.as_ref().map(|p| &p.kind)
        else {
            return Err(self.wrong("select_ok"));
        };
        let (read_only, condstore) = (*read_only || force_read_only, *condstore);
        if !strictly_ascending(&info.uids) {
            return Err(Error::InvalidValue(
                "SelectInfo.uids must be strictly ascending and non-zero",
            ));
        }
        if info.uid_validity == 0
            || info.uid_next == 0
            || info.uids.last().is_some_and(|&u| u >= info.uid_next)
        {
            return Err(Error::InvalidValue("uid_validity/uid_next"));
        }
        let exists = info.uids.len() as u32;
        self.data(&Data::Flags(info.flags.clone()));
        self.data(&Data::Exists(exists));
        if !self.rev2 {
            self.data(&Data::Recent(info.recent));
        }
        let st = |s: &mut Server, code: Code, text: &str| {
            s.respond(&crate::syntax::Response::Status {
                status: Status::Ok,
                code: Some(code),
                text: text.into(),
            })
        };
        let perm = if read_only {
            vec![]
        } else {
            info.permanent_flags.clone()
        };
        st(self, Code::PermanentFlags(perm), "Flags permitted");
        let unseen_seq = info
            .first_unseen
            .and_then(|u| info.uids.binary_search(&u).ok())
            .map(|k| k as u32 + 1);
        if let (false, Some(n)) = (self.rev2, unseen_seq) {
            st(self, Code::Unseen(n), "First unseen");
        }
        st(self, Code::UidValidity(info.uid_validity), "UIDs valid");
        st(self, Code::UidNext(info.uid_next), "Predicted next UID");
        if condstore || self.condstore {
            match info.highest_modseq {
                Some(m) => st(self, Code::HighestModSeq(m), "Highest"),
                None => st(self, Code::NoModSeq, "No mod-sequences"),
            }
        }
        let mut sel = Selected::new(self.selecting_mailbox(), read_only, info.uids);
        // QRESYNC data
        let mut w = self.writer();
        let mut vanished = info.vanished.clone();
        vanished.sort_unstable();
        vanished.dedup();
        if let Some(r) = Ranges::from_sorted(&vanished) {
            Data::Vanished {
                earlier: true,
                uids: r,
            }
            .write(&mut w);
        }
        for (uid, flags, modseq) in &info.changed {
            if let Some(seq) = sel.seq_of(*uid) {
                Data::Fetch {
                    seq,
                    items: vec![
                        FetchItem::Uid(*uid),
                        FetchItem::Flags(flags.iter().cloned().map(FlagFetch::Flag).collect()),
                        FetchItem::ModSeq(*modseq),
                    ],
                }
                .write(&mut w);
            }
        }
        self.put(w);
        sel.read_only = read_only;
        self.state = State::Selected(Box::new(sel));
        self.finish(
            Status::Ok,
            Some(if read_only {
                Code::ReadOnly
            } else {
                Code::ReadWrite
            }),
            None,
        );
        Ok(())
    }

    fn selecting_mailbox(&self) -> Mailbox {
        self.selecting
            .clone()
            .unwrap_or_else(|| Mailbox::new("INBOX").expect("valid"))
    }

    /// One LIST/LSUB line (call once per matching mailbox).
    pub fn list_item(&mut self, item: ListItem) -> Result<(), Error> {
        let Some(PendingKind::List { lsub }) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("list_item"));
        };
        let d = if *lsub {
            Data::Lsub(item)
        } else {
            Data::List(item)
        };
        self.data(&d);
        Ok(())
    }

    /// A LIST-STATUS `* STATUS` line for a listed mailbox.
    pub fn list_status(&mut self, mailbox: Mailbox, items: Vec<StatusValue>) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::List { lsub: false })) {
            return Err(self.wrong("list_status"));
        }
        self.data(&Data::Status { mailbox, items });
        Ok(())
    }

    /// Answers STATUS: `* STATUS mailbox (...)` then OK.
    pub fn status_ok(&mut self, mailbox: Mailbox, items: Vec<StatusValue>) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Status)) {
            return Err(self.wrong("status_ok"));
        }
        self.data(&Data::Status { mailbox, items });
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    // ------------------------------------------------------------ APPEND

    /// Accepts the message of [`super::Event::AppendStart`]; its data follows as
    /// [`super::Event::AppendData`].
    pub fn append_accept(&mut self) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::AppendStart)) {
            return Err(self.wrong("append_accept"));
        }
        self.pending = None;
        self.append_accepted();
        self.process();
        Ok(())
    }

    /// Refuses the message: `NO [code] text` (e.g. TRYCREATE, OVERQUOTA, TOOBIG, NOPERM).
    /// For a MULTIAPPEND this abandons the whole command.
    pub fn append_reject(&mut self, code: Option<Code>, text: &str) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::AppendStart)) {
            return Err(self.wrong("append_reject"));
        }
        self.append_refused();
        self.cont_tag = None;
        self.finish(Status::No, code, Some(text));
        Ok(())
    }

    /// The appended messages are durably stored: `OK [APPENDUID v uids] APPEND completed`.
    pub fn append_ok(&mut self, uid_validity: u32, uids: &[u32]) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::AppendComplete)) {
            return Err(self.wrong("append_ok"));
        }
        let code = match (uid_validity, Ranges::from_sorted(uids)) {
            (0, _) | (_, None) => None,
            (v, Some(r)) => Some(Code::AppendUid {
                uid_validity: v,
                uids: r,
            }),
        };
        self.finish(Status::Ok, code, None);
        Ok(())
    }

    // ------------------------------------------------------------ selected state

    /// Answers IDLE: `+ idling`; then report changes with the mailbox-update methods until
    /// the client sends DONE ([`super::Event::IdleDone`]).
    pub fn idle_accept(&mut self) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Idle)) {
            return Err(self.wrong("idle_accept"));
        }
        let Some(p) = self.pending.take() else {
            return Err(self.wrong("idle_accept"));
        };
        self.cont_tag = Some(p.tag);
        self.continuation("idling");
        self.mode = Mode::Idle;
        self.flush_updates(true);
        self.process();
        Ok(())
    }

    /// One FETCH response for `uid` (the session adds `UID` when required).
    pub fn fetch_item(&mut self, uid: u32, items: &[FetchItem<'_>]) -> Result<(), Error> {
        let Some(PendingKind::Fetch { want_uid, .. }) = self.pending.as_ref().map(|p| &p.kind)
        else {
            return Err(self.wrong("fetch_item"));
        };
        let want_uid = *want_uid && !items.iter().any(|i| matches!(i, FetchItem::Uid(_)));
        let State::Selected(sel) = &self.state else {
            return Err(self.wrong("fetch_item"));
        };
        let seq = sel.seq_of(uid).ok_or(Error::InvalidUid(uid))?;
        let mut w = self.writer();
        write_fetch(&mut w, seq, uid, want_uid, items);
        self.put(w);
        Ok(())
    }

    /// QRESYNC `UID FETCH ... (VANISHED)`: `* VANISHED (EARLIER) uids`.
    pub fn fetch_vanished(&mut self, uids: &[u32]) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Fetch { uid: true, .. })) {
            return Err(self.wrong("fetch_vanished"));
        }
        let mut v = uids.to_vec();
        v.sort_unstable();
        v.dedup();
        if let Some(r) = Ranges::from_sorted(&v) {
            self.data(&Data::Vanished {
                earlier: true,
                uids: r,
            });
        }
        Ok(())
    }

    /// A message's flags after STORE (not sent with `.SILENT`, except the MODSEQ that
    /// CONDSTORE requires).
    pub fn store_item(
        &mut self,
        uid: u32,
        flags: &[Flag],
        modseq: Option<u64>,
    ) -> Result<(), Error> {
        let Some(PendingKind::Store {
            uid: by_uid,
            silent,
        }) = self.pending.as_ref().map(|p| &p.kind)
        else {
            return Err(self.wrong("store_item"));
        };
        let (by_uid, silent) = (*by_uid, *silent);
        let State::Selected(sel) = &self.state else {
            return Err(self.wrong("store_item"));
        };
        let seq = sel.seq_of(uid).ok_or(Error::InvalidUid(uid))?;
        let modseq = modseq.filter(|_| self.condstore);
        let mut items = Vec::new();
        if !silent {
            items.push(FetchItem::Flags(
                flags.iter().cloned().map(FlagFetch::Flag).collect(),
            ));
        }
        if let Some(m) = modseq {
            items.push(FetchItem::ModSeq(m));
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut w = self.writer();
        write_fetch(&mut w, seq, uid, by_uid || modseq.is_some(), &items);
        self.put(w);
        Ok(())
    }

    /// Completes STORE; `modified` are the UIDs that failed UNCHANGEDSINCE (`[MODIFIED ...]`).
    pub fn store_ok(&mut self, modified: &[u32]) -> Result<(), Error> {
        let Some(PendingKind::Store { uid, .. }) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("store_ok"));
        };
        let uid = *uid;
        let mut nums: Vec<u32> = if uid {
            modified.to_vec()
        } else {
            let State::Selected(sel) = &self.state else {
                return Err(self.wrong("store_ok"));
            };
            modified.iter().filter_map(|&u| sel.seq_of(u)).collect()
        };
        nums.sort_unstable();
        nums.dedup();
        let code = Ranges::from_sorted(&nums).map(Code::Modified);
        let text = if code.is_some() {
            Some("Conditional STORE failed")
        } else {
            None
        };
        self.finish(Status::Ok, code, text);
        Ok(())
    }

    /// Answers SEARCH with the matching UIDs (ascending or not; unknown UIDs are ignored).
    /// `highest_modseq` is the highest mod-sequence among them (CONDSTORE `MODSEQ` searches).
    pub fn search_result(
        &mut self,
        uids: &[u32],
        highest_modseq: Option<u64>,
    ) -> Result<(), Error> {
        let Some(PendingKind::Search { uid, ret }) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("search_result"));
        };
        let (by_uid, ret) = (*uid, ret.clone());
        let tag = self.pending.as_ref().map(|p| p.tag.clone());
        let State::Selected(sel) = &self.state else {
            return Err(self.wrong("search_result"));
        };
        let mut found: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|&u| sel.seq_of(u).is_some())
            .collect();
        found.sort_unstable();
        found.dedup();
        let nums: Vec<u32> = if by_uid {
            found.clone()
        } else {
            found.iter().filter_map(|&u| sel.seq_of(u)).collect()
        };
        let modseq = highest_modseq.filter(|_| !found.is_empty());
        match ret {
            None if !self.rev2 => self.data(&Data::Search { nums, modseq }),
            ret => {
                let mut opts = ret.unwrap_or_default();
                let save = opts.contains(&SearchReturn::Save);
                opts.retain(|o| *o != SearchReturn::Save);
                if save {
                    let min_max: Vec<u32> = if opts.is_empty()
                        || opts.contains(&SearchReturn::All)
                        || opts.contains(&SearchReturn::Count)
                    {
                        found.clone()
                    } else {
                        let mut v = Vec::new();
                        if opts.contains(&SearchReturn::Min) {
                            v.extend(found.first());
                        }
                        if opts.contains(&SearchReturn::Max) {
                            v.extend(found.last());
                        }
                        v.sort_unstable();
                        v.dedup();
                        v
                    };
                    self.saved_search = Some(min_max);
                }
                if !(save && opts.is_empty()) {
                    if opts.is_empty() {
                        opts.push(SearchReturn::All);
                    }
                    let mut e = ESearch {
                        tag,
                        uid: by_uid,
                        ..Default::default()
                    };
                    if opts.contains(&SearchReturn::Min) {
                        e.min = nums.first().copied();
                    }
                    if opts.contains(&SearchReturn::Max) {
                        e.max = nums.last().copied();
                    }
                    if opts.contains(&SearchReturn::All) {
                        e.all = Ranges::from_sorted(&nums);
                    }
                    if opts.contains(&SearchReturn::Count) {
                        e.count = Some(nums.len() as u32);
                    }
                    e.modseq = modseq;
                    self.data(&Data::ESearch(e));
                }
            }
        }
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    /// Completes COPY (`[COPYUID ...]` if given).
    pub fn copy_ok(&mut self, copyuid: Option<CopyUid>) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::Copy)) {
            return Err(self.wrong("copy_ok"));
        }
        let code = copy_code(copyuid)?;
        self.finish(Status::Ok, code, None);
        Ok(())
    }

    /// Completes MOVE: `* OK [COPYUID ...]`, then the expunges of the moved messages, then OK.
    pub fn move_ok(&mut self, copyuid: Option<CopyUid>) -> Result<(), Error> {
        let Some(PendingKind::Move { uids }) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("move_ok"));
        };
        let uids = uids.clone();
        let moved: Vec<u32> = match &copyuid {
            Some(c) => c.source.clone(),
            None => uids,
        };
        if let Some(code) = copy_code(copyuid)? {
            self.respond(&crate::syntax::Response::Status {
                status: Status::Ok,
                code: Some(code),
                text: "Moved".into(),
            });
        }
        if let State::Selected(sel) = &mut self.state {
            sel.expunged.extend(moved);
        }
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    // ------------------------------------------------------------ ACL and QUOTA

    /// Answers GETACL: `* ACL mailbox (identifier rights)...`.
    pub fn acl_reply(&mut self, entries: Vec<(String, String)>) -> Result<(), Error> {
        let Some(PendingKind::GetAcl(m)) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("acl_reply"));
        };
        let mailbox = m.clone();
        self.data(&Data::Acl { mailbox, entries });
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    /// Answers LISTRIGHTS.
    pub fn listrights_reply(
        &mut self,
        required: String,
        optional: Vec<String>,
    ) -> Result<(), Error> {
        let Some(PendingKind::ListRights(m, id)) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("listrights_reply"));
        };
        let (mailbox, identifier) = (m.clone(), id.clone());
        self.data(&Data::ListRights {
            mailbox,
            identifier,
            required,
            optional,
        });
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    /// Answers MYRIGHTS.
    pub fn myrights_reply(&mut self, rights: String) -> Result<(), Error> {
        let Some(PendingKind::MyRights(m)) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("myrights_reply"));
        };
        let mailbox = m.clone();
        self.data(&Data::MyRights { mailbox, rights });
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    /// Answers GETQUOTA.
    pub fn quota_reply(
        &mut self,
        root: String,
        resources: Vec<QuotaResource>,
    ) -> Result<(), Error> {
        if !self.pending_is(|k| matches!(k, PendingKind::GetQuota)) {
            return Err(self.wrong("quota_reply"));
        }
        self.data(&Data::Quota { root, resources });
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    /// Answers GETQUOTAROOT: the roots, and the quota of each.
    pub fn quotaroot_reply(
        &mut self,
        roots: Vec<(String, Vec<QuotaResource>)>,
    ) -> Result<(), Error> {
        let Some(PendingKind::GetQuotaRoot(m)) = self.pending.as_ref().map(|p| &p.kind) else {
            return Err(self.wrong("quotaroot_reply"));
        };
        let mailbox = m.clone();
        self.data(&Data::QuotaRoot {
            mailbox,
            roots: roots.iter().map(|(r, _)| r.clone()).collect(),
        });
        for (root, resources) in roots {
            self.data(&Data::Quota { root, resources });
        }
        self.finish(Status::Ok, None, None);
        Ok(())
    }

    // ------------------------------------------------------------ mailbox updates

    fn selected_mut(&mut self, method: &'static str) -> Result<&mut Selected, Error> {
        if !matches!(self.state, State::Selected(_)) {
            return Err(Error::WrongState {
                method,
                state: "no mailbox is selected",
            });
        }
        match &mut self.state {
            State::Selected(s) => Ok(s),
            _ => unreachable!("checked above"),
        }
    }

    fn flush_if_idle(&mut self) {
        if matches!(self.mode, Mode::Idle) {
            self.flush_updates(true);
        }
    }

    /// New messages arrived in the selected mailbox (UIDs ascending, above every known UID).
    /// `* n EXISTS` is sent at the next point RFC 9051 allows (at once during IDLE).
    pub fn new_messages(&mut self, uids: &[u32]) -> Result<(), Error> {
        let sel = self.selected_mut("new_messages")?;
        let mut last = sel.last_reported_uid();
        for &u in uids {
            if u <= last {
                return Err(Error::InvalidUid(u));
            }
            last = u;
        }
        sel.new_uids.extend_from_slice(uids);
        self.flush_if_idle();
        Ok(())
    }

    /// A message left the selected mailbox. The EXPUNGE (or VANISHED) is sent, and the
    /// message numbers shift, only where RFC 9051 allows (never during FETCH, STORE or
    /// SEARCH by message number).
    pub fn message_expunged(&mut self, uid: u32) -> Result<(), Error> {
        let sel = self.selected_mut("message_expunged")?;
        if let Some(k) = sel.new_uids.iter().position(|&u| u == uid) {
            sel.new_uids.remove(k);
        } else if sel.seq_of(uid).is_some() {
            sel.expunged.push(uid);
        } else {
            return Err(Error::InvalidUid(uid));
        }
        self.flush_if_idle();
        Ok(())
    }

    /// A message's flags changed (by another session): `* n FETCH (FLAGS ... UID ...)`.
    pub fn flags_changed(
        &mut self,
        uid: u32,
        flags: &[Flag],
        modseq: Option<u64>,
    ) -> Result<(), Error> {
        let condstore = self.condstore;
        let sel = self.selected_mut("flags_changed")?;
        if sel.seq_of(uid).is_none() {
            if sel.new_uids.contains(&uid) {
                return Ok(());
            }
            return Err(Error::InvalidUid(uid));
        }
        sel.flag_updates.retain(|(u, ..)| *u != uid);
        sel.flag_updates.push((
            uid,
            flags.iter().cloned().map(FlagFetch::Flag).collect(),
            modseq.filter(|_| condstore),
        ));
        self.flush_if_idle();
        Ok(())
    }

    /// Sends `* OK [ALERT] text` (allowed at any time; clients show it to the user, e.g. a
    /// nearly full quota or a password that must be changed).
    pub fn alert(&mut self, text: &str) -> Result<(), Error> {
        if self.is_closed() {
            return Err(self.wrong("alert"));
        }
        self.respond(&crate::syntax::Response::Status {
            status: Status::Ok,
            code: Some(Code::Alert),
            text: text.into(),
        });
        Ok(())
    }

    /// The NAMESPACE the session answers (from the config).
    pub fn namespaces(&self) -> (&[NamespaceDesc], &[NamespaceDesc], &[NamespaceDesc]) {
        let n = &self.cfg.namespaces;
        (&n.personal, &n.other, &n.shared)
    }
}

fn copy_code(c: Option<CopyUid>) -> Result<Option<Code>, Error> {
    let Some(c) = c else { return Ok(None) };
    if c.source.len() != c.dest.len() || c.uid_validity == 0 {
        return Err(Error::InvalidValue(
            "CopyUid source and dest differ in length",
        ));
    }
    match (Ranges::from_sorted(&c.source), Ranges::from_sorted(&c.dest)) {
        (Some(source), Some(dest)) => Ok(Some(Code::CopyUid {
            uid_validity: c.uid_validity,
            source,
            dest,
        })),
        _ => Ok(None),
    }
}

fn write_fetch(w: &mut Writer, seq: u32, uid: u32, add_uid: bool, items: &[FetchItem<'_>]) {
    w.raw(b"* ");
    w.num(seq as u64);
    w.raw(b" FETCH (");
    let mut first = true;
    if add_uid {
        w.raw(b"UID ");
        w.num(uid as u64);
        first = false;
    }
    for it in items {
        if !first {
            w.byte(b' ');
        }
        first = false;
        it.write(w);
    }
    w.raw(b")\r\n");
}
