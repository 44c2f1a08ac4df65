//! In-place upgrades, one transaction per format step (all or nothing: an interrupted step
//! leaves the previous format, and the next open starts that step again).
//!
//! Format 1 keyed mailboxes, archive entries and mail-log records by a global id and kept
//! no reference counts (the whole index was rebuilt in memory at open). Format 2:
//! - mailboxes under `account \0 id`, plus `owners` (id -> account) and `grants`
//!   (grantee \0 id -> owner);
//! - message records carry the size;
//! - archive entries under `account \0 id`, with the size;
//! - mail-log records under `account \0 time ++ seq`;
//! - `refs` (hash -> references ++ binary search record) per body.
//!
//! Format 3 gathers a body's records (`blobs`, `texts`, `blobmeta`, keyed by hash) into one
//! `bodies` record keyed by a sequential body id, so a new body goes to the right edge of
//! one tree; `refs` (hash -> references ++ body id ++ search record) is the only table
//! keyed by hash, and `meta` holds the next body id.

use std::collections::HashMap;

use bytes::Bytes;

use super::backend::{Backend, Mutation, NEXT_BODY_KEY, OLD_BODY_TABLES, Op, Table, refs_record};
use super::codec::{self, ArchivedRec, Hash, MailboxRec};
use super::keys;
use super::state::{FORMAT_KEY, json};
use crate::error::{Result, StoreError};
use crate::flags::Flags;
use crate::meta::MessageMeta;
use crate::records::MailLogRecord;
use crate::search::SearchFields;

/// A format-1 message record: hash(32) modseq(8) internal_date(8) flags (no size).
pub(crate) fn decode_msg_v1(v: &[u8]) -> Option<(Hash, u64, i64, Flags)> {
    let hash: Hash = v.get(..32)?.try_into().ok()?;
    let modseq = u64::from_be_bytes(v.get(32..40)?.try_into().ok()?);
    let internal_date = i64::from_be_bytes(v.get(40..48)?.try_into().ok()?);
    let flags = codec::decode_flags(v, 48)?;
    Some((hash, modseq, internal_date, flags))
}

fn put(muts: &mut Vec<Mutation>, table: Table, key: Vec<u8>, value: impl Into<Bytes>) {
    muts.push(Mutation {
        table,
        key,
        op: Op::Put(value.into()),
    });
}

fn del(muts: &mut Vec<Mutation>, table: Table, key: Vec<u8>) {
    muts.push(Mutation {
        table,
        key,
        op: Op::Del,
    });
}

