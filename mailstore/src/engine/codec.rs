//! Keys and record encodings of the on-disk format.

use serde::{Deserialize, Serialize};

use crate::acl::Rights;
use crate::flags::{Flags, Keyword, SpecialUse};
use crate::ids::{AccountId, MailboxName};
use crate::records::Quota;

pub(crate) type Hash = [u8; 32];

pub(crate) fn u64_key(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub(crate) fn msg_key(mbox: u64, uid: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(12);
    k.extend_from_slice(&mbox.to_be_bytes());
    k.extend_from_slice(&uid.to_be_bytes());
    k
}

pub(crate) fn parse_u64(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.get(..8)?.try_into().ok()?))
}

pub(crate) fn parse_msg_key(k: &[u8]) -> Option<(u64, u32)> {
    if k.len() != 12 {
        return None;
    }
    Some((
        parse_u64(k)?,
        u32::from_be_bytes(k.get(8..12)?.try_into().ok()?),
    ))
}

pub(crate) fn read_key(message_id: &str, account: &AccountId) -> Vec<u8> {
    let mut k = message_id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(account.as_str().as_bytes());
    k
}

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReadRec {
    pub first_seen: i64,
}

/// Message record: hash(32) modseq(8) internal_date(8) system(1) n_keywords(2) {len(1) bytes}*
pub(crate) fn encode_msg(hash: &Hash, modseq: u64, internal_date: i64, flags: &Flags) -> Vec<u8> {
    let mut v = Vec::with_capacity(51);
    v.extend_from_slice(hash);
    v.extend_from_slice(&modseq.to_be_bytes());
    v.extend_from_slice(&internal_date.to_be_bytes());
    v.push(flags.system_bits());
    let kws = flags.keywords();
    v.extend_from_slice(&(kws.len().min(u16::MAX as usize) as u16).to_be_bytes());
    for k in kws.iter().take(u16::MAX as usize) {
        let b = k.as_str().as_bytes();
        v.push(b.len() as u8);
        v.extend_from_slice(b);
    }
    v
}

pub(crate) struct MsgRec {
    pub hash: Hash,
    pub modseq: u64,
    pub internal_date: i64,
    pub flags: Flags,
}

pub(crate) fn decode_msg(v: &[u8]) -> Option<MsgRec> {
    let hash: Hash = v.get(..32)?.try_into().ok()?;
    let modseq = u64::from_be_bytes(v.get(32..40)?.try_into().ok()?);
    let internal_date = i64::from_be_bytes(v.get(40..48)?.try_into().ok()?);
    let system = *v.get(48)?;
    let n = u16::from_be_bytes(v.get(49..51)?.try_into().ok()?) as usize;
    let mut pos = 51;
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
    Some(MsgRec {
        hash,
        modseq,
        internal_date,
        flags: Flags::from_parts(system, kws),
    })
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
        fn message_records_round_trip(hash in any::<[u8; 32]>(), modseq in any::<u64>(), date in any::<i64>(),
                                      sys in 0u8..32, kws in proptest::collection::vec("[A-Za-z$]{1,20}", 0..5)) {
            let mut flags = Flags::from_parts(sys, Vec::new());
            for k in &kws {
                flags.insert(Flag::Keyword(Keyword::new(k).unwrap()));
            }
            let v = encode_msg(&hash, modseq, date, &flags);
            let r = decode_msg(&v).unwrap();
            prop_assert_eq!(r.hash, hash);
            prop_assert_eq!(r.modseq, modseq);
            prop_assert_eq!(r.internal_date, date);
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
        fn decode_msg_never_panics(v in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode_msg(&v);
        }

        #[test]
        fn keys_round_trip(m in any::<u64>(), u in any::<u32>(), h in any::<[u8; 32]>()) {
            prop_assert_eq!(parse_msg_key(&msg_key(m, u)), Some((m, u)));
            prop_assert_eq!(parse_u64(&u64_key(m)), Some(m));
            prop_assert_eq!(unhex(&hex(&h)), Some(h));
        }
    }
}
