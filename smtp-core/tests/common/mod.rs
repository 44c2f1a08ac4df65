//! In-memory driver shared by the integration tests.
#![allow(dead_code)]

use smtp_core::{Config, Event, Reply, Server};

/// How the test host answers a decision event.
pub enum Decision {
    Accept,
    AcceptWith(Reply),
    Reject(Reply),
    /// Information event, or leave the decision pending.
    Nothing,
}

/// Accept every decision.
pub fn accept_all(ev: &Event) -> Decision {
    match ev {
        Event::Data(_) | Event::DataAborted { .. } | Event::Reset => Decision::Nothing,
        _ => Decision::Accept,
    }
}

/// What a session produced: all output and all events (consecutive Data chunks merged, so
/// transcripts of different read splits compare equal).
#[derive(Debug, PartialEq, Eq)]
pub struct Transcript {
    pub out: String,
    pub events: Vec<Event>,
    pub closed: bool,
}

fn pump(server: &mut Server, t: &mut Transcript, decide: &mut dyn FnMut(&Event) -> Decision) {
    while let Some(ev) = server.poll_event() {
        let d = decide(&ev);
        match (t.events.last_mut(), &ev) {
            (Some(Event::Data(prev)), Event::Data(more)) => {
                let mut v = prev.to_vec();
                v.extend_from_slice(more);
                *prev = v.into();
            }
            (_, Event::DataAborted { .. }) => {
                // What was handed out before the abort depends on the read split; the host
                // discards it either way.
                while matches!(t.events.last(), Some(Event::Data(_))) {
                    t.events.pop();
                }
                t.events.push(ev)
            }
            _ => t.events.push(ev),
        }
        match d {
            Decision::Accept => server.accept().unwrap(),
            Decision::AcceptWith(r) => server.accept_with(r).unwrap(),
            Decision::Reject(r) => server.reject(r).unwrap(),
            Decision::Nothing => {}
        }
    }
    let n = server.transmit().len();
    t.out.push_str(&String::from_utf8_lossy(server.transmit()));
    server.consume(n);
}

/// Feeds `input` in pieces of `chunk` bytes, answering events with `decide`.
pub fn drive(
    config: &Config,
    input: &[u8],
    chunk: usize,
    decide: &mut dyn FnMut(&Event) -> Decision,
) -> Transcript {
    drive_with(config, input, chunk, false, decide)
}

/// Like [`drive`], with `Server::feed_bytes` (owned input) when `owned`.
pub fn drive_with(
    config: &Config,
    input: &[u8],
    chunk: usize,
    owned: bool,
    decide: &mut dyn FnMut(&Event) -> Decision,
) -> Transcript {
    let mut server = Server::new(config.clone());
    let mut t = Transcript {
        out: String::new(),
        events: Vec::new(),
        closed: false,
    };
    pump(&mut server, &mut t, decide);
    for piece in input.chunks(chunk.max(1)) {
        if owned {
            server.feed_bytes(bytes::BytesMut::from(piece));
        } else {
            server.feed(piece);
        }
        pump(&mut server, &mut t, decide);
    }
    t.closed = server.is_closed();
    t
}

/// Runs the session at every chunk size 1..=512 and checks that all give the same transcript;
/// returns it.
pub fn drive_all_splits(
    config: &Config,
    input: &[u8],
    decide: &mut dyn FnMut(&Event) -> Decision,
) -> Transcript {
    let whole = drive(config, input, input.len().max(1), decide);
    for chunk in 1..=512 {
        let t = drive(config, input, chunk, decide);
        assert_eq!(t, whole, "transcript differs at chunk size {chunk}");
        let t = drive_with(config, input, chunk, true, decide);
        assert_eq!(
            t, whole,
            "owned input: transcript differs at chunk size {chunk}"
        );
    }
    whole
}

/// Data events of a transcript, concatenated.
pub fn data_of(t: &Transcript) -> Vec<u8> {
    let mut v = Vec::new();
    for e in &t.events {
        if let Event::Data(d) = e {
            v.extend_from_slice(d);
        }
    }
    v
}

/// Reply lines of a transcript.
pub fn lines(t: &Transcript) -> Vec<&str> {
    t.out.split_terminator("\r\n").collect()
}
