//! Property tests: parsers never panic; encode-then-parse gives the same value for commands
//! and responses (client codec <-> server parser, server writer <-> client parser); modified
//! UTF-7 round-trips; the server gives the same session for any split of the input.

mod common;

use std::borrow::Cow;

use imap_core::Secret;
use imap_core::client::encode_command;
use imap_core::render::{Partial, Section, SectionText};
use imap_core::syntax::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn atom_s() -> impl Strategy<Value = String> {
    "[A-Za-z0-9$_.-]{1,8}"
}
fn atom() -> impl Strategy<Value = Atom> {
    atom_s().prop_map(|s| Atom::new(s).unwrap())
}
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 .,:;!?()\\[\\]-]{0,20}"
}
fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[a-z收件箱已发送草稿\"\\\\ ]{0,8}",
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ]
}
/// Whether every string of `key` can be written in `charset` (GB2312 cannot hold emoji; the
/// writer would send an HTML numeric reference instead, which cannot round-trip).
fn representable(key: &SearchKey, charset: Option<&str>) -> bool {
    // No CHARSET, UTF-8 and US-ASCII: strings travel as UTF-8.
    let Some(enc) = charset
        .filter(|c| !c.eq_ignore_ascii_case("UTF-8") && !c.eq_ignore_ascii_case("US-ASCII"))
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
    else {
        return true;
    };
    let ok = |s: &str| !enc.encode(s).2;
    match key {
        SearchKey::Subject(s)
        | SearchKey::From(s)
        | SearchKey::Text(s)
        | SearchKey::Body(s)
        | SearchKey::Bcc(s)
        | SearchKey::Cc(s)
        | SearchKey::To(s) => ok(s),
        SearchKey::Header(h, v) => ok(h) && ok(v),
        SearchKey::Not(k) => representable(k, charset),
        SearchKey::Or(a, b) => representable(a, charset) && representable(b, charset),
        SearchKey::And(v) => v.iter().all(|k| representable(k, charset)),
        _ => true,
    }
}
fn mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![
        Just("INBOX".to_string()),
        "[A-Za-z0-9 &/._-]{1,12}",
        "(收件箱|已发送|草稿箱|已删除|垃圾邮件)(/[a-z&]{1,3})?",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
    .prop_filter_map("valid mailbox", |s| Mailbox::new(s).ok())
}
fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        "[$A-Za-z][A-Za-z0-9_]{0,8}".prop_map(|s| Flag::Keyword(Atom::new(s).unwrap())),
        "X[a-z]{1,6}".prop_map(|s| Flag::Extension(Atom::new(s).unwrap())),
    ]
}
fn ranges() -> impl Strategy<Value = Ranges> {
    let num = prop_oneof![
        4 => (1u32..=u32::MAX).prop_map(|n| SeqNum::Value(std::num::NonZeroU32::new(n).unwrap())),
        1 => Just(SeqNum::Star),
    ];
    vec((num.clone(), num), 1..5).prop_map(|v| {
        Ranges::new(
            v.into_iter()
                .map(|(start, end)| SeqRange { start, end })
                .collect(),
        )
        .unwrap()
    })
}
fn seq_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![9 => ranges().prop_map(SequenceSet::Ranges), 1 => Just(SequenceSet::Saved)]
}
fn date() -> impl Strategy<Value = Date> {
    (1900u16..2100, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}
fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -720i16..=840)
        .prop_map(|(d, h, m, s, z)| DateTime::new(d, h, m, s, z).unwrap())
}
fn search_key() -> impl Strategy<Value = SearchKey> {
    let leaf = prop_oneof![
        Just(SearchKey::All),
        Just(SearchKey::Answered),
        Just(SearchKey::Deleted),
        Just(SearchKey::Seen),
        Just(SearchKey::Unseen),
        Just(SearchKey::New),
        Just(SearchKey::Recent),
        Just(SearchKey::Undraft),
        any_string().prop_map(SearchKey::Subject),
        any_string().prop_map(SearchKey::From),
        any_string().prop_map(SearchKey::Text),
        any_string().prop_map(SearchKey::Body),
        (any_string(), any_string()).prop_map(|(h, v)| SearchKey::Header(h, v)),
        "[$A-Za-z][A-Za-z0-9]{0,6}".prop_map(|s| SearchKey::Keyword(Atom::new(s).unwrap())),
        date().prop_map(SearchKey::Since),
        date().prop_map(SearchKey::SentBefore),
        any::<u32>().prop_map(SearchKey::Larger),
        seq_set().prop_map(SearchKey::Uid),
        seq_set().prop_map(SearchKey::SequenceSet),
        (0u64..=i64::MAX as u64).prop_map(SearchKey::ModSeq),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..4).prop_map(SearchKey::And),
        ]
    })
}
fn section() -> impl Strategy<Value = Section> {
    let names = vec("[A-Za-z-]{1,10}", 1..4);
    let part = vec(1u32..20, 0..4);
    (part, 0u8..6, names).prop_map(|(part, t, names)| {
        let text = match t {
            0 => None,
            1 => Some(SectionText::Header),
            2 => Some(SectionText::HeaderFields(names)),
            3 => Some(SectionText::HeaderFieldsNot(names)),
            4 => Some(SectionText::Text),
            _ if !part.is_empty() => Some(SectionText::Mime),
            _ => Some(SectionText::Text),
        };
        Section { part, text }
    })
}
fn partial() -> impl Strategy<Value = Option<Partial>> {
    option::of((any::<u32>(), 1u32..).prop_map(|(start, length)| Partial { start, length }))
}
fn fetch_attr() -> impl Strategy<Value = FetchAttr> {
    prop_oneof![
        Just(FetchAttr::Envelope),
        Just(FetchAttr::Flags),
        Just(FetchAttr::InternalDate),
        Just(FetchAttr::Rfc822Size),
        Just(FetchAttr::Rfc822),
        Just(FetchAttr::Rfc822Header),
        Just(FetchAttr::Body),
        Just(FetchAttr::BodyStructure),
        Just(FetchAttr::Uid),
        Just(FetchAttr::ModSeq),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| {
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), vec(1u32..9, 0..3), partial()).prop_map(|(peek, part, partial)| {
            FetchAttr::Binary {
                peek,
                part,
                partial,
            }
        }),
        vec(1u32..9, 0..3).prop_map(|part| FetchAttr::BinarySize { part }),
    ]
}
fn status_item() -> impl Strategy<Value = StatusItem> {
    prop_oneof![
        Just(StatusItem::Messages),
        Just(StatusItem::Recent),
        Just(StatusItem::UidNext),
        Just(StatusItem::UidValidity),
        Just(StatusItem::Unseen),
        Just(StatusItem::Deleted),
        Just(StatusItem::Size),
        Just(StatusItem::HighestModSeq),
    ]
}
fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z%*/&]{1,8}",
        "(收件箱|已发送)[%*]?",
        Just(String::new())
    ]
}

