//! IMAP SEARCH keys (imap-core) translated to the store's search (mailstore), so searches run
//! on the store's indexes instead of reading every message. Keys without an exact equivalent
//! (HEADER on decoded text, `$`) return `None` and the caller evaluates them itself.

use imap_core::syntax::{Date, SearchKey as K, SequenceSet};
use mailstore::{Flag, Keyword, ModSeq, SearchKey as S, Uid};

fn day(d: &Date) -> Option<i64> {
    let month = time::Month::try_from(d.month()).ok()?;
    let date = time::Date::from_calendar_date(i32::from(d.year()), month, d.day()).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

fn flag(f: Flag, set: bool) -> Option<S> {
    Some(S::Flag(f, set))
}

fn keyword(a: &imap_core::syntax::Atom, set: bool) -> Option<S> {
    Keyword::new(a.as_str())
        .ok()
        .map(|k| S::Flag(Flag::Keyword(k), set))
}

const DAY: i64 = 86_400;

/// The store query for `k`, or `None` when it must be evaluated by the server. `max_uid`
/// resolves `*` in UID sets. This server keeps no `\Recent`, so RECENT and NEW match nothing.
pub fn translate(k: &K, max_uid: u32) -> Option<S> {
    Some(match k {
        K::All | K::Old => S::All,
        K::Recent | K::New => S::Not(Box::new(S::All)),
        K::Answered => return flag(Flag::Answered, true),
        K::Unanswered => return flag(Flag::Answered, false),
        K::Deleted => return flag(Flag::Deleted, true),
        K::Undeleted => return flag(Flag::Deleted, false),
        K::Draft => return flag(Flag::Draft, true),
        K::Undraft => return flag(Flag::Draft, false),
        K::Flagged => return flag(Flag::Flagged, true),
        K::Unflagged => return flag(Flag::Flagged, false),
        K::Seen => return flag(Flag::Seen, true),
        K::Unseen => return flag(Flag::Seen, false),
        K::Keyword(a) => return keyword(a, true),
        K::Unkeyword(a) => return keyword(a, false),
        K::Bcc(s) => S::Bcc(s.clone()),
        K::Cc(s) => S::Cc(s.clone()),
        K::From(s) => S::From(s.clone()),
        K::To(s) => S::To(s.clone()),
        K::Subject(s) => S::Subject(s.clone()),
        K::Body(s) => S::Body(s.clone()),
        K::Text(s) => S::Text(s.clone()),
        K::Larger(n) => S::Larger(u64::from(*n)),
        K::Smaller(n) => S::Smaller(u64::from(*n)),
        K::Before(d) => S::Before(day(d)?),
        K::Since(d) => S::Since(day(d)?),
        K::On(d) => {
            let t = day(d)?;
            S::And(vec![S::Since(t), S::Before(t + DAY)])
        }
        K::SentBefore(d) => S::SentBefore(day(d)?),
        K::SentSince(d) => S::SentSince(day(d)?),
        K::SentOn(d) => {
            let t = day(d)?;
            S::And(vec![S::SentSince(t), S::SentBefore(t + DAY)])
        }
        K::ModSeq(n) => S::ModSeqAtLeast(ModSeq(*n)),
        K::Uid(SequenceSet::Ranges(r)) => {
            let mut v = Vec::new();
            for range in r.ranges() {
                let (a, b) = range.bounds(max_uid);
                if let (Some(a), Some(b)) = (Uid::new(a), Uid::new(b)) {
                    v.push((a, b));
                }
            }
            S::Uids(v)
        }
        K::Not(a) => S::Not(Box::new(translate(a, max_uid)?)),
        K::Or(a, b) => S::Or(
            Box::new(translate(a, max_uid)?),
            Box::new(translate(b, max_uid)?),
        ),
        K::And(v) => S::And(
            v.iter()
                .map(|x| translate(x, max_uid))
                .collect::<Option<Vec<_>>>()?,
        ),
        K::Header(..) | K::Uid(SequenceSet::Saved) | K::SequenceSet(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_flags_dates_sets_and_refuses_header() {
        let d = Date::new(2026, 12, 6).unwrap();
        let q = translate(
            &K::And(vec![K::Unseen, K::On(d), K::Subject("会议".into())]),
            10,
        )
        .unwrap();
        let S::And(v) = q else { panic!("{q:?}") };
        assert_eq!(v[0], S::Flag(Flag::Seen, false));
        assert_eq!(
            v[1],
            S::And(vec![S::Since(1_796_515_200), S::Before(1_796_601_600)])
        );
        assert_eq!(v[2], S::Subject("会议".into()));
        assert!(translate(&K::Header("X-A".into(), "b".into()), 10).is_none());
        assert!(translate(&K::Not(Box::new(K::Header("X".into(), "".into()))), 10).is_none());
    }
}
