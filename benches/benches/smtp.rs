//! smtp-core next to its peers, in one criterion run:
//! - command parsing: `smtp_core::parse_command` vs `smtp_proto::Request::parse`, same lines;
//! - DATA: `append_input` + `DotUnstuffer` (copy into the input buffer as `Server::feed`
//!   does, unstuff, end detection), and `append_owned` + `DotUnstuffer` (the owned-input path of
//!   `Server::feed_bytes`, no copy) vs a memcpy of the same bytes.
//!
//! `cargo bench -p benches --bench smtp -- --warm-up-time 1 --measurement-time 3`
use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use smtp_core::{
    BareLinePolicy, Command, DecodeStatus, DotUnstuffer, MailParams, RcptParams, ReversePath,
    data::Simd, parse_command,
};

const LINES: &[&str] = &[
    "EHLO mail.client-example.org\r\n",
    "MAIL FROM:<alice.sender@example.org> SIZE=123456 BODY=8BITMIME\r\n",
    "RCPT TO:<bob.receiver@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob.receiver@example.net\r\n",
    "RCPT TO:<carol@sub.example.net>\r\n",
    "DATA\r\n",
    "BDAT 65536 LAST\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHMzY3JldA==\r\n",
    "QUIT\r\n",
];

/// What the server copies out of a parsed command for its event (only built, to be measured).
#[allow(dead_code)]
enum Owned {
    Helo(String),
    Mail(ReversePath<'static>, MailParams<'static>),
    Rcpt(String, RcptParams<'static>),
    Other,
}

fn owned(c: Command<'_>) -> Owned {
    match c {
        Command::Ehlo(d) | Command::Helo(d) => Owned::Helo(d.to_owned()),
        Command::Mail { from, params } => Owned::Mail(from.into_owned(), params.into_owned()),
        Command::Rcpt { to, params } => Owned::Rcpt(to.into_owned(), params.into_owned()),
        _ => Owned::Other,
    }
}

fn commands(c: &mut Criterion) {
    let bytes: usize = LINES.iter().map(|l| l.len()).sum();
    let mut g = c.benchmark_group("smtp_command_parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    // Both parsers must accept every line, or the comparison means nothing.
    for l in LINES {
        let b = l.as_bytes();
        assert!(parse_command(&b[..b.len() - 2]).is_ok(), "{l}");
        assert!(smtp_proto::Request::parse(&mut b.iter()).is_ok(), "{l}");
    }
    g.bench_function("smtp-core", |b| {
        b.iter(|| {
            for l in LINES {
                let l = l.as_bytes();
                let _ = black_box(parse_command(black_box(&l[..l.len() - 2])));
            }
        })
    });
    // The parse plus the owned copies the server makes for its events (`Event::MailFrom`,
    // `Event::RcptTo`, `Event::Helo` own their strings).
    g.bench_function("smtp-core + owned event", |b| {
        b.iter(|| {
            for l in LINES {
                let l = l.as_bytes();
                let _ = black_box(parse_command(black_box(&l[..l.len() - 2])).map(owned));
            }
        })
    });
    g.bench_function("smtp-proto", |b| {
        b.iter(|| {
            for l in LINES {
                let _ = black_box(smtp_proto::Request::parse(
                    &mut black_box(l.as_bytes()).iter(),
                ));
            }
        })
    });
    g.finish();
}

/// About 1 MiB of 76-character lines, CRLF.CRLF end. With `stuff_every` = 20, one line in 20
/// starts with a dot (stuffed): a pessimistic share, each stuffed dot splits the zero-copy
/// output. With 0 no line is stuffed, as in a base64 attachment.
fn message(stuff_every: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 << 20);
    let mut i = 0usize;
    while v.len() < (1 << 20) {
        if stuff_every > 0 && i.is_multiple_of(stuff_every) {
            v.extend_from_slice(b"..");
        }
        for j in 0..74 {
            v.push(b'A' + ((i + j) % 26) as u8);
        }
        v.extend_from_slice(b"\r\n");
        i += 1;
    }
    v.extend_from_slice(b".\r\n");
    v
}

/// Decodes `pieces` as `Server::feed_bytes` does (the buffers are taken over, no copy) and
/// returns the decoded chunks, so that freeing them (and the read buffers) happens outside
/// the timed routine, as the memcpy side frees nothing either. `out` comes preallocated.
fn unstuff_owned(pieces: Vec<BytesMut>, dec: DotUnstuffer, mut out: Vec<Bytes>) -> Vec<Bytes> {
    let mut dec = dec;
    let mut buf = BytesMut::new();
    let mut end = false;
    for piece in pieces {
        smtp_core::append_owned(&mut buf, piece);
        if dec.decode(&mut buf, &mut |chunk| out.push(chunk)) == DecodeStatus::End {
            end = true;
        }
    }
    assert!(end);
    out
}

fn data(c: &mut Criterion) {
    for (group, stuff_every) in [("smtp_data_1MiB", 20), ("smtp_data_1MiB_unstuffed", 0)] {
        let msg = message(stuff_every);
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Bytes(msg.len() as u64));
        // Reads arrive in 64 KiB pieces, as from a socket.
        g.bench_function("smtp-core unstuff", |b| {
            let mut buf = BytesMut::with_capacity(128 * 1024);
            b.iter(|| {
                let mut dec = DotUnstuffer::new(BareLinePolicy::Reject);
                let mut total = 0usize;
                let mut end = false;
                for piece in msg.chunks(64 * 1024) {
                    smtp_core::append_input(&mut buf, piece);
                    if dec.decode(&mut buf, &mut |chunk| total += chunk.len()) == DecodeStatus::End
                    {
                        end = true;
                    }
                }
                assert!(end);
                buf.clear();
                black_box(total)
            })
        });
        // The owned-input path (`Server::feed_bytes`): the host hands over the buffer its
        // socket read filled (that read is the one copy every host makes, the memcpy side
        // stands for it), so unstuffing is the scan plus the slicing, no second copy. The
        // read buffers are prepared outside the timed routine. "portable" forces the decoder
        // the crate uses on CPUs without AVX2 (SSE2 on x86-64), "avx2" the one for CPUs with AVX2 but
        // without AVX-512 (the default, "owned", picks the best this CPU has).
        let pieces = || {
            let p = msg
                .chunks(64 * 1024)
                .map(BytesMut::from)
                .collect::<Vec<_>>();
            (p, Vec::with_capacity(4096))
        };
        for (name, simd) in [
            ("smtp-core unstuff owned", Simd::Auto),
            ("smtp-core unstuff owned avx2", Simd::Avx2),
            ("smtp-core unstuff owned portable", Simd::Portable),
        ] {
            if simd != Simd::Auto && simd.effective() != simd {
                continue; // this CPU cannot run that copy
            }
            g.bench_function(name, |b| {
                b.iter_batched(
                    pieces,
                    |(p, out)| {
                        unstuff_owned(p, DotUnstuffer::new(BareLinePolicy::Reject).simd(simd), out)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        // memcpy of the same read buffers, prepared the same way (so both sides read input in
        // the same cache state), into one 64 KiB buffer: the target's baseline.
        g.bench_function("memcpy", |b| {
            let mut dst = vec![0u8; 64 * 1024];
            b.iter_batched(
                pieces,
                |(p, out)| {
                    for piece in &p {
                        dst[..piece.len()].copy_from_slice(piece);
                        black_box(&dst);
                    }
                    (p, out)
                },
                BatchSize::PerIteration,
            )
        });
        // memcpy from one source buffer reused by every iteration (hot in cache): a harder
        // baseline, reported for reference.
        g.bench_function("memcpy hot source", |b| {
            let mut dst = vec![0u8; 64 * 1024];
            b.iter(|| {
                for piece in msg.chunks(64 * 1024) {
                    dst[..piece.len()].copy_from_slice(black_box(piece));
                    black_box(&dst);
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, commands, data);
criterion_main!(benches);
