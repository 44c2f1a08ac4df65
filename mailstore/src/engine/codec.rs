//! Keys and record encodings of the on-disk format.

use serde::{Deserialize, Serialize};

use crate::acl::Rights;
use crate::flags::{Flags, Keyword, SpecialUse};
use crate::ids::{AccountId, MailboxName};
#[cfg(test)]
use crate::meta::Address;
use crate::records::Quota;
use crate::search::SearchFields;

pub(crate) type Hash = [u8; 32];

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
pub(crate) struct Counters {
    pub next_mailbox_id: u64,
    pub next_archive_id: u64,
    pub next_log_seq: u64,
    pub last_uid_validity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccountRec {
    pub quota: Quota,
    pub archive: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MailboxRec {
    pub owner: AccountId,
    pub name: MailboxName,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub special_use: Option<SpecialUse>,
    pub subscribed: bool,
    pub acl: Vec<(AccountId, Rights)>,
    pub keywords: Vec<Keyword>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FlagsRec {
    pub system: u8,
    pub keywords: Vec<Keyword>,
}

impl From<&Flags> for FlagsRec {
    fn from(f: &Flags) -> FlagsRec {
        FlagsRec {
            system: f.system_bits(),
            keywords: f.keywords().to_vec(),
        }
    }
}

impl From<FlagsRec> for Flags {
    fn from(f: FlagsRec) -> Flags {
        Flags::from_parts(f.system, f.keywords)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ArchivedRec {
    pub account: AccountId,
    pub mailbox: MailboxName,
    pub uid: u32,
    pub archived_at: i64,
    pub flags: FlagsRec,
    pub internal_date: i64,
    pub hash: String,
    /// Format 2 (filled in by the upgrade from format 1).
    #[serde(default)]
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReadRec {
    pub first_seen: i64,
}

/// Message record (format 2): hash(32) modseq(8) internal_date(8) size(8) system(1)
/// n_keywords(2) {len(1) bytes}*. Format 1 had no size (see `upgrade`).
pub(crate) fn encode_msg(
    hash: &Hash,
    modseq: u64,
    internal_date: i64,
    size: u64,
    flags: &Flags,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(59);
    v.extend_from_slice(hash);
    v.extend_from_slice(&modseq.to_be_bytes());
    v.extend_from_slice(&internal_date.to_be_bytes());
    v.extend_from_slice(&size.to_be_bytes());
    encode_flags(&mut v, flags);
    v
}

fn encode_flags(v: &mut Vec<u8>, flags: &Flags) {
    v.push(flags.system_bits());
    let kws = flags.keywords();
    v.extend_from_slice(&(kws.len().min(u16::MAX as usize) as u16).to_be_bytes());
    for k in kws.iter().take(u16::MAX as usize) {
        let b = k.as_str().as_bytes();
        v.push(b.len() as u8);
        v.extend_from_slice(b);
    }
}

pub(crate) struct MsgRec {
    pub hash: Hash,
    pub modseq: u64,
    pub internal_date: i64,
    pub size: u64,
    pub flags: Flags,
}

pub(crate) fn decode_msg(v: &[u8]) -> Option<MsgRec> {
    let hash: Hash = v.get(..32)?.try_into().ok()?;
    let modseq = u64::from_be_bytes(v.get(32..40)?.try_into().ok()?);
    let internal_date = i64::from_be_bytes(v.get(40..48)?.try_into().ok()?);
    let size = u64::from_be_bytes(v.get(48..56)?.try_into().ok()?);
    let flags = decode_flags(v, 56)?;
    Some(MsgRec {
        hash,
        modseq,
        internal_date,
        size,
        flags,
    })
}

/// Flags starting at `pos`, which must run to the end of `v`.
pub(crate) fn decode_flags(v: &[u8], mut pos: usize) -> Option<Flags> {
    let system = *v.get(pos)?;
    let n = u16::from_be_bytes(v.get(pos + 1..pos + 3)?.try_into().ok()?) as usize;
    pos += 3;
    let mut kws = Vec::with_capacity(n);
    for _ in 0..n {
        let len = *v.get(pos)? as usize;
        let s = std::str::from_utf8(v.get(pos + 1..pos + 1 + len)?).ok()?;
        kws.push(Keyword::new(s).ok()?);
        pos += 1 + len;
    }
    if pos != v.len() {
        return None;
    }
    Some(Flags::from_parts(system, kws))
}

/// Search record (binary, decoded for every candidate of a search, so no JSON): version(1)
/// str subject_lc, opt message_id, opt date, body_offset u32, from/to/cc/bcc address lists,
/// header field names. str = u32 BE length ++ UTF-8.
pub(crate) fn encode_search(f: &SearchFields) -> Vec<u8> {
    fn s(v: &mut Vec<u8>, x: &str) {
        v.extend_from_slice(&(x.len() as u32).to_be_bytes());
        v.extend_from_slice(x.as_bytes());
    }
    fn os(v: &mut Vec<u8>, x: Option<&str>) {
        match x {
            Some(x) => {
                v.push(1);
                s(v, x);
            }
            None => v.push(0),
        }
    }
    let mut v = Vec::with_capacity(128);
    v.push(1);
    s(&mut v, &f.subject_lc);
    os(&mut v, f.message_id.as_deref());
    match f.date {
        Some(d) => {
            v.push(1);
            v.extend_from_slice(&d.to_be_bytes());
        }
        None => v.push(0),
    }
    v.extend_from_slice(&f.body_offset.to_be_bytes());
    for list in [&f.from, &f.to, &f.cc, &f.bcc] {
        v.extend_from_slice(&(list.len().min(u16::MAX as usize) as u16).to_be_bytes());
        for a in list.iter().take(u16::MAX as usize) {
            os(&mut v, a.name.as_deref());
            os(&mut v, a.address.as_deref());
        }
    }
    v.extend_from_slice(&(f.header_names.len().min(u16::MAX as usize) as u16).to_be_bytes());
    for h in f.header_names.iter().take(u16::MAX as usize) {
        s(&mut v, h);
    }
    v
}

struct Reader<'a> {
    v: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.v.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<usize> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    fn opt_str(&mut self) -> Option<Option<&'a str>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }
    /// Validates a list of `n` (u16) items read by `item`; returns its bytes.
    fn list(&mut self, item: impl Fn(&mut Reader<'a>) -> Option<()>) -> Option<&'a [u8]> {
        let start = self.pos;
        let n = self.u16()?;
        for _ in 0..n {
            item(self)?;
        }
        self.v.get(start..self.pos)
    }
}

fn addr_item(r: &mut Reader<'_>) -> Option<()> {
    r.opt_str()?;
    r.opt_str()?;
    Some(())
}

fn str_item(r: &mut Reader<'_>) -> Option<()> {
    r.str().map(|_| ())
}

/// An encoded list of addresses: `(name, address)` pairs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddrList<'a>(&'a [u8]);

impl<'a> AddrList<'a> {
    pub(crate) const EMPTY: AddrList<'static> = AddrList(&[0, 0]);

    pub(crate) fn iter(self) -> impl Iterator<Item = (Option<&'a str>, Option<&'a str>)> {
        let mut r = Reader { v: self.0, pos: 0 };
        let n = r.u16().unwrap_or(0);
        // Validated at decode time; a malformed item ends the iteration.
        (0..n).map_while(move |_| Some((r.opt_str()?, r.opt_str()?)))
    }
}

/// An encoded list of strings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrList<'a>(&'a [u8]);

impl<'a> StrList<'a> {
    pub(crate) const EMPTY: StrList<'static> = StrList(&[0, 0]);

    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        let mut r = Reader { v: self.0, pos: 0 };
        let n = r.u16().unwrap_or(0);
        (0..n).map_while(move |_| r.str())
    }
}

/// A search record decoded without copying: what a search reads of each candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchView<'a> {
    pub subject_lc: &'a str,
    pub message_id: Option<&'a str>,
    pub date: Option<i64>,
    pub body_offset: u32,
    pub from: AddrList<'a>,
    pub to: AddrList<'a>,
    pub cc: AddrList<'a>,
    pub bcc: AddrList<'a>,
    pub header_names: StrList<'a>,
}

impl SearchView<'static> {
    /// For searches that read no record.
    pub(crate) const EMPTY: SearchView<'static> = SearchView {
        subject_lc: "",
        message_id: None,
        date: None,
        body_offset: 0,
        from: AddrList::EMPTY,
        to: AddrList::EMPTY,
        cc: AddrList::EMPTY,
        bcc: AddrList::EMPTY,
        header_names: StrList::EMPTY,
    };
}

/// Decodes (and validates) a search record; `None` if malformed.
pub(crate) fn decode_search(v: &[u8]) -> Option<SearchView<'_>> {
    let mut r = Reader { v, pos: 0 };
    if r.u8()? != 1 {
        return None;
    }
    let subject_lc = r.str()?;
    let message_id = r.opt_str()?;
    let date = match r.u8()? {
        0 => None,
        1 => Some(i64::from_be_bytes(r.take(8)?.try_into().ok()?)),
        _ => return None,
    };
    let body_offset = r.u32()?;
    let from = AddrList(r.list(addr_item)?);
    let to = AddrList(r.list(addr_item)?);
    let cc = AddrList(r.list(addr_item)?);
    let bcc = AddrList(r.list(addr_item)?);
    let header_names = StrList(r.list(str_item)?);
    if r.pos != v.len() {
        return None;
    }
    Some(SearchView {
        subject_lc,
        message_id,
        date,
        body_offset,
        from,
        to,
        cc,
        bcc,
        header_names,
    })
}

#[cfg(test)]
fn view_to_fields(v: &SearchView<'_>) -> SearchFields {
    let addrs = |l: AddrList<'_>| -> Vec<Address> {
        l.iter()
            .map(|(n, a)| Address {
                name: n.map(str::to_owned),
                address: a.map(str::to_owned),
            })
            .collect()
    };
    SearchFields {
        subject_lc: v.subject_lc.to_owned(),
        message_id: v.message_id.map(str::to_owned),
        date: v.date,
        body_offset: v.body_offset,
        from: addrs(v.from),
        to: addrs(v.to),
        cc: addrs(v.cc),
        bcc: addrs(v.bcc),
        header_names: v.header_names.iter().map(str::to_owned).collect(),
    }
}

/// The first bytes of a key, in hex, for error messages.
pub(crate) fn hex_prefix(k: &[u8]) -> String {
    k.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A body record (format 3): raw length u64 BE ++ text length u64 BE ++ raw ++ text ++
/// JSON metadata. One value per body, so a new body is one insert at the right edge of the
/// `bodies` tree; readers copy out only the part they need.
pub(crate) fn encode_body(raw: &[u8], text: &[u8], meta: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + raw.len() + text.len() + meta.len());
    v.extend_from_slice(&(raw.len() as u64).to_be_bytes());
    v.extend_from_slice(&(text.len() as u64).to_be_bytes());
    v.extend_from_slice(raw);
    v.extend_from_slice(text);
    v.extend_from_slice(meta);
    v
}

/// A part of a body record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyPart {
    Raw,
    Text,
    Meta,
}

