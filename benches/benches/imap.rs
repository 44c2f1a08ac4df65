//! imap-core next to imap-codec in one criterion run.
//!
//! 1. `parse_client_traffic`: a corpus of realistic client commands (FETCH, UID FETCH, STORE,
//!    SEARCH, APPEND with literals, a few others) parsed command by command. imap-core runs
//!    its two stages (framer, then nom grammar); imap-codec runs its `CommandCodec` decoder
//!    on the same bytes. Both produce owned/borrowed typed commands.
//! 2. `encode_fetch_10k`: writing `* n FETCH (UID FLAGS RFC822.SIZE BODY[HEADER] {..})` for
//!    10,000 messages with each crate's response encoder.
//!
//! Run: `cargo bench -p benches --bench imap -- --warm-up-time 1 --measurement-time 3`
use std::hint::black_box;
use std::num::NonZeroU32;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::{CommandCodec, ResponseCodec};
use imap_core::framer::{Frame, frame_command};
use imap_core::render::{Section, SectionText};
use imap_core::syntax::{Data, FetchItem, Flag, FlagFetch, Writer, parse_command};

/// Realistic traffic: what Thunderbird, Outlook, iOS Mail and Foxmail send in a session.
/// (Only syntax both crates accept: imap-codec's default features lack ESEARCH `RETURN` and
/// CONDSTORE modifiers.)
fn corpus() -> Vec<u8> {
    let mut c = String::new();
    let msg = "From: \"张三\" <zhang@example.edu.cn>\r\nTo: li@example.edu.cn\r\n\
               Subject: =?UTF-8?B?5Lya6K6u6YCa55+l?=\r\nDate: Mon, 1 Jan 2024 10:00:00 +0800\r\n\
               Message-ID: <1234@example.edu.cn>\r\nMIME-Version: 1.0\r\n\
               Content-Type: text/plain; charset=UTF-8\r\n\r\n"
        .to_string()
        + &"明天上午十点在三楼会议室开会。Please be on time.\r\n".repeat(20);
    for k in 0..40u32 {
        let t = |s: &str| format!("A{k}{s}");
        c += &t(&format!(
            " UID FETCH {}:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
            1000 + k
        ));
        c += &t(" FETCH 1:50 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE UID)\r\n");
        c += &t(&format!(
            " UID FETCH {} (UID BODY.PEEK[1.2]<0.16384> BODY.PEEK[1.MIME])\r\n",
            4000 + k
        ));
        c += &t(&format!(
            " UID STORE {}:{} +FLAGS.SILENT (\\Seen $Forwarded)\r\n",
            10 + k,
            20 + k
        ));
        c += &t(" STORE 3,5,7:9 -FLAGS (\\Flagged)\r\n");
        c += &t(" UID SEARCH CHARSET UTF-8 OR (UNSEEN SINCE 1-Jan-2024) FLAGGED NOT DELETED\r\n");
        c += &t(&format!(
            " SEARCH CHARSET UTF-8 SUBJECT {{{}}}\r\n会议通知 UID 1:*\r\n",
            "会议通知".len()
        ));
        c += &t(&format!(
            " APPEND \"Sent Items\" (\\Seen) \" 1-Jan-2024 10:00:00 +0800\" {{{}}}\r\n{msg}\r\n",
            msg.len()
        ));
        c += &t(" NOOP\r\n");
        c += &t(" UID FETCH 1:* (FLAGS)\r\n");
    }
    c.into_bytes()
}

fn bench_parse(c: &mut Criterion) {
    let corpus = corpus();
    let mut g = c.benchmark_group("parse_client_traffic");
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.bench_function("imap-core", |b| {
        b.iter(|| {
            let mut rest: &[u8] = &corpus;
            let mut n = 0;
            while !rest.is_empty() {
                let Frame::Complete(len) = frame_command(rest, 64 * 1024, 1 << 20) else {
                    panic!("corpus frames")
                };
                let cmd = parse_command(&rest[..len], false).expect("corpus parses");
                black_box(&cmd);
                rest = &rest[len..];
                n += 1;
            }
            assert_eq!(n, 400);
        })
    });
    g.bench_function("imap-codec", |b| {
        let codec = CommandCodec::default();
        b.iter(|| {
            let mut rest: &[u8] = &corpus;
            let mut n = 0;
            while !rest.is_empty() {
                let (r, cmd) = codec.decode(rest).expect("corpus parses");
                black_box(&cmd);
                rest = r;
                n += 1;
            }
            assert_eq!(n, 400);
        })
    });
    g.finish();
}

