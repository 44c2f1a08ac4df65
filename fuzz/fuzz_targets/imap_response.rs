#![no_main]
//! The IMAP response parser on arbitrary input: never panics, and whatever parses is written
//! back by the server's writer to bytes that parse to the same response; the client's
//! response framer agrees on where the response ends, for any split.
use imap_core::client::ResponseReader;
use imap_core::syntax::{Writer, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let utf8 = mode & 1 != 0;
    if let Ok(resp) = parse_response(input, utf8) {
        let mut w = Writer::new(utf8);
        resp.write(&mut w);
        let again = parse_response(&w.buf, utf8);
        assert_eq!(
            again.as_ref(),
            Ok(&resp),
            "written as {:?}",
            String::from_utf8_lossy(&w.buf)
        );
        let mut r = ResponseReader::new(1 << 20);
        r.utf8 = utf8;
        let cut = (mode as usize >> 1) % (w.buf.len() + 1);
        r.feed(&w.buf[..cut]);
        let first = r.next_response();
        r.feed(&w.buf[cut..]);
        let got = first
            .or_else(|| r.next_response())
            .expect("a complete response");
        assert_eq!(got, Ok(resp.into_owned()));
        assert!(r.next_response().is_none());
    }
    // The framer never panics on arbitrary input either.
    let mut r = ResponseReader::new(4096);
    r.feed(input);
    while r.next_response().is_some() {}
});
