//! Attachments: uploading a file for a ticket (its customer, with the
//! ticket's token or an email link's grant; or its staff), and reading one
//! back. The bytes are checked and cleaned first (`crate::files`), stored once
//! by content address, and recorded as uploaded for the ticket, which is what
//! lets a message of that ticket refer to them.

use stufe_shared::files::{clean_name, MAX_TICKET_FILE_BYTES};
use stufe_shared::ticket::FileRef;
use stufe_shared::{SiteKey, TicketId};

use super::requests::ticket_for;
use super::DeskError;
use crate::clock::now_ms;
use crate::files::{prepare, FileError};
use crate::storage::{self, FileAdded, StaffMember, StoredFile};
use crate::tokens::token_hash;
use crate::AppState;

/// Who is uploading or downloading.
pub enum Party<'a> {
    /// The customer, on `site`, with the ticket's capability token or a grant
    /// from an email link.
    Customer {
        site: &'a SiteKey,
        credential: &'a str,
    },
    Staff(&'a StaffMember),
    /// The customer, by an email answer already checked to come from the
    /// ticket's confirmed address (`crate::desk::email_replies`).
    VerifiedSender,
}

/// Why an upload was not taken.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("this request's files may total at most 50 MiB; {used} bytes are used")]
    TicketFull { used: i64 },
}

/// Whether `party` may attach to and read the files of `ticket`.
async fn may_use(state: &AppState, party: &Party<'_>, ticket: TicketId) -> Result<(), DeskError> {
    match party {
        Party::Staff(member) => ticket_for(state, member, ticket).await.map(drop),
        Party::VerifiedSender => Ok(()),
        Party::Customer { site, credential } => {
            let key = ticket.to_string();
            let access = storage::blocking(&state.storage, move |s| s.ticket_access(&key)).await?;
            let Some((its_site, its_token_hash)) = access else {
                return Err(DeskError::not_found("no such ticket"));
            };
            if its_site != site.as_str() {
                return Err(DeskError::not_found("no such ticket"));
            }
            if token_hash(credential) == its_token_hash {
                return Ok(());
            }
            let now = now_ms();
            if crate::links::is_grant(credential)
                && crate::links::check(&state.link_key, ticket, credential, now)
            {
                let key = ticket.to_string();
                let revoked =
                    storage::blocking(&state.storage, move |s| s.links_revoked_at(&key)).await?;
                let issued = crate::links::issued_at(credential);
                if issued.is_some_and(|at| revoked.is_none_or(|r| at > r)) {
                    return Ok(());
                }
            }
            Err(DeskError::not_allowed(
                "this token does not open this ticket",
            ))
        }
    }
}

/// Takes a file for `ticket`: checked (type from the content, size), image
/// location metadata removed, stored; answers the reference a message carries.
pub async fn upload(
    state: &AppState,
    party: Party<'_>,
    ticket: TicketId,
    name: &str,
    bytes: Vec<u8>,
) -> Result<FileRef, UploadError> {
    let name = clean_name(name).ok_or_else(|| {
        DeskError::invalid("a file needs a name (1–255 characters, without a path)")
    })?;
    may_use(state, &party, ticket).await?;
    // Reading a picture's container takes a while for a large one.
    let prepared = tokio::task::spawn_blocking(move || prepare(bytes))
        .await
        .map_err(|_| DeskError::invalid("the file could not be read"))??;
    let stored = StoredFile {
        hash: prepared.hash,
        mime: prepared.mime.to_owned(),
        size: i64::try_from(prepared.bytes.len()).unwrap_or(i64::MAX),
    };
    let reference = FileRef {
        hash: stored.hash.clone(),
        name,
        mime: stored.mime.clone(),
        size: stored.size,
    };
    let key = ticket.to_string();
    let added = storage::blocking(&state.storage, move |s| {
        s.add_ticket_file(
            &key,
            &stored,
            &prepared.bytes,
            now_ms(),
            MAX_TICKET_FILE_BYTES,
        )
    })
    .await
    .map_err(DeskError::from)?;
    match added {
        FileAdded::Added { .. } => Ok(reference),
        FileAdded::OverLimit { total } => Err(UploadError::TicketFull { used: total }),
    }
}

/// A file uploaded for `ticket`, with its bytes.
pub async fn download(
    state: &AppState,
    party: Party<'_>,
    ticket: TicketId,
    hash: &str,
) -> Result<(StoredFile, Vec<u8>), DeskError> {
    if !stufe_shared::files::is_file_hash(hash) {
        return Err(DeskError::not_found("no such file"));
    }
    may_use(state, &party, ticket).await?;
    let (key, hash) = (ticket.to_string(), hash.to_owned());
    storage::blocking(&state.storage, move |s| s.ticket_file(&key, &hash))
        .await?
        .ok_or_else(|| DeskError::not_found("no such file"))
}

/// Every file in `files` was uploaded for `ticket`, as it says (staff replies
/// are checked here; customers' messages by the hub's gate).
pub async fn check_uploaded(
    state: &AppState,
    ticket: TicketId,
    files: &[FileRef],
) -> Result<(), DeskError> {
    if files.is_empty() {
        return Ok(());
    }
    stufe_shared::files::check_refs(files).map_err(DeskError::invalid)?;
    let key = ticket.to_string();
    let uploaded = storage::blocking(&state.storage, move |s| s.ticket_files(&key)).await?;
    for file in files {
        let matches = uploaded
            .iter()
            .any(|u| u.hash == file.hash && u.mime == file.mime && u.size == file.size);
        if !matches {
            return Err(DeskError::invalid(format!(
                "the file {:?} was not uploaded for this ticket",
                file.name
            )));
        }
    }
    Ok(())
}