fn command_body() -> impl Strategy<Value = CommandBody> {
    let simple = prop_oneof![
        Just(CommandBody::Capability),
        Just(CommandBody::Noop),
        Just(CommandBody::Logout),
        Just(CommandBody::StartTls),
        Just(CommandBody::Namespace),
        Just(CommandBody::Check),
        Just(CommandBody::Close),
        Just(CommandBody::Unselect),
        Just(CommandBody::Expunge),
        Just(CommandBody::Idle),
        (any_string(), vec(any::<u8>(), 0..20)).prop_map(|(username, p)| CommandBody::Login {
            username,
            password: Secret::new(p)
        }),
        (atom(), option::of("[A-Za-z0-9+/]{1,20}={0,2}")).prop_map(|(mechanism, i)| {
            CommandBody::Authenticate {
                mechanism,
                initial: i.map(Secret::new),
            }
        }),
        vec(atom(), 1..4).prop_map(CommandBody::Enable),
        option::of(vec((any_string(), option::of(any_string())), 0..4)).prop_map(CommandBody::Id),
        mailbox().prop_map(CommandBody::Delete),
        mailbox().prop_map(CommandBody::Subscribe),
        (mailbox(), mailbox()).prop_map(|(from, to)| CommandBody::Rename { from, to }),
        (mailbox(), vec(atom(), 0..3)).prop_map(|(mailbox, special_use)| CommandBody::Create {
            mailbox,
            special_use
        }),
        (mailbox(), vec(status_item(), 1..4))
            .prop_map(|(mailbox, items)| CommandBody::Status { mailbox, items }),
        mailbox().prop_map(CommandBody::GetAcl),
        mailbox().prop_map(CommandBody::MyRights),
        mailbox().prop_map(CommandBody::GetQuotaRoot),
        any_string().prop_map(CommandBody::GetQuota),
        (mailbox(), any_string(), "[+-]?[a-z]{0,6}").prop_map(|(mailbox, identifier, rights)| {
            CommandBody::SetAcl {
                mailbox,
                identifier,
                rights,
            }
        }),
        (mailbox(), any_string()).prop_map(|(mailbox, identifier)| CommandBody::ListRights {
            mailbox,
            identifier
        }),
        (any_string(), vec((atom(), 0u64..1 << 40), 0..3)).prop_map(|(root, l)| {
            CommandBody::SetQuota {
                root,
                limits: l
                    .into_iter()
                    .map(|(resource, limit)| QuotaLimit { resource, limit })
                    .collect(),
            }
        }),
    ];
    let selected =
        prop_oneof![
            (
                any::<bool>(),
                seq_set(),
                vec(fetch_attr(), 1..5),
                option::of(1u64..1 << 50),
                any::<bool>()
            )
                .prop_map(|(uid, set, attrs, cs, v)| CommandBody::Fetch {
                    uid,
                    set,
                    attrs,
                    modifiers: FetchModifiers {
                        changed_since: cs,
                        vanished: v && uid && cs.is_some()
                    }
                }),
            (
                any::<bool>(),
                seq_set(),
                option::of(0u64..1 << 50),
                0u8..3,
                any::<bool>(),
                vec(flag(), 0..4)
            )
                .prop_map(|(uid, set, unchanged_since, a, silent, flags)| {
                    CommandBody::Store {
                        uid,
                        set,
                        unchanged_since,
                        action: [StoreAction::Replace, StoreAction::Add, StoreAction::Remove]
                            [a as usize],
                        silent,
                        flags,
                    }
                }),
            (
                any::<bool>(),
                // GB2312 / GBK / GB18030: the writer encodes the strings in the charset and
                // the parser decodes them back (every generated string is representable).
                option::of(prop_oneof![
                    Just("UTF-8".to_string()),
                    Just("US-ASCII".to_string()),
                    Just("GB2312".to_string()),
                    Just("gbk".to_string()),
                    Just("GB18030".to_string())
                ]),
                option::of(vec(
                    prop_oneof![
                        Just(SearchReturn::Min),
                        Just(SearchReturn::Max),
                        Just(SearchReturn::All),
                        Just(SearchReturn::Count),
                        Just(SearchReturn::Save)
                    ],
                    0..3
                )),
                vec(search_key(), 1..4)
            )
                .prop_filter("strings the charset can hold", |(_, charset, _, keys)| {
                    keys.iter().all(|k| representable(k, charset.as_deref()))
                })
                .prop_map(|(uid, charset, ret, keys)| CommandBody::Search {
                    uid,
                    charset,
                    ret,
                    criteria: SearchKey::And(keys)
                }),
            (any::<bool>(), seq_set(), mailbox())
                .prop_map(|(uid, set, mailbox)| CommandBody::Copy { uid, set, mailbox }),
            (any::<bool>(), seq_set(), mailbox())
                .prop_map(|(uid, set, mailbox)| CommandBody::Move { uid, set, mailbox }),
            seq_set().prop_map(CommandBody::UidExpunge),
            (
                mailbox(),
                any::<bool>(),
                option::of((
                    1u32..,
                    0u64..1 << 50,
                    option::of(ranges()),
                    option::of((ranges(), ranges()))
                ))
            )
                .prop_map(|(mailbox, condstore, q)| CommandBody::Select {
                    mailbox,
                    params: SelectParams {
                        condstore,
                        qresync: q.map(|(uid_validity, modseq, known_uids, seq_match)| {
                            QresyncParams {
                                uid_validity,
                                modseq,
                                known_uids,
                                seq_match,
                            }
                        })
                    }
                }),
            (
                mailbox(),
                vec(
                    (
                        vec(flag(), 0..3),
                        option::of(date_time()),
                        vec(any::<u8>(), 0..40)
                    ),
                    1..3
                )
            )
                .prop_map(|(mailbox, m)| CommandBody::Append {
                    mailbox,
                    messages: m
                        .into_iter()
                        .map(|(flags, date, data)| AppendMessage { flags, date, data })
                        .collect()
                }),
            (
                any::<[bool; 4]>(),
                prop_oneof![
                    Just(String::new()),
                    Just("inbox".to_string()),
                    "[A-Za-z/]{1,6}"
                ],
                vec(pattern(), 1..3),
                any::<[bool; 3]>(),
                option::of(vec(status_item(), 1..3))
            )
                .prop_filter_map(
                    "single empty pattern is a different query",
                    |(s, reference, patterns, r, st)| {
                        if patterns.len() > 1 && patterns.iter().any(String::is_empty) {
                            return None;
                        }
                        Some(CommandBody::List {
                            select: ListSelect {
                                subscribed: s[0],
                                remote: s[1],
                                recursive_match: s[2] && (s[0] || s[3]),
                                special_use: s[3],
                            },
                            reference,
                            patterns,
                            ret: ListReturn {
                                subscribed: r[0],
                                children: r[1],
                                special_use: r[2],
                                status: st,
                            },
                        })
                    }
                ),
        ];
    prop_oneof![simple, selected]
}

fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,6}".prop_map(|s| Tag::new(s).unwrap())
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![
        Just(Code::Alert),
        Just(Code::TryCreate),
        Just(Code::ReadOnly),
        Just(Code::OverQuota),
        Just(Code::AuthenticationFailed),
        Just(Code::Unavailable),
        Just(Code::Cannot),
        Just(Code::Limit),
        Just(Code::NoPerm),
        Just(Code::Closed),
        Just(Code::TooBig),
        Just(Code::NoModSeq),
        (1u32.., ranges()).prop_map(|(uid_validity, uids)| Code::AppendUid { uid_validity, uids }),
        (1u32.., ranges(), ranges()).prop_map(|(uid_validity, source, dest)| Code::CopyUid {
            uid_validity,
            source,
            dest
        }),
        (1u32..).prop_map(Code::UidNext),
        (1u32..).prop_map(Code::UidValidity),
        (0u64..=i64::MAX as u64).prop_map(Code::HighestModSeq),
        ranges().prop_map(Code::Modified),
        vec("[A-Z0-9-]{1,8}", 0..3).prop_map(Code::BadCharset),
        vec(
            prop_oneof![flag().prop_map(FlagPerm::Flag), Just(FlagPerm::Wildcard)],
            0..4
        )
        .prop_map(Code::PermanentFlags),
        vec(
            prop_oneof![
                Just(Capability::Imap4rev2),
                Just(Capability::Idle),
                Just(Capability::LiteralPlus),
                Just(Capability::Auth(Atom::new("PLAIN").unwrap())),
                Just(Capability::AppendLimit(Some(1000))),
                "X-[A-Z]{1,5}".prop_map(|s| Capability::Other(Atom::new(s).unwrap()))
            ],
            0..4
        )
        .prop_map(Code::Capability),
        ("X[A-Z]{1,6}", option::of("[a-z0-9 ]{0,10}"))
            .prop_map(|(a, t)| Code::Other(Atom::new(a).unwrap(), t)),
    ]
}

