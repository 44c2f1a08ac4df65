//! The `CHARSET` of SEARCH: how the bytes of search strings become text.
//!
//! UTF-8 (and US-ASCII, its subset) is always understood. Any other charset that
//! [encoding_rs] knows by that label (the WHATWG labels: GB2312, GBK, GB18030, Big5,
//! Shift_JIS, EUC-JP, ISO-2022-JP, EUC-KR, KOI8-R, ISO-8859-x, windows-125x...) is decoded to
//! UTF-8 by the parser, so the host always sees UTF-8 search strings. Chinese clients search in
//! GB2312/GBK this way. A charset no decoder exists for is answered `NO [BADCHARSET]` by the
//! server.

use encoding_rs::{Encoding, REPLACEMENT, UTF_8, UTF_16BE, UTF_16LE};

/// The charsets `NO [BADCHARSET (...)]` lists (every other WHATWG label works too).
pub const ADVERTISED: &[&str] = &[
    "UTF-8",
    "US-ASCII",
    "GB2312",
    "GBK",
    "GB18030",
    "BIG5",
    "SHIFT_JIS",
    "EUC-JP",
    "ISO-2022-JP",
    "EUC-KR",
    "KOI8-R",
    "ISO-8859-1",
    "WINDOWS-1252",
];

/// How search strings are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// No `CHARSET`, UTF-8 or US-ASCII: strings must be UTF-8.
    Utf8,
    /// A charset with a decoder: strings may hold any bytes and are decoded strictly.
    Known(&'static Encoding),
    /// A charset without a decoder: strings are kept (lossily) so that the server can answer
    /// `NO [BADCHARSET]` rather than a syntax error.
    Unknown,
}

impl Charset {
    /// The charset a `CHARSET` label names (`None`: no `CHARSET`).
    pub(crate) fn from_label(label: Option<&str>) -> Charset {
        let Some(label) = label else {
            return Charset::Utf8;
        };
        if label.eq_ignore_ascii_case("UTF-8") || label.eq_ignore_ascii_case("US-ASCII") {
            return Charset::Utf8;
        }
        match Encoding::for_label(label.as_bytes()) {
            Some(e) if e == UTF_8 => Charset::Utf8,
            // UTF-16 strings cannot pass through IMAP strings (NULs); REPLACEMENT is the
            // WHATWG stand-in for charsets that must not be decoded.
            Some(e) if e == REPLACEMENT || e == UTF_16BE || e == UTF_16LE => Charset::Unknown,
            Some(e) => Charset::Known(e),
            None => Charset::Unknown,
        }
    }

    /// Whether the server can search in this charset.
    pub(crate) fn is_supported(self) -> bool {
        self != Charset::Unknown
    }

    /// Decodes the bytes of one search string (`None`: not valid in this charset).
    pub(crate) fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Charset::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
            Charset::Known(e) => {
                let s = e.decode_without_bom_handling_and_without_replacement(bytes)?;
                // Only text this charset can also write back: the WHATWG GBK decoder (used
                // for GB2312 and GBK) accepts GB18030 four-byte sequences that the GBK
                // encoder cannot write, so a GB2312 search string holding them is refused,
                // as is anything else that would not survive a round trip.
                if e.encode(&s).2 {
                    return None;
                }
                Some(s.into_owned())
            }
            Charset::Unknown => Some(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// Encodes one search string for sending (client side). Characters the charset cannot
    /// hold become HTML numeric references (`&#NNNN;`), encoding_rs's rule; GB18030 and the
    /// UTF charsets hold every character.
    pub(crate) fn encode(self, text: &str) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Charset::Known(e) => e.encode(text).0,
            _ => std::borrow::Cow::Borrowed(text.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label(None), Charset::Utf8);
        assert_eq!(Charset::from_label(Some("us-ascii")), Charset::Utf8);
        assert_eq!(Charset::from_label(Some("utf8")), Charset::Utf8);
        assert!(matches!(
            Charset::from_label(Some("GB2312")),
            Charset::Known(_)
        ));
        assert!(matches!(
            Charset::from_label(Some("gb18030")),
            Charset::Known(_)
        ));
        assert_eq!(Charset::from_label(Some("X-UNKNOWN")), Charset::Unknown);
        assert_eq!(Charset::from_label(Some("UTF-16")), Charset::Unknown);
        assert_eq!(Charset::from_label(Some("ISO-2022-KR")), Charset::Unknown);
        for l in ADVERTISED {
            assert!(Charset::from_label(Some(l)).is_supported(), "{l}");
        }
    }

    #[test]
    fn gb2312_round_trip() {
        let cs = Charset::from_label(Some("GB2312"));
        let bytes = cs.encode("会议通知");
        assert_eq!(&*bytes, b"\xbb\xe1\xd2\xe9\xcd\xa8\xd6\xaa");
        assert_eq!(cs.decode(&bytes).as_deref(), Some("会议通知"));
        // A lone lead byte is not GB2312: refused, not replaced.
        assert_eq!(cs.decode(b"\xbb"), None);
        // A GB18030 four-byte sequence (U+0080) is not GB2312 either (found by fuzzing: it
        // decoded, but could not be written back), while GB18030 takes it.
        assert_eq!(cs.decode(b"\x81\x30\x81\x30"), None);
        let gb18030 = Charset::from_label(Some("GB18030"));
        assert_eq!(
            gb18030.decode(b"\x81\x30\x81\x30").as_deref(),
            Some("\u{80}")
        );
        assert_eq!(&*gb18030.encode("\u{80}"), b"\x81\x30\x81\x30");
        assert_eq!(Charset::Utf8.decode(b"\xbb\xe1"), None);
    }
}
