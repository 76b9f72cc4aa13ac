//! Attachments: the limits and rules every side checks. Files travel over
//! HTTP, are stored by the server (content-addressed), and a message refers
//! to them with a [`FileRef`]; see `docs/protocol.md`, "Attachments".

use crate::ticket::FileRef;

/// The largest file, in bytes (10 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// All files of one ticket together, in bytes (50 MiB).
pub const MAX_TICKET_FILE_BYTES: i64 = 50 * 1024 * 1024;
/// Files one message may carry.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// A file name's length, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// The media types accepted, as the server finds them in the content (never
/// from the name or the uploader's word).
pub const ALLOWED_TYPES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// Whether a file of `mime` is shown as a picture (the others are links).
pub fn is_image(mime: &str) -> bool {
    mime.starts_with("image/")
}

/// A file name as it is kept: its last path part, control characters and
/// quotes dropped, cut to [`MAX_FILE_NAME_CHARS`]; None when nothing is left.
pub fn clean_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    let name = name.trim().to_owned();
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// Whether `hash` is a SHA-256 as the server writes it (64 lowercase hex).
pub fn is_file_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The shape of a message's file references: how many, and each one's hash,
/// name, type and size. (Whether each was uploaded for the ticket is for the
/// server to check.)
pub fn check_refs(files: &[FileRef]) -> Result<(), String> {
    if files.len() > MAX_FILES_PER_MESSAGE {
        return Err(format!(
            "a message carries at most {MAX_FILES_PER_MESSAGE} files"
        ));
    }
    for file in files {
        if !is_file_hash(&file.hash) {
            return Err("a file's hash is 64 lowercase hex characters".into());
        }
        if clean_name(&file.name).as_deref() != Some(file.name.as_str()) {
            return Err(
                "a file's name is 1–255 characters without paths, quotes or control characters"
                    .into(),
            );
        }
        if !ALLOWED_TYPES.contains(&file.mime.as_str()) {
            return Err(format!("files of type {:?} are not accepted", file.mime));
        }
        if !(1..=MAX_FILE_BYTES as i64).contains(&file.size) {
            return Err("a file's size is 1 byte to 10 MiB".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileRef {
        FileRef {
            hash: "ab".repeat(32),
            name: "error.png".into(),
            mime: "image/png".into(),
            size: 1234,
        }
    }

    #[test]
    fn names_keep_their_last_part_without_controls_or_quotes() {
        assert_eq!(
            clean_name("C:\\Users\\jo\\shot.png").as_deref(),
            Some("shot.png")
        );
        assert_eq!(clean_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_name("a\"b\u{0}c.pdf").as_deref(), Some("abc.pdf"));
        assert_eq!(clean_name("  "), None);
        assert_eq!(clean_name("dir/"), None);
        assert_eq!(clean_name(".."), None);
        assert_eq!(clean_name(&"x".repeat(300)).unwrap().chars().count(), 255);
    }

    #[test]
    fn references_are_checked_for_shape() {
        assert!(check_refs(&[file()]).is_ok());
        let with = |change: fn(&mut FileRef)| {
            let mut f = file();
            change(&mut f);
            check_refs(&[f])
        };
        assert!(with(|f| f.hash = "AB".repeat(32)).is_err());
        assert!(with(|f| f.hash = "ab".into()).is_err());
        assert!(with(|f| f.name = "a/b.png".into()).is_err());
        assert!(with(|f| f.name = String::new()).is_err());
        assert!(with(|f| f.mime = "text/html".into()).is_err());
        assert!(with(|f| f.size = 0).is_err());
        assert!(with(|f| f.size = MAX_FILE_BYTES as i64 + 1).is_err());
        assert!(check_refs(&vec![file(); MAX_FILES_PER_MESSAGE + 1]).is_err());
    }
}