fn fetch_item() -> impl Strategy<Value = FetchItem<'static>> {
    let data = || vec(any::<u8>(), 0..30).prop_map(Cow::Owned);
    prop_oneof![
        vec(prop_oneof![flag().prop_map(FlagFetch::Flag), Just(FlagFetch::Recent)], 0..4).prop_map(FetchItem::Flags),
        (1u32..).prop_map(FetchItem::Uid),
        date_time().prop_map(FetchItem::InternalDate),
        any::<u32>().prop_map(FetchItem::Rfc822Size),
        (0u64..=i64::MAX as u64).prop_map(FetchItem::ModSeq),
        Just(FetchItem::Envelope(Cow::Borrowed(
            b"(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hi\" ((\"A\" NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL NIL \"<x@y>\")"
        ))),
        Just(FetchItem::BodyStructure(Cow::Borrowed(
            b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"GB2312\") NIL NIL \"BASE64\" {4}\r\n1234 3 NIL NIL NIL NIL)"
        ))),
        (section(), option::of(any::<u32>()), option::of(data())).prop_map(|(section, origin, data)| {
            FetchItem::BodySection { section, origin, data }
        }),
        (vec(1u32..9, 0..3), option::of(any::<u32>()), option::of(data())).prop_map(|(part, origin, data)| {
            FetchItem::Binary { part, origin, data }
        }),
        (vec(1u32..9, 0..3), any::<u32>()).prop_map(|(part, size)| FetchItem::BinarySize { part, size }),
        option::of(data()).prop_map(FetchItem::Rfc822),
        option::of(data()).prop_map(FetchItem::Rfc822Text),
    ]
}

