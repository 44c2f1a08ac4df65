//! Keys of the on-disk format 2. Everything of one account (its mailboxes, archive, mail
//! log, grants it received) is one key range `account \0 ...`; everything of one mailbox (its
//! messages and vanished UIDs) is one key range `mailbox id ...`.

use crate::ids::AccountId;

pub(crate) fn u64_key(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub(crate) fn parse_u64(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.get(..8)?.try_into().ok()?))
}

/// `mailbox id BE ++ uid BE`: a mailbox's messages (and vanished UIDs) are one range.
pub(crate) fn msg_key(mbox: u64, uid: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(12);
    k.extend_from_slice(&mbox.to_be_bytes());
    k.extend_from_slice(&uid.to_be_bytes());
    k
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

/// `account \0`: the prefix of everything keyed by account.
pub(crate) fn account_prefix(a: &AccountId) -> Vec<u8> {
    let mut k = Vec::with_capacity(a.as_str().len() + 9);
    k.extend_from_slice(a.as_str().as_bytes());
    k.push(0);
    k
}

/// `account \0 id BE` (mailboxes, archive, grants).
pub(crate) fn account_id_key(a: &AccountId, id: u64) -> Vec<u8> {
    let mut k = account_prefix(a);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The id of an `account \0 id BE` key whose prefix was matched.
pub(crate) fn parse_account_id_key(k: &[u8]) -> Option<u64> {
    if k.len() < 9 {
        return None;
    }
    parse_u64(&k[k.len() - 8..])
}

/// Times sort as unsigned big-endian once the sign bit is flipped.
fn time_bytes(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// `account \0 time ++ seq`: an account's log in time order, a time window is one range.
pub(crate) fn log_key(a: &AccountId, time: i64, seq: u64) -> Vec<u8> {
    let mut k = account_prefix(a);
    k.extend_from_slice(&time_bytes(time));
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The first log key at or after `time`.
pub(crate) fn log_bound(a: &AccountId, time: i64) -> Vec<u8> {
    let mut k = account_prefix(a);
    k.extend_from_slice(&time_bytes(time));
    k
}

/// `message-id \0 account`: a message's receipts are one range.
pub(crate) fn read_key(message_id: &str, account: &AccountId) -> Vec<u8> {
    let mut k = read_prefix(message_id);
    k.extend_from_slice(account.as_str().as_bytes());
    k
}

pub(crate) fn read_prefix(message_id: &str) -> Vec<u8> {
    let mut k = message_id.as_bytes().to_vec();
    k.push(0);
    k
}

/// The smallest key greater than every key starting with `prefix` (`None`: no such key).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keys_round_trip(m in any::<u64>(), u in any::<u32>()) {
            prop_assert_eq!(parse_msg_key(&msg_key(m, u)), Some((m, u)));
            prop_assert_eq!(parse_u64(&u64_key(m)), Some(m));
            let a = AccountId::new("x@example.org").unwrap();
            prop_assert_eq!(parse_account_id_key(&account_id_key(&a, m)), Some(m));
        }

        #[test]
        fn log_keys_sort_by_time(t1 in any::<i64>(), t2 in any::<i64>(), s1 in any::<u64>(), s2 in any::<u64>()) {
            let a = AccountId::new("x@example.org").unwrap();
            prop_assert_eq!((t1, s1).cmp(&(t2, s2)), log_key(&a, t1, s1).cmp(&log_key(&a, t2, s2)));
        }
    }

    #[test]
    fn account_ranges_do_not_overlap() {
        // "a@x.org" must not see "a@x.org.cn"'s keys: the \0 separator ends the prefix.
        let a = AccountId::new("a@x.org").unwrap();
        let b = AccountId::new("a@x.org.cn").unwrap();
        let pa = account_prefix(&a);
        assert!(!account_id_key(&b, 1).starts_with(&pa));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
