#![no_main]
//! Fuzzes what mailstore parses from untrusted bytes: metadata extraction at append
//! (mail-parser + our MIME tree, offsets and search text) and the name/flag validators.
use libfuzzer_sys::fuzz_target;
use mailstore::meta::{BodyPart, MAX_SEARCH_TEXT, extract};

fn check(p: &BodyPart, len: u32, depth: usize) {
    assert!(p.offset_body <= p.offset_end.max(p.offset_body), "ordered");
    assert!(
        p.offset_end <= len || p.offset_end == 0,
        "part end {} past {}",
        p.offset_end,
        len
    );
    assert!(p.offset_header <= len);
    assert!(p.offset_body <= len);
    assert!(depth <= mailstore::meta::MAX_MIME_DEPTH + 1);
    for c in &p.children {
        check(c, len, depth + 1);
    }
}

fuzz_target!(|data: &[u8]| {
    let (meta, text) = extract(data);
    let len = data.len() as u32;
    assert_eq!(meta.size, data.len() as u64);
    assert!(meta.body_offset <= len);
    assert!(text.len() <= MAX_SEARCH_TEXT);
    for h in &meta.headers {
        assert!(
            h.start <= h.end && h.end <= len,
            "header {:?} outside {len}",
            h
        );
    }
    check(&meta.body, len, 0);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = mailstore::MailboxName::new(s);
        let _ = mailstore::AccountId::new(s);
        let _ = mailstore::Flag::parse(s);
        let _ = mailstore::Rights::parse(s);
        if let Ok(n) = mailstore::MailboxName::new(s) {
            assert_eq!(
                mailstore::MailboxName::new(n.as_str()).ok(),
                Some(n.clone()),
                "normalization is idempotent"
            );
        }
    }
});