fn list_item() -> impl Strategy<Value = ListItem> {
    (
        vec(
            prop_oneof![
                Just(ListAttr::NoSelect),
                Just(ListAttr::HasChildren),
                Just(ListAttr::Sent),
                Just(ListAttr::Junk),
                "X[a-z]{1,5}".prop_map(|s| ListAttr::Other(Atom::new(s).unwrap()))
            ],
            0..3,
        ),
        prop_oneof![
            Just(Some('/')),
            Just(Some('.')),
            Just(Some('\\')),
            Just(None)
        ],
        mailbox(),
        any::<bool>(),
    )
        .prop_map(
            |(attributes, delimiter, mailbox, child_subscribed)| ListItem {
                attributes,
                delimiter,
                mailbox,
                child_subscribed,
            },
        )
}

fn ns() -> impl Strategy<Value = Vec<NamespaceDesc>> {
    vec(
        (
            prop_oneof![Just(String::new()), "[A-Za-z ]{1,8}/", "(其他用户|共享)/"],
            prop_oneof![Just(Some('/')), Just(None)],
        )
            .prop_map(|(prefix, delimiter)| NamespaceDesc { prefix, delimiter }),
        0..3,
    )
}

fn quota() -> impl Strategy<Value = Vec<QuotaResource>> {
    vec(
        (atom(), 0u64..1 << 40, 0u64..1 << 40).prop_map(|(name, usage, limit)| QuotaResource {
            name,
            usage,
            limit,
        }),
        0..3,
    )
}

