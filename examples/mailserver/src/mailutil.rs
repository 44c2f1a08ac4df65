//! Small helpers on addresses and raw messages shared by SMTP delivery and submission.

use mail_parser::MessageParser;

/// The domain of an address, lower-cased (`""` when there is no `@`).
pub fn domain_of(addr: &str) -> String {
    addr.rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Lower-cases an address for lookups (local parts are case-insensitive on this server).
pub fn normalise(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

/// The addresses of the From: header (lower-cased).
pub fn header_from(raw: &[u8]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(from) = msg.from() {
        for a in from.iter() {
            if let Some(addr) = a.address() {
                out.push(normalise(addr));
            }
        }
    }
    out
}

/// The Subject: and Message-ID: of a message, decoded.
pub fn subject_and_id(raw: &[u8]) -> (String, String) {
    match MessageParser::default().parse_headers(raw) {
        Some(m) => (
            m.subject().unwrap_or_default().to_string(),
            m.message_id().unwrap_or_default().to_string(),
        ),
        None => (String::new(), String::new()),
    }
}

/// `raw` with `Name: value` inserted as the first header line.
pub fn prepend_header(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + name.len() + value.len() + 4);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(raw);
    out
}

/// Whether the header block has a field called `name` (case-insensitive).
pub fn has_header(raw: &[u8], name: &str) -> bool {
    let end = header_end(raw);
    raw[..end].split(|&b| b == b'\n').any(|line| {
        line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && line[name.len()] == b':'
    })
}

/// Offset just past the blank line ending the header block (or the whole length).
fn header_end(raw: &[u8]) -> usize {
    let mut i = 0;
    while i < raw.len() {
        if raw[i..].starts_with(b"\r\n\r\n") {
            return i + 4;
        }
        if raw[i..].starts_with(b"\n\n") {
            return i + 2;
        }
        i += 1;
    }
    raw.len()
}

/// The enhanced status code in a reply text such as `550 5.1.1 no such user` (5.0.0 if none).
fn status_of(reason: &str) -> String {
    reason
        .split_whitespace()
        .take(2)
        .find(|w| {
            let p: Vec<&str> = w.split('.').collect();
            p.len() == 3
                && p[0] == "5"
                && p.iter()
                    .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or("5.0.0")
        .to_string()
}

/// A delivery status notification (RFC 3464) telling `sender` that `failed` could not be
/// delivered, with the original header block attached.
pub fn bounce(
    hostname: &str,
    sender: &str,
    failed: &[(String, String)],
    original: &[u8],
    now_rfc2822: &str,
    id: &str,
) -> Vec<u8> {
    let boundary = format!("=_bounce_{id}");
    let mut human = format!(
        "This is the mail system at {hostname}.\r\n\r\nYour message could not be delivered to the following recipients:\r\n\r\n"
    );
    let mut status = format!("Reporting-MTA: dns; {hostname}\r\n");
    for (rcpt, reason) in failed {
        human.push_str(&format!("  <{rcpt}>: {reason}\r\n"));
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\n",
            status_of(reason),
            reason.replace(['\r', '\n'], " ")
        ));
    }
    let headers = &original[..header_end(original)];
    let mut m = Vec::new();
    m.extend_from_slice(
        format!(
            "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n\
             To: <{sender}>\r\n\
             Subject: Undelivered Mail Returned to Sender\r\n\
             Date: {now_rfc2822}\r\n\
             Message-ID: <{id}@{hostname}>\r\n\
             Auto-Submitted: auto-replied\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\
             \r\n\
             --{boundary}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{human}\r\n\
             --{boundary}\r\n\
             Content-Type: message/delivery-status\r\n\r\n{status}\r\n\
             --{boundary}\r\n\
             Content-Type: text/rfc822-headers\r\n\r\n"
        )
        .as_bytes(),
    );
    m.extend_from_slice(headers);
    m.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: =?UTF-8?B?5byg5LiJ?= <Zhang@Example.EDU>\r\nSubject: =?UTF-8?B?5rWL6K+V?=\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n";

    #[test]
    fn headers_are_read_and_decoded() {
        assert_eq!(header_from(MSG), vec!["zhang@example.edu".to_string()]);
        assert_eq!(subject_and_id(MSG), ("测试".to_string(), "a@b".to_string()));
        assert!(has_header(MSG, "subject"));
        assert!(!has_header(MSG, "sender"));
        assert!(!has_header(
            b"X: y\r\n\r\nSender: not a header\r\n",
            "sender"
        ));
        let p = prepend_header(MSG, "Sender", "<bob@example.edu>");
        assert!(p.starts_with(b"Sender: <bob@example.edu>\r\nFrom:"));
        assert!(has_header(&p, "Sender"));
        assert_eq!(domain_of("A@Example.Edu"), "example.edu");
    }

    #[test]
    fn bounce_names_recipient_reason_and_parses() {
        let b = bounce(
            "mail.example.edu",
            "a@example.edu",
            &[("x@other.org".into(), "no smarthost".into())],
            MSG,
            "Sun, 6 Dec 2026 10:00:00 +0000",
            "q1",
        );
        let text = String::from_utf8(b.clone()).unwrap();
        assert!(text.contains("<x@other.org>: no smarthost"));
        assert!(text.contains("Final-Recipient: rfc822; x@other.org"));
        assert!(text.contains("Status: 5.0.0"));
        assert_eq!(status_of("550 5.1.1 <a@b>: no such user"), "5.1.1");
        assert_eq!(status_of("451 4.3.0 later"), "5.0.0");
        assert!(
            !text.contains("body\r\n"),
            "only the original headers are returned"
        );
        let (subject, _) = subject_and_id(&b);
        assert_eq!(subject, "Undelivered Mail Returned to Sender");
    }
}
