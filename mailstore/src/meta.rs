//! Metadata computed once at append with mail-parser: envelope, MIME structure, header
//! offsets, decoded text for search.

use mail_parser::{
    Address as MpAddress, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use serde::{Deserialize, Serialize};

/// Deepest MIME nesting described; deeper parts are summarized as opaque leaves.
pub const MAX_MIME_DEPTH: usize = 32;
/// Most MIME parts described per message.
pub const MAX_MIME_PARTS: usize = 2000;
/// Most bytes of decoded body text kept for BODY/TEXT search per message.
pub const MAX_SEARCH_TEXT: usize = 1 << 20;

/// An address from a header, with the display name decoded to UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Decoded display name.
    pub name: Option<String>,
    /// `local@domain` (or whatever the header held).
    pub address: Option<String>,
}

/// Envelope fields (IMAP ENVELOPE); text is decoded (RFC 2047, GBK etc.) to UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// Date header as written.
    pub date_raw: Option<String>,
    /// Date header as Unix seconds.
    pub date: Option<i64>,
    /// Decoded subject.
    pub subject: Option<String>,
    /// Subject header as written (unfolded, still RFC 2047-encoded).
    pub subject_raw: Option<String>,
    /// From.
    pub from: Vec<Address>,
    /// Sender.
    pub sender: Vec<Address>,
    /// Reply-To.
    pub reply_to: Vec<Address>,
    /// To.
    pub to: Vec<Address>,
    /// Cc.
    pub cc: Vec<Address>,
    /// Bcc.
    pub bcc: Vec<Address>,
    /// In-Reply-To as written.
    pub in_reply_to: Option<String>,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
}

/// Where one header field lies in the raw message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderLoc {
    /// Field name as written.
    pub name: String,
    /// Offset of the field name.
    pub start: u32,
    /// Offset just past the field's line end.
    pub end: u32,
}

/// One MIME part (for BODYSTRUCTURE and `BODY[n]` fetches). Offsets are absolute in the raw message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BodyPart {
    /// Lowercase media type, e.g. `text`.
    pub media_type: String,
    /// Lowercase subtype, e.g. `plain`.
    pub subtype: String,
    /// Content-Type parameters (decoded, RFC 2231 joined).
    pub params: Vec<(String, String)>,
    /// Content-ID.
    pub id: Option<String>,
    /// Content-Description.
    pub description: Option<String>,
    /// Content-Transfer-Encoding as written (lowercase), `7bit` when absent.
    pub encoding: String,
    /// Content-Disposition type and parameters (decoded, e.g. a Chinese attachment name).
    pub disposition: Option<(String, Vec<(String, String)>)>,
    /// Content-Language.
    pub language: Vec<String>,
    /// Content-Location.
    pub location: Option<String>,
    /// Offset of the part's header.
    pub offset_header: u32,
    /// Offset of the part's body.
    pub offset_body: u32,
    /// Offset just past the part's body.
    pub offset_end: u32,
    /// Number of lines of the body (for text and message parts).
    pub lines: u32,
    /// Children of a multipart; for message/rfc822 the single nested message's root part.
    pub children: Vec<BodyPart>,
    /// Envelope of a nested message/rfc822.
    pub envelope: Option<Box<Envelope>>,
}

impl BodyPart {
    /// Body size in bytes (IMAP BODYSTRUCTURE size).
    pub fn size(&self) -> u32 {
        self.offset_end.saturating_sub(self.offset_body)
    }
}

/// Metadata of a message, computed at append and shared by all copies of the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageMeta {
    /// Raw size in bytes.
    pub size: u64,
    /// Offset of the body (just past the blank line ending the header).
    pub body_offset: u32,
    /// Envelope.
    pub envelope: Envelope,
    /// Top-level header fields in order.
    pub headers: Vec<HeaderLoc>,
    /// MIME structure.
    pub body: BodyPart,
    /// Whether some part is an attachment.
    pub has_attachments: bool,
    /// Whether mail-parser could not parse the message (metadata is then minimal).
    pub unparsed: bool,
}