fn data() -> impl Strategy<Value = Data<'static>> {
    prop_oneof![
        (1u32.., vec(fetch_item(), 1..4)).prop_map(|(seq, items)| Data::Fetch { seq, items }),
        any::<u32>().prop_map(Data::Exists),
        any::<u32>().prop_map(Data::Recent),
        (1u32..).prop_map(Data::Expunge),
        vec(flag(), 0..5).prop_map(Data::Flags),
        list_item().prop_map(Data::List),
        list_item().prop_map(Data::Lsub),
        (
            mailbox(),
            vec(
                (status_item(), 0u64..1 << 40)
                    .prop_map(|(item, value)| StatusValue { item, value }),
                0..4
            )
        )
            .prop_map(|(mailbox, items)| Data::Status { mailbox, items }),
        (vec(1u32.., 0..6), option::of(0u64..1 << 50))
            .prop_map(|(nums, modseq)| Data::Search { nums, modseq }),
        (
            option::of(tag()),
            any::<bool>(),
            option::of(1u32..),
            option::of(1u32..),
            option::of(ranges()),
            option::of(any::<u32>()),
            option::of(0u64..1 << 50)
        )
            .prop_map(
                |(tag, uid, min, max, all, count, modseq)| Data::ESearch(ESearch {
                    tag,
                    uid,
                    min,
                    max,
                    all,
                    count,
                    modseq
                })
            ),
        (any::<bool>(), ranges()).prop_map(|(earlier, uids)| Data::Vanished { earlier, uids }),
        option::of(vec((any_string(), option::of(any_string())), 0..3)).prop_map(Data::Id),
        (ns(), ns(), ns()).prop_map(|(personal, other, shared)| Data::Namespace {
            personal,
            other,
            shared
        }),
        (mailbox(), vec((any_string(), "[a-z]{0,8}"), 0..3))
            .prop_map(|(mailbox, entries)| Data::Acl { mailbox, entries }),
        (
            mailbox(),
            any_string(),
            "[a-z]{0,4}",
            vec("[a-z0-9]{1,4}", 0..3)
        )
            .prop_map(
                |(mailbox, identifier, required, optional)| Data::ListRights {
                    mailbox,
                    identifier,
                    required,
                    optional
                }
            ),
        (mailbox(), "[a-z]{0,8}").prop_map(|(mailbox, rights)| Data::MyRights { mailbox, rights }),
        (any_string(), quota()).prop_map(|(root, resources)| Data::Quota { root, resources }),
        (mailbox(), vec(any_string(), 0..3))
            .prop_map(|(mailbox, roots)| Data::QuotaRoot { mailbox, roots }),
        vec(
            prop_oneof![Just(Capability::Imap4rev1), Just(Capability::Condstore)],
            0..3
        )
        .prop_map(Data::Capability),
        vec(
            prop_oneof![Just(Capability::Utf8Accept), Just(Capability::Qresync)],
            0..3
        )
        .prop_map(Data::Enabled),
    ]
}