/// The mutations that turn the format-1 data in `backend` into format 2.
pub(crate) fn from_format_1(backend: &dyn Backend) -> Result<Vec<Mutation>> {
    let path = backend.location();
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.clone(),
        detail: format!("upgrading from format 1: {detail}"),
    };
    let mut muts = Vec::new();
    // Bodies: size, search record.
    let mut sizes: HashMap<Hash, u64> = HashMap::new();
    let mut search: HashMap<Hash, Vec<u8>> = HashMap::new();
    backend.scan(Table::BlobMeta, &mut |k, v| {
        let hash: Hash = k
            .try_into()
            .map_err(|_| corrupt("body key length".into()))?;
        let meta: MessageMeta = serde_json::from_slice(v)
            .map_err(|e| corrupt(format!("metadata of body {}: {e}", codec::hex(&hash))))?;
        sizes.insert(hash, meta.size);
        search.insert(hash, codec::encode_search(&SearchFields::of(&meta)));
        Ok(())
    })?;
    let mut refs: HashMap<Hash, u64> = HashMap::new();
    // Mailboxes.
    backend.scan(Table::Mailboxes, &mut |k, v| {
        if k.len() != 8 {
            return Err(corrupt("mailbox key".into()));
        }
        let id = keys::parse_u64(k).ok_or_else(|| corrupt("mailbox key".into()))?;
        let rec: MailboxRec =
            serde_json::from_slice(v).map_err(|e| corrupt(format!("mailbox {id}: {e}")))?;
        del(&mut muts, Table::Mailboxes, k.to_vec());
        put(
            &mut muts,
            Table::Mailboxes,
            keys::account_id_key(&rec.owner, id),
            v.to_vec(),
        );
        put(
            &mut muts,
            Table::Owners,
            keys::u64_key(id),
            rec.owner.as_str().as_bytes().to_vec(),
        );
        for (grantee, _) in &rec.acl {
            put(
                &mut muts,
                Table::Grants,
                keys::account_id_key(grantee, id),
                rec.owner.as_str().as_bytes().to_vec(),
            );
        }
        Ok(())
    })?;
    // Messages: add the size.
    backend.scan(Table::Messages, &mut |k, v| {
        let (mid, uid) = keys::parse_msg_key(k).ok_or_else(|| corrupt("message key".into()))?;
        let (hash, modseq, date, flags) =
            decode_msg_v1(v).ok_or_else(|| corrupt(format!("message {mid}/{uid} record")))?;
        let size = *sizes
            .get(&hash)
            .ok_or_else(|| corrupt(format!("message {mid}/{uid} refers to a missing body")))?;
        *refs.entry(hash).or_default() += 1;
        put(
            &mut muts,
            Table::Messages,
            k.to_vec(),
            codec::encode_msg(&hash, modseq, date, size, &flags),
        );
        Ok(())
    })?;
    // Archive.
    backend.scan(Table::Archive, &mut |k, v| {
        if k.len() != 8 {
            return Err(corrupt("archive key".into()));
        }
        let id = keys::parse_u64(k).ok_or_else(|| corrupt("archive key".into()))?;
        let mut rec: ArchivedRec =
            serde_json::from_slice(v).map_err(|e| corrupt(format!("archive {id}: {e}")))?;
        let hash = codec::unhex(&rec.hash).ok_or_else(|| corrupt(format!("archive {id} hash")))?;
        rec.size = *sizes
            .get(&hash)
            .ok_or_else(|| corrupt(format!("archive {id} refers to a missing body")))?;
        *refs.entry(hash).or_default() += 1;
        del(&mut muts, Table::Archive, k.to_vec());
        put(
            &mut muts,
            Table::Archive,
            keys::account_id_key(&rec.account, id),
            json(&rec),
        );
        Ok(())
    })?;
    // Mail log.
    backend.scan(Table::MailLog, &mut |k, v| {
        if k.len() != 8 {
            return Err(corrupt("mail log key".into()));
        }
        let seq = keys::parse_u64(k).ok_or_else(|| corrupt("mail log key".into()))?;
        let rec: MailLogRecord =
            serde_json::from_slice(v).map_err(|e| corrupt(format!("mail log {seq}: {e}")))?;
        del(&mut muts, Table::MailLog, k.to_vec());
        put(
            &mut muts,
            Table::MailLog,
            keys::log_key(&rec.account, rec.time, seq),
            v.to_vec(),
        );
        Ok(())
    })?;
    for (hash, n) in refs {
        // Format 2's refs record: count ++ search record.
        let mut rec = n.to_be_bytes().to_vec();
        rec.extend_from_slice(search.get(&hash).map(Vec::as_slice).unwrap_or_default());
        put(&mut muts, Table::Refs, hash.to_vec(), rec);
    }
    put(
        &mut muts,
        Table::Meta,
        FORMAT_KEY.to_vec(),
        2u32.to_le_bytes().to_vec(),
    );
    Ok(muts)
}

/// The mutations that turn the format-2 data in `backend` into format 3: each body gets an
/// id (in hash order), its three records become one `bodies` record under the id (the
/// writer merges them, so bodies are not held in memory here), and its refs record gains
/// the id.
pub(crate) fn from_format_2(backend: &dyn Backend) -> Result<Vec<Mutation>> {
    let path = backend.location();
    let mut muts = Vec::new();
    let mut next: u64 = 1;
    let mut referenced: std::collections::HashSet<Vec<u8>> = Default::default();
    backend.scan(Table::Refs, &mut |k, v| {
        let n = v
            .get(..8)
            .and_then(|n| n.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| StoreError::Corrupt {
                path: path.clone(),
                detail: format!(
                    "upgrading from format 2: reference record of body {}",
                    codec::hex_prefix(k)
                ),
            })?;
        let id = next.to_be_bytes();
        next += 1;
        referenced.insert(k.to_vec());
        muts.push(Mutation {
            // The key is the hash, a key of the format-2 body tables.
            table: Table::Blobs,
            key: k.to_vec(),
            op: Op::MergeBody(id),
        });
        put(
            &mut muts,
            Table::Refs,
            k.to_vec(),
            refs_record(n, &id, &v[8..]),
        );
        Ok(())
    })?;
    // Records of bodies without references (none should exist) go too.
    for t in OLD_BODY_TABLES {
        backend.scan(t, &mut |k, _| {
            if k.len() == 32 && !referenced.contains(k) {
                del(&mut muts, t, k.to_vec());
            }
            Ok(())
        })?;
    }
    put(
        &mut muts,
        Table::Meta,
        NEXT_BODY_KEY.to_vec(),
        next.to_be_bytes().to_vec(),
    );
    put(
        &mut muts,
        Table::Meta,
        FORMAT_KEY.to_vec(),
        3u32.to_le_bytes().to_vec(),
    );
    Ok(muts)
}