/// The given part of a body record (`None`: malformed).
pub(crate) fn body_part(v: &[u8], part: BodyPart) -> Option<&[u8]> {
    let raw_len = usize::try_from(u64::from_be_bytes(v.get(..8)?.try_into().ok()?)).ok()?;
    let text_len = usize::try_from(u64::from_be_bytes(v.get(8..16)?.try_into().ok()?)).ok()?;
    let text_at = 16usize.checked_add(raw_len)?;
    let meta_at = text_at.checked_add(text_len)?;
    match part {
        BodyPart::Raw => v.get(16..text_at),
        BodyPart::Text => v.get(text_at..meta_at),
        BodyPart::Meta => v.get(meta_at..),
    }
}

pub(crate) fn sha256(raw: &[u8]) -> Hash {
    let d = ring::digest::digest(&ring::digest::SHA256, raw);
    let mut h = [0u8; 32];
    h.copy_from_slice(d.as_ref());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Flag;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn body_records_round_trip(raw in proptest::collection::vec(any::<u8>(), 0..300),
                                   text in proptest::collection::vec(any::<u8>(), 0..100),
                                   meta in proptest::collection::vec(any::<u8>(), 0..100)) {
            let v = encode_body(&raw, &text, &meta);
            prop_assert_eq!(body_part(&v, BodyPart::Raw), Some(&raw[..]));
            prop_assert_eq!(body_part(&v, BodyPart::Text), Some(&text[..]));
            prop_assert_eq!(body_part(&v, BodyPart::Meta), Some(&meta[..]));
        }

        #[test]
        fn damaged_body_records_are_refused_not_misread(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            // Whatever the bytes, a part is either None or lies inside the record.
            for part in [BodyPart::Raw, BodyPart::Text, BodyPart::Meta] {
                if let Some(p) = body_part(&v, part) {
                    prop_assert!(p.len() <= v.len().saturating_sub(16));
                }
            }
        }

        #[test]
        fn message_records_round_trip(hash in any::<[u8; 32]>(), modseq in any::<u64>(), date in any::<i64>(),
                                      size in any::<u64>(), sys in 0u8..32,
                                      kws in proptest::collection::vec("[A-Za-z$]{1,20}", 0..5)) {
            let mut flags = Flags::from_parts(sys, Vec::new());
            for k in &kws {
                flags.insert(Flag::Keyword(Keyword::new(k).unwrap()));
            }
            let v = encode_msg(&hash, modseq, date, size, &flags);
            let r = decode_msg(&v).unwrap();
            prop_assert_eq!(r.hash, hash);
            prop_assert_eq!(r.modseq, modseq);
            prop_assert_eq!(r.internal_date, date);
            prop_assert_eq!(r.size, size);
            prop_assert_eq!(r.flags, flags);
            // Any truncation or extension is rejected, never misread.
            for cut in 0..v.len() {
                prop_assert!(decode_msg(&v[..cut]).is_none());
            }
            let mut longer = v.clone();
            longer.push(0);
            prop_assert!(decode_msg(&longer).is_none());
        }

        #[test]
        fn search_records_round_trip(subject in ".{0,40}", mid in proptest::option::of("[a-z@.]{1,20}"),
                                     date in proptest::option::of(any::<i64>()), off in any::<u32>(),
                                     names in proptest::collection::vec((proptest::option::of(".{0,10}"), proptest::option::of("[a-z@.]{0,10}")), 0..4),
                                     headers in proptest::collection::vec("[A-Za-z-]{1,12}", 0..6)) {
            let addrs: Vec<Address> = names.into_iter().map(|(name, address)| Address { name, address }).collect();
            let f = SearchFields {
                subject_lc: subject,
                message_id: mid,
                date,
                body_offset: off,
                from: addrs.clone(),
                to: addrs.iter().rev().cloned().collect(),
                cc: Vec::new(),
                bcc: addrs,
                header_names: headers,
            };
            let v = encode_search(&f);
            prop_assert_eq!(decode_search(&v).map(|x| view_to_fields(&x)), Some(f));
            for cut in 0..v.len() {
                prop_assert!(decode_search(&v[..cut]).is_none());
            }
        }

        #[test]
        fn decoders_never_panic(v in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode_msg(&v);
            let _ = decode_search(&v);
        }

        #[test]
        fn hex_round_trips(h in any::<[u8; 32]>()) {
            prop_assert_eq!(unhex(&hex(&h)), Some(h));
        }
    }
}