fn response() -> impl Strategy<Value = Response<'static>> {
    let status = prop_oneof![Just(Status::Ok), Just(Status::No), Just(Status::Bad)];
    prop_oneof![
        (tag(), status.clone(), option::of(code()), text()).prop_map(
            |(tag, status, code, text)| Response::Tagged {
                tag,
                status,
                code,
                text
            }
        ),
        (status, option::of(code()), text()).prop_map(|(status, code, text)| Response::Status {
            status,
            code,
            text
        }),
        (option::of(code()), text()).prop_map(|(code, text)| Response::Bye { code, text }),
        (option::of(code()), text()).prop_map(|(code, text)| Response::PreAuth { code, text }),
        prop_oneof![Just(String::new()), text()]
            .prop_map(|text| Response::Continue { code: None, text }),
        data().prop_map(Response::Data),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn command_round_trip(tag in tag(), body in command_body(), literal_plus in any::<bool>(), utf8 in any::<bool>()) {
        let cmd = Command { tag, body };
        let enc = encode_command(&cmd, literal_plus, utf8);
        let parsed = parse_command(&enc.bytes, utf8);
        prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "wire: {:?}", String::from_utf8_lossy(&enc.bytes));
        if literal_plus {
            prop_assert!(enc.sync_points.is_empty());
        }
    }

    #[test]
    fn response_round_trip(resp in response(), utf8 in any::<bool>()) {
        let mut w = Writer::new(utf8);
        resp.write(&mut w);
        let parsed = parse_response(&w.buf, utf8);
        prop_assert_eq!(parsed.as_ref(), Ok(&resp), "wire: {:?}", String::from_utf8_lossy(&w.buf));
        // and through the client's framer, in two pieces
        let mut r = imap_core::client::ResponseReader::new(1 << 20);
        r.utf8 = utf8;
        let mid = w.buf.len() / 2;
        r.feed(&w.buf[..mid]);
        let first = r.next_response();
        r.feed(&w.buf[mid..]);
        let got = match first { Some(x) => x, None => r.next_response().expect("complete") };
        prop_assert_eq!(got, Ok(resp));
    }

    #[test]
    fn parsers_never_panic(input in vec(any::<u8>(), 0..300), utf8 in any::<bool>()) {
        let _ = parse_command(&input, utf8);
        let _ = parse_response(&input, utf8);
    }

    #[test]
    fn parsers_never_panic_on_near_valid(tag in tag(), body in command_body(), cut in any::<prop::sample::Index>(), flip in any::<u8>()) {
        let mut bytes = Command { tag, body }.to_bytes();
        let k = cut.index(bytes.len());
        bytes[k] ^= flip;
        let _ = parse_command(&bytes, true);
        bytes.truncate(k);
        prop_assert!(parse_command(&bytes, true).is_err() || bytes.ends_with(b"\n"));
    }

    #[test]
    fn framer_finds_exactly_each_command(cmds in vec((tag(), command_body()), 1..4), cut in any::<prop::sample::Index>()) {
        use imap_core::framer::{Frame, frame_command};
        let wire: Vec<Vec<u8>> = cmds.into_iter().map(|(tag, body)| Command { tag, body }.to_bytes()).collect();
        let all: Vec<u8> = wire.concat();
        let mut rest = &all[..];
        for w in &wire {
            prop_assert_eq!(frame_command(rest, 1 << 20, 1 << 20), Frame::Complete(w.len()));
            // any strict prefix is incomplete
            let k = cut.index(w.len());
            prop_assert_eq!(frame_command(&w[..k], 1 << 20, 1 << 20), Frame::Incomplete);
            rest = &rest[w.len()..];
        }
    }

    #[test]
    fn utf7_round_trip(s in any::<String>()) {
        let enc = encode_utf7(&s);
        prop_assert!(enc.is_ascii());
        prop_assert_eq!(decode_utf7(&enc).unwrap(), s);
    }

    #[test]
    fn ranges_expand_matches_contains(r in ranges(), max in 0u32..200) {
        let e = r.expand(max);
        for n in 1..=max {
            prop_assert_eq!(e.contains(&n), r.contains(n, max));
        }
        prop_assert!(e.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn from_sorted_round_trips(mut v in vec(1u32..1000, 0..50)) {
        v.sort_unstable();
        v.dedup();
        match Ranges::from_sorted(&v) {
            None => prop_assert!(v.is_empty()),
            Some(r) => prop_assert_eq!(r.expand(1000), v),
        }
    }

    #[test]
    fn server_session_is_split_invariant(splits in vec(1usize..64, 1..40)) {
        let input = format!(
            "{}a SELECT INBOX\r\nb UID FETCH 1:* (FLAGS BODY.PEEK[])\r\nc APPEND INBOX {{5+}}\r\nhello\r\n\
             d SEARCH OR 1:2 FLAGGED\r\ne LOGOUT\r\n",
            common::LOGIN
        );
        let (whole, _) = common::run_chunked(common::config(), input.as_bytes(), usize::MAX);
        let mut s = imap_core::Server::new(common::config());
        let mut host = common::Host::default();
        let mut out = Vec::new();
        let mut rest = input.as_bytes();
        let mut k = 0;
        while !rest.is_empty() {
            let n = splits[k % splits.len()].min(rest.len());
            s.feed(&rest[..n]);
            rest = &rest[n..];
            k += 1;
            host.drive(&mut s);
            out.extend_from_slice(s.transmit());
            let len = s.transmit().len();
            s.consume(len);
        }
        prop_assert_eq!(String::from_utf8_lossy(&out), whole);
    }
}
