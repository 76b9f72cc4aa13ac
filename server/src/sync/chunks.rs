//! Checks the changes a sync message carries before they are applied.
//!
//! Automerge applies what it can of a corrupted chunk list and skips the rest
//! silently (a "partial load"): a change whose checksum does not match would
//! simply not be there, and the sender would get no answer at all. So every
//! chunk is read here first: its header, its checksum (the first four bytes
//! of its SHA-256 hash), and for changes their columns, and a message with
//! any chunk that does not read whole is `invalid_sync_message` (also one
//! that makes Automerge's parser panic, see [`crate::panic_guard`]).

use automerge::Change;
use sha2::{Digest, Sha256};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;

/// An unsigned LEB128 number at the start of `bytes`, and how many bytes it took.
fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Checks one element of a sync message's change list (one or more chunks
/// one after another). `Err` says what is wrong.
pub fn check(mut bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("an empty change chunk".into());
    }
    while !bytes.is_empty() {
        if bytes.len() < 9 || bytes[..4] != MAGIC {
            return Err("a change chunk does not start with Automerge's magic bytes".into());
        }
        let checksum = &bytes[4..8];
        let kind = bytes[8];
        let (length, taken) =
            uleb128(&bytes[9..]).ok_or("a change chunk's length is unreadable")?;
        let start = 9 + taken;
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| start.checked_add(length))
            .filter(|end| *end <= bytes.len())
            .ok_or("a change chunk is cut short")?;
        let chunk = &bytes[..end];
        let hash: [u8; 32] = match kind {
            DOCUMENT => Sha256::new()
                .chain_update([kind])
                .chain_update(&bytes[9..start])
                .chain_update(&bytes[start..end])
                .finalize()
                .into(),
            CHANGE | COMPRESSED_CHANGE => {
                // Automerge 0.5.12 panics on some malformed changes (op
                // counters beyond u32): a refusal like any other.
                crate::panic_guard::catching(|| Change::try_from(chunk).map(|c| c.hash().0))
                    .ok_or("a change does not read: a value in it is out of range")?
                    .map_err(|err| format!("a change does not read: {err}"))?
            }
            other => return Err(format!("unknown chunk type {other}")),
        };
        if hash[..4] != *checksum {
            return Err("a change chunk's checksum does not match its content".into());
        }
        bytes = &bytes[end..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::AutoCommit;

    use super::*;

    fn doc_with_changes() -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "subject", "Printer offline")
            .unwrap();
        doc.commit();
        doc.put(automerge::ROOT, "status", "new").unwrap();
        doc.commit();
        doc
    }

    #[test]
    fn whole_changes_and_documents_pass() {
        let mut doc = doc_with_changes();
        let changes = doc.get_changes(&[]);
        let one = changes[0].raw_bytes().to_vec();
        let both: Vec<u8> = changes
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        assert_eq!(check(&one), Ok(()));
        assert_eq!(
            check(&both),
            Ok(()),
            "several chunks in one element (v2 messages)"
        );
        assert_eq!(check(&doc.save()), Ok(()));
    }

    #[test]
    fn a_corrupted_checksum_content_or_length_is_refused() {
        let mut doc = doc_with_changes();
        let change = doc.get_changes(&[])[0].raw_bytes().to_vec();
        let mut bad_checksum = change.clone();
        bad_checksum[5] ^= 0xff;
        assert!(check(&bad_checksum).unwrap_err().contains("checksum"));
        let mut bad_content = change.clone();
        let last = bad_content.len() - 1;
        bad_content[last] ^= 0x01;
        assert!(check(&bad_content).is_err());
        assert!(check(&change[..change.len() - 1]).is_err(), "cut short");
        let mut saved = doc.save();
        let last = saved.len() - 1;
        saved[last] ^= 0x01;
        assert!(check(&saved).is_err(), "a corrupted document chunk");
        assert!(check(&[]).is_err());
        assert!(check(b"not a chunk at all").is_err());
        let mut trailing = change.clone();
        trailing.extend_from_slice(&MAGIC);
        assert!(
            check(&trailing).is_err(),
            "a partial chunk after a whole one"
        );
    }
}