/// Parses `raw` once and returns its metadata and its decoded body text (for search,
/// capped at [`MAX_SEARCH_TEXT`] bytes). Never panics; unparseable input gives minimal metadata.
pub fn extract(raw: &[u8]) -> (MessageMeta, String) {
    let size = raw.len() as u64;
    let Some(msg) = MessageParser::default().parse(raw) else {
        let body_offset = find_body_offset(raw);
        let meta = MessageMeta {
            size,
            body_offset,
            unparsed: true,
            body: BodyPart {
                media_type: "text".into(),
                subtype: "plain".into(),
                encoding: "7bit".into(),
                offset_body: body_offset,
                offset_end: clamp32(raw.len()),
                lines: count_lines(raw.get(body_offset as usize..).unwrap_or_default()),
                ..Default::default()
            },
            ..Default::default()
        };
        let text = String::from_utf8_lossy(raw.get(body_offset as usize..).unwrap_or_default());
        return (meta, truncate(text.into_owned()));
    };
    let mut parts_seen = 0usize;
    let mut body = describe_part(&msg, 0, 0, 0, &mut parts_seen);
    fill_lines(&mut body, raw);
    let envelope = envelope(&msg);
    let headers = msg
        .root_part()
        .headers
        .iter()
        .map(|h| HeaderLoc {
            name: h.name().to_owned(),
            start: h.offset_field,
            end: h.offset_end,
        })
        .collect();
    let mut text = String::new();
    for i in 0..msg.text_body_count().min(MAX_MIME_PARTS) {
        if let Some(t) = msg.body_text(i) {
            text.push_str(&t);
            text.push('\n');
            if text.len() > MAX_SEARCH_TEXT {
                break;
            }
        }
    }
    for a in msg.attachments() {
        if let Some(n) = a.attachment_name() {
            text.push_str(n);
            text.push('\n');
        }
    }
    let meta = MessageMeta {
        size,
        body_offset: msg.root_part().offset_body,
        envelope,
        headers,
        has_attachments: msg.attachment_count() > 0,
        body,
        unparsed: false,
    };
    (meta, truncate(text))
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_SEARCH_TEXT {
        let mut cut = MAX_SEARCH_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn clamp32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn find_body_offset(raw: &[u8]) -> u32 {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    let off = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => raw.len(),
    };
    clamp32(off)
}

fn count_lines(b: &[u8]) -> u32 {
    clamp32(memchr_count(b))
}

fn memchr_count(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

fn addresses(a: Option<&MpAddress<'_>>) -> Vec<Address> {
    a.map(|a| {
        a.iter()
            .take(1000)
            .map(|x| Address {
                name: x.name().map(str::to_owned),
                address: x.address().map(str::to_owned),
            })
            .collect()
    })
    .unwrap_or_default()
}

fn envelope(msg: &Message<'_>) -> Envelope {
    let raw = |name: &str| {
        msg.header_raw(name)
            .map(|v| v.trim().replace(['\r', '\n'], ""))
    };
    Envelope {
        date_raw: raw("Date"),
        date: msg.date().map(|d| d.to_timestamp()),
        subject: msg.subject().map(str::to_owned),
        subject_raw: raw("Subject"),
        from: addresses(msg.from()),
        sender: addresses(msg.sender()),
        reply_to: addresses(msg.reply_to()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        bcc: addresses(msg.bcc()),
        in_reply_to: raw("In-Reply-To"),
        message_id: msg.message_id().map(str::to_owned),
    }
}

fn params(ct: Option<&mail_parser::ContentType<'_>>) -> Vec<(String, String)> {
    ct.and_then(|c| c.attributes())
        .map(|a| {
            a.iter()
                .take(100)
                .map(|x| (x.name.to_ascii_lowercase(), x.value.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn describe_part(
    msg: &Message<'_>,
    id: u32,
    base: u32,
    depth: usize,
    seen: &mut usize,
) -> BodyPart {
    *seen += 1;
    let Some(part) = msg.parts.get(id as usize) else {
        return BodyPart::default();
    };
    let mut bp = leaf(part, base);
    if depth >= MAX_MIME_DEPTH || *seen >= MAX_MIME_PARTS {
        return bp;
    }
    match &part.body {
        PartType::Multipart(children) => {
            for &c in children {
                if *seen >= MAX_MIME_PARTS {
                    break;
                }
                bp.children
                    .push(describe_part(msg, c, base, depth + 1, seen));
            }
        }
        PartType::Message(inner) => {
            // mail-parser gives nested parts offsets within the outer raw bytes.
            let inner_base = base;
            bp.envelope = Some(Box::new(envelope(inner)));
            bp.children
                .push(describe_part(inner, 0, inner_base, depth + 1, seen));
        }
        _ => {}
    }
    bp
}

fn leaf(part: &MessagePart<'_>, base: u32) -> BodyPart {
    let ct = part.content_type();
    let (media_type, subtype) = match ct {
        Some(c) => (
            c.ctype().to_ascii_lowercase(),
            c.subtype().map(str::to_ascii_lowercase).unwrap_or_default(),
        ),
        None => match &part.body {
            PartType::Multipart(_) => ("multipart".into(), "mixed".into()),
            PartType::Message(_) => ("message".into(), "rfc822".into()),
            _ => ("text".into(), "plain".into()),
        },
    };
    let subtype = if subtype.is_empty() {
        if media_type == "text" {
            "plain".into()
        } else {
            "octet-stream".into()
        }
    } else {
        subtype
    };
    let language = match part.content_language() {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    };
    let offset_body = base.saturating_add(part.offset_body);
    let offset_end = base.saturating_add(part.offset_end);
    BodyPart {
        media_type,
        subtype,
        params: params(ct),
        id: part.content_id().map(str::to_owned),
        description: part.content_description().map(str::to_owned),
        encoding: part
            .content_transfer_encoding()
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| "7bit".into()),
        disposition: part
            .content_disposition()
            .map(|d| (d.ctype().to_ascii_lowercase(), params(Some(d)))),
        language,
        location: part.content_location().map(str::to_owned),
        offset_header: base.saturating_add(part.offset_header),
        offset_body,
        offset_end,
        lines: 0,
        children: Vec::new(),
        envelope: None,
    }
}

fn fill_lines(bp: &mut BodyPart, raw: &[u8]) {
    if bp.media_type == "text" || (bp.media_type == "message" && bp.subtype == "rfc822") {
        let (a, b) = (bp.offset_body as usize, bp.offset_end as usize);
        if a <= b {
            bp.lines = count_lines(raw.get(a..b).unwrap_or_default());
        }
    }
    for c in &mut bp.children {
        fill_lines(c, raw);
    }
}
