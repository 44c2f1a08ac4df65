//! SMTP smuggling: no variant of a fake end-of-data may end the message and start a new
//! transaction, whatever the read split and the bare-line policy.

mod common;

use common::{accept_all, data_of, drive_all_splits, lines};
use smtp_core::{AbortReason, BareLinePolicy, Config, Event};

const VARIANTS: &[&[u8]] = &[
    b"\n.\n",
    b"\n.\r\n",
    b"\r\n.\n",
    b"\r.\r",
    b"\r.\r\n",
    b"\r\n.\r",
    b"\n.\r",
    b"\r\n.\r\r\n",
    b"\r\n\r.\r\n",
    b"\n\n.\n\n",
    b"\r\r.\r\r",
];

fn session(variant: &[u8]) -> Vec<u8> {
    let mut v =
        b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: hi\r\n\r\nbody"
            .to_vec();
    v.extend_from_slice(variant);
    v.extend_from_slice(
        b"MAIL FROM:<evil@x.y>\r\nRCPT TO:<victim@e.f>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n",
    );
    v
}

fn mail_froms(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::MailFrom { .. }))
        .count()
}

#[test]
fn rejected_under_reject_policy() {
    for v in VARIANTS {
        let t = drive_all_splits(&Config::new("mx"), &session(v), &mut accept_all);
        assert_eq!(mail_froms(&t.events), 1, "variant {v:?}: {:?}", t.events);
        assert!(
            t.events.contains(&Event::DataAborted {
                reason: AbortReason::BareLineEnding
            }),
            "{v:?}"
        );
        assert!(
            !t.events.iter().any(|e| matches!(e, Event::DataEnd { .. })),
            "{v:?}"
        );
        let l = lines(&t);
        assert_eq!(
            l[l.len() - 2..],
            [
                "550 5.6.0 Message contains bare CR or LF (see RFC 5321 section 2.3.8)",
                "221 2.0.0 mx Bye"
            ],
            "{v:?}"
        );
    }
}

#[test]
fn one_message_under_normalize_policy() {
    let mut c = Config::new("mx");
    c.bare_line = BareLinePolicy::Normalize;
    for v in VARIANTS {
        let t = drive_all_splits(&c, &session(v), &mut accept_all);
        assert_eq!(mail_froms(&t.events), 1, "variant {v:?}");
        assert_eq!(
            t.events
                .iter()
                .filter(|e| matches!(e, Event::DataEnd { .. }))
                .count(),
            1
        );
        let data = data_of(&t);
        let text = String::from_utf8_lossy(&data);
        assert!(text.contains("MAIL FROM:<evil@x.y>\r\n"), "{v:?}: {text:?}");
        // Only CRLF line endings reach the host.
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                assert_eq!(data[i - 1], b'\r', "{v:?}");
            }
            if b == b'\r' {
                assert_eq!(data.get(i + 1), Some(&b'\n'), "{v:?}");
            }
        }
    }
}

#[test]
fn stuffed_dot_lines_do_not_end_data() {
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n..\r\n..\r\n...\r\n. \r\n.x\r\n.\r\n";
    let t = drive_all_splits(&Config::new("mx"), input, &mut accept_all);
    assert_eq!(data_of(&t), b".\r\n.\r\n..\r\n \r\nx\r\n");
}

#[test]
fn end_right_after_data_command() {
    let input = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n.\r\n";
    let t = drive_all_splits(&Config::new("mx"), input, &mut accept_all);
    assert!(t.events.contains(&Event::DataEnd { size: 0 }));
}