fn header(uid: u32) -> Vec<u8> {
    format!(
        "From: \"Zhang San\" <zhang@example.edu.cn>\r\nTo: li@example.edu.cn\r\nSubject: Report {uid}\r\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0800\r\nMessage-ID: <{uid}@example.edu.cn>\r\n\r\n"
    )
    .into_bytes()
}

fn bench_encode(c: &mut Criterion) {
    const N: u32 = 10_000;
    let headers: Vec<Vec<u8>> = (1..=N).map(header).collect();
    let mut g = c.benchmark_group("encode_fetch_10k");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("imap-core", |b| {
        let mut w = Writer::new(false);
        let section = Section {
            part: vec![],
            text: Some(SectionText::Header),
        };
        b.iter(|| {
            w.buf.clear();
            for (k, h) in headers.iter().enumerate() {
                let uid = 1000 + k as u32;
                Data::Fetch {
                    seq: k as u32 + 1,
                    items: vec![
                        FetchItem::Uid(uid),
                        FetchItem::Flags(vec![
                            FlagFetch::Flag(Flag::Seen),
                            FlagFetch::Flag(Flag::Answered),
                        ]),
                        FetchItem::Rfc822Size(4000 + k as u32),
                        FetchItem::BodySection {
                            section: section.clone(),
                            origin: None,
                            data: Some(h.as_slice().into()),
                        },
                    ],
                }
                .write(&mut w);
            }
            black_box(w.buf.len())
        })
    });
    g.bench_function("imap-codec", |b| {
        use imap_codec::imap_types::core::{IString, Literal, NString};
        use imap_codec::imap_types::fetch::{MessageDataItem, Section as CSection};
        use imap_codec::imap_types::flag::{Flag as CFlag, FlagFetch as CFlagFetch};
        use imap_codec::imap_types::response::{Data as CData, Response};
        let codec = ResponseCodec::default();
        let mut out: Vec<u8> = Vec::new();
        b.iter(|| {
            out.clear();
            for (k, h) in headers.iter().enumerate() {
                let uid = 1000 + k as u32;
                let items = vec![
                    MessageDataItem::Uid(NonZeroU32::new(uid).unwrap()),
                    MessageDataItem::Flags(vec![
                        CFlagFetch::Flag(CFlag::Seen),
                        CFlagFetch::Flag(CFlag::Answered),
                    ]),
                    MessageDataItem::Rfc822Size(4000 + k as u32),
                    MessageDataItem::BodyExt {
                        section: Some(CSection::Header(None)),
                        origin: None,
                        data: NString(Some(IString::Literal(
                            Literal::try_from(h.as_slice()).unwrap(),
                        ))),
                    },
                ];
                let resp = Response::Data(CData::fetch(k as u32 + 1, items).unwrap());
                out.extend_from_slice(&codec.encode(&resp).dump());
            }
            black_box(out.len())
        })
    });
    g.finish();
}

/// Both encoders write the same bytes (checked once, outside the measurement).
fn check_same_output() {
    use imap_codec::imap_types::core::{IString, Literal, NString};
    use imap_codec::imap_types::fetch::{MessageDataItem, Section as CSection};
    use imap_codec::imap_types::flag::{Flag as CFlag, FlagFetch as CFlagFetch};
    use imap_codec::imap_types::response::{Data as CData, Response};
    let h = header(7);
    let mut w = Writer::new(false);
    Data::Fetch {
        seq: 1,
        items: vec![
            FetchItem::Uid(7),
            FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
            FetchItem::Rfc822Size(4000),
            FetchItem::BodySection {
                section: Section {
                    part: vec![],
                    text: Some(SectionText::Header),
                },
                origin: None,
                data: Some(h.as_slice().into()),
            },
        ],
    }
    .write(&mut w);
    let items = vec![
        MessageDataItem::Uid(NonZeroU32::new(7).unwrap()),
        MessageDataItem::Flags(vec![CFlagFetch::Flag(CFlag::Seen)]),
        MessageDataItem::Rfc822Size(4000),
        MessageDataItem::BodyExt {
            section: Some(CSection::Header(None)),
            origin: None,
            data: NString(Some(IString::Literal(
                Literal::try_from(h.as_slice()).unwrap(),
            ))),
        },
    ];
    let theirs = ResponseCodec::default()
        .encode(&Response::Data(CData::fetch(1, items).unwrap()))
        .dump();
    assert_eq!(
        String::from_utf8_lossy(&w.buf),
        String::from_utf8_lossy(&theirs),
        "both encoders must write the same response"
    );
}

fn all(c: &mut Criterion) {
    check_same_output();
    bench_parse(c);
    bench_encode(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
