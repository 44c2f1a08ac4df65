//! POP3 RETR encoding (byte-stuffing, CRLF normalisation, output draining) of a 10 MB message,
//! side by side with a memcpy of the same 10 MB into a preallocated buffer.
//!
//! `retr_*` hand every output slice to the "socket" (`black_box`) without copying it, as a host
//! writing `transmit()` directly does; `retr_*_copy_out` also copy the output into a buffer.
//! The message has 76-column lines and a dot-stuffed line every 50 lines.
//!
//! Two groups: `pop3_retr_10mb` measures wall time (criterion's default); `pop3_retr_10mb_cpu`
//! measures the CPU time of the benchmark thread (`/proc/thread-self/schedstat`, nanoseconds),
//! which does not count time spent descheduled on a shared, overloaded machine.
//!
//! Run: `cargo bench -p benches --bench pop3 -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pop3_core::{Config, Event, MessageInfo, Server, Uid};

const SIZE: usize = 10 * 1024 * 1024;

/// A 10 MB message of 76-column lines (like a base64 attachment), every 50th line starting
/// with a dot, with the given line ending.
fn message(eol: &[u8]) -> Bytes {
    let mut m = Vec::with_capacity(SIZE + 128);
    m.extend_from_slice(b"From: a@example.edu");
    m.extend_from_slice(eol);
    m.extend_from_slice(b"Subject: big");
    m.extend_from_slice(eol);
    m.extend_from_slice(eol);
    let mut i = 0usize;
    while m.len() < SIZE {
        if i.is_multiple_of(50) {
            m.push(b'.');
        }
        for k in 0..76 {
            m.push(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i + k) % 64],
            );
        }
        m.extend_from_slice(eol);
        i += 1;
    }
    m.truncate(SIZE);
    Bytes::from(m)
}

/// The obvious slow reference: bare LF to CRLF, CRLF added at the end if missing.
fn normalise(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() * 2);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if out.ends_with(b"\r") {
        out.push(b'\n');
    } else if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A session in TRANSACTION that has just raised `Event::Retrieve` for message 1.
fn session_at_retr(size: u64) -> Server {
    let config = Config {
        allow_plaintext_auth: true,
        ..Config::default()
    };
    let mut s = Server::new(config, Instant::now()).expect("config");
    s.feed(b"USER a@example.edu\r\nPASS pw\r\nRETR 1\r\n");
    loop {
        match s.poll_event() {
            Some(Event::Authenticate { .. }) => s.auth_accept().unwrap(),
            Some(Event::LockMaildrop { .. }) => s
                .maildrop_ready(vec![MessageInfo::new(size, Uid::new("u1").unwrap())])
                .unwrap(),
            Some(Event::Retrieve { .. }) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Drop the greeting and login replies.
    loop {
        let n = s.transmit().len();
        if n == 0 {
            break;
        }
        s.consume(n);
    }
    s
}

/// Hands the message over and passes each output slice to `black_box`, as a host passes it to
/// `write(2)`: the bytes are not copied again.
fn retr_write(mut s: Server, msg: &Bytes) -> usize {
    let mut total = 0;
    s.retrieve(msg.clone()).unwrap();
    loop {
        let out = black_box(s.transmit());
        if out.is_empty() {
            break;
        }
        let n = out.len();
        total += n;
        s.consume(n);
    }
    total
}

/// Hands the message over and copies the encoded response into `dst` (a host with its own
/// write buffer).
fn retr(mut s: Server, msg: &Bytes, dst: &mut Vec<u8>) -> usize {
    dst.clear();
    s.retrieve(msg.clone()).unwrap();
    loop {
        let out = s.transmit();
        if out.is_empty() {
            break;
        }
        dst.extend_from_slice(out);
        let n = out.len();
        s.consume(n);
    }
    dst.len()
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group: &str, copy_out: bool) {
    let crlf = message(b"\r\n");
    let lf = message(b"\n");
    let mut dst = Vec::with_capacity(SIZE * 2);

    // Sanity: both encodings decode back to the CRLF message (so the bench measures real work).
    for msg in [&crlf, &lf] {
        retr(session_at_retr(SIZE as u64), msg, &mut dst);
        let body = &dst[dst.iter().position(|&b| b == b'\n').unwrap() + 1..];
        let decoded = pop3_core::stuffing::unstuff(body).expect("well-formed response");
        assert!(
            decoded == normalise(msg),
            "RETR output does not decode to the message"
        );
    }

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(20);
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.clear();
            dst.extend_from_slice(black_box(&crlf));
            black_box(dst.len())
        })
    });
    g.bench_function("retr_crlf", |b| {
        b.iter_batched(
            || session_at_retr(SIZE as u64),
            |s| black_box(retr_write(s, &crlf)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("retr_bare_lf", |b| {
        b.iter_batched(
            || session_at_retr(SIZE as u64),
            |s| black_box(retr_write(s, &lf)),
            BatchSize::PerIteration,
        )
    });
    if !copy_out {
        g.finish();
        return;
    }
    g.bench_function("retr_crlf_copy_out", |b| {
        b.iter_batched(
            || session_at_retr(SIZE as u64),
            |s| black_box(retr(s, &crlf, &mut dst)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("retr_bare_lf_copy_out", |b| {
        b.iter_batched(
            || session_at_retr(SIZE as u64),
            |s| black_box(retr(s, &lf, &mut dst)),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// CPU time of the current thread, from `/proc/thread-self/schedstat` (first field, ns).
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) is needed for the CPU-time group")
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (f, unit) = if typical_ns < 1e3 {
            (1.0, "ns cpu")
        } else if typical_ns < 1e6 {
            (1e-3, "µs cpu")
        } else {
            (1e-6, "ms cpu")
        };
        values.iter_mut().for_each(|v| *v *= f);
        unit
    }
    fn scale_throughputs(
        &self,
        typical_ns: f64,
        t: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let bytes = match *t {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => b as f64,
            Throughput::Elements(e) => e as f64,
            Throughput::Bits(b) => b as f64 / 8.0,
        };
        let _ = typical_ns;
        values
            .iter_mut()
            .for_each(|v| *v = bytes * 1e9 / *v / (1024.0 * 1024.0 * 1024.0));
        "GiB/s cpu"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn wall(c: &mut Criterion) {
    bench(c, "pop3_retr_10mb", true);
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    bench(c, "pop3_retr_10mb_cpu", false);
}

criterion_group!(benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu
}
criterion_main!(benches, cpu_benches);
