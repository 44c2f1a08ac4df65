//! Property tests of everything that parses untrusted input.
use mailstore::meta::{BodyPart, MAX_SEARCH_TEXT, extract};
use mailstore::{AccountId, Flag, FlagOp, Flags, Keyword, MailboxName, MessageMeta, Rights};
use proptest::prelude::*;

fn check_part(p: &BodyPart, len: u32) {
    assert!(p.offset_header <= len && p.offset_body <= len && p.offset_end <= len);
    for c in &p.children {
        check_part(c, len);
    }
}

fn mime_message() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just("Subject: =?GBK?B?6Ua7+cKlvbLX+dSkuOY=?=\r\n".to_string()),
        Just("Subject: plain\r\n".to_string()),
        Just("From: =?GB2312?B?zfXAz8qm?= <w@x.cn>\r\n".to_string()),
        Just("Content-Type: multipart/mixed; boundary=\"b\"\r\n".to_string()),
        Just("Content-Type: message/rfc822\r\n".to_string()),
        Just("Content-Transfer-Encoding: base64\r\n".to_string()),
        "[A-Za-z-]{1,12}: [ -~]{0,40}\r\n",
    ];
    let body = prop_oneof![
        Just("--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n".to_string()),
        Just("--b\r\n\r\n--b\r\n--b--".to_string()),
        "[ -~\r\n]{0,200}",
    ];
    (
        proptest::collection::vec(header, 0..8),
        body,
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(h, b, noise)| {
            let mut v = h.concat().into_bytes();
            v.extend_from_slice(b"\r\n");
            v.extend_from_slice(b.as_bytes());
            v.extend_from_slice(&noise);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn extract_never_panics_and_offsets_are_in_bounds(raw in prop_oneof![mime_message(), proptest::collection::vec(any::<u8>(), 0..512)]) {
        let (meta, text) = extract(&raw);
        let len = raw.len() as u32;
        prop_assert_eq!(meta.size, raw.len() as u64);
        prop_assert!(meta.body_offset <= len);
        prop_assert!(text.len() <= MAX_SEARCH_TEXT);
        for h in &meta.headers {
            prop_assert!(h.start <= h.end && h.end <= len);
        }
        check_part(&meta.body, len);
        // Persisted as JSON: must round-trip exactly.
        let back: MessageMeta = serde_json::from_slice(&serde_json::to_vec(&meta).unwrap()).unwrap();
        prop_assert_eq!(back, meta);
    }

    #[test]
    fn mailbox_names_normalize_idempotently(s in "\\PC{0,40}") {
        if let Ok(n) = MailboxName::new(&s) {
            prop_assert_eq!(MailboxName::new(n.as_str()).unwrap(), n.clone());
            prop_assert!(!n.as_str().starts_with('/') && !n.as_str().ends_with('/'));
            prop_assert!(!n.as_str().contains("//"));
            if s.split('/').next().unwrap().eq_ignore_ascii_case("inbox") {
                prop_assert!(n.as_str().starts_with("INBOX"));
            }
            if let Some(p) = n.parent() {
                prop_assert!(n.is_descendant_of(&p));
            }
        }
    }

    #[test]
    fn inbox_any_case(mask in any::<u8>(), rest in "[a-z一-龥]{0,6}") {
        let inbox: String = "inbox".chars().enumerate().map(|(i, c)| if mask & (1 << i) != 0 { c.to_ascii_uppercase() } else { c }).collect();
        let name = if rest.is_empty() { inbox } else { format!("{inbox}/{rest}") };
        let n = MailboxName::new(&name).unwrap();
        prop_assert!(n.as_str().starts_with("INBOX"));
        prop_assert_eq!(n.is_inbox(), rest.is_empty());
    }

    #[test]
    fn account_ids_are_lowercase_addresses(s in "\\PC{0,40}") {
        if let Ok(a) = AccountId::new(&s) {
            prop_assert_eq!(a.as_str(), s.to_lowercase());
            prop_assert!(a.as_str().contains('@'));
            prop_assert_eq!(AccountId::new(a.as_str()).unwrap(), a);
        }
    }

    #[test]
    fn valid_addresses_are_accepted(local in "[A-Za-z0-9._+-]{1,16}", domain in "[A-Za-z0-9-]{1,12}(\\.[A-Za-z]{2,6}){1,2}") {
        let s = format!("{local}@{domain}");
        let a = AccountId::new(&s).unwrap();
        prop_assert_eq!(a.as_str(), s.to_lowercase());
        prop_assert!(AccountId::new(&local).is_err(), "the local part alone is refused");
    }

    #[test]
    fn rights_round_trip(bits in 0u16..(1 << 11)) {
        let letters: String = "lrswipkxtea".chars().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, c)| c).collect();
        let r = Rights::parse(&letters).unwrap();
        prop_assert_eq!(r.to_string(), letters);
        prop_assert!(Rights::ALL.contains(r));
    }

    #[test]
    fn rights_reject_other_letters(s in "[a-z]{1,6}") {
        let ok = s.chars().all(|c| "lrswipkxteacd".contains(c));
        prop_assert_eq!(Rights::parse(&s).is_ok(), ok);
    }

    #[test]
    fn flag_ops_behave_like_sets(a in proptest::collection::vec(0usize..8, 0..8), b in proptest::collection::vec(0usize..8, 0..8)) {
        let all = [Flag::Seen, Flag::Answered, Flag::Flagged, Flag::Deleted, Flag::Draft,
            Flag::Keyword(Keyword::new("$Forwarded").unwrap()), Flag::Keyword(Keyword::new("Work").unwrap()),
            Flag::Keyword(Keyword::new("已读").unwrap_or_else(|_| Keyword::new("X").unwrap()))];
        let fa = Flags::from_flags(a.iter().map(|i| all[*i].clone()));
        let fb = Flags::from_flags(b.iter().map(|i| all[*i].clone()));
        let add = fa.apply(FlagOp::Add, &fb);
        let rem = fa.apply(FlagOp::Remove, &fb);
        for f in &all {
            prop_assert_eq!(add.contains(f), fa.contains(f) || fb.contains(f));
            prop_assert_eq!(rem.contains(f), fa.contains(f) && !fb.contains(f));
        }
        prop_assert_eq!(fa.apply(FlagOp::Replace, &fb), fb.clone());
        prop_assert_eq!(Flags::from_flags(fa.iter()), fa.clone());
    }

    #[test]
    fn flag_parse_round_trips(s in "\\\\?[A-Za-z$]{1,10}") {
        if let Ok(f) = Flag::parse(&s) {
            prop_assert_eq!(Flag::parse(&f.to_string()).unwrap(), f);
        }
    }
}

#[test]
fn non_ascii_keywords_are_refused() {
    assert!(Keyword::new("已读").is_err());
    assert!(Keyword::new("$Label1").is_ok());
}
