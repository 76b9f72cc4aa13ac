//! The WebSocket wire protocol (see `docs/protocol.md` for the prose version).
//!
//! Two kinds of WebSocket message travel on one connection:
//! - **text** messages carry JSON control frames ([`ClientFrame`], [`ServerFrame`]);
//! - **binary** messages carry one Automerge sync message for one document:
//!   `[n: u8][n bytes: ASCII doc id][rest: automerge sync message]` ([`SyncFrame`]).

use serde::{Deserialize, Serialize};

use crate::ids::{DocId, IdError};

/// Protocol version announced in [`ServerFrame::Hello`].
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest WebSocket message the server processes; larger ones get `frame_too_large`.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Largest saved size of one ticket document; a change that would grow it past this is rejected.
pub const MAX_TICKET_DOC_BYTES: usize = 1024 * 1024;
/// How many documents one connection may have open at once.
pub const MAX_OPEN_DOCS: usize = 64;
/// Frames per second a connection may send on average (with a burst of twice that).
pub const MAX_FRAMES_PER_SECOND: u32 = 50;
/// A typing signal (either way) is passed on at most once per this many
/// milliseconds per typist and ticket; more often, it is dropped silently.
pub const TYPING_EVERY_MS: u64 = 2_000;
/// How long a typing signal shows ("Sam is typing…") unless another one comes.
pub const TYPING_SHOWN_MS: u64 = 6_000;

/// A control frame sent by a client (JSON in a text message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Subscribe to a document. `token` is a ticket's capability token (a
    /// ticket id the server has never seen is created by the first valid change
    /// sent after opening it, and the token given here becomes its token); a
    /// knowledge base (`kb:<site>:<locale>`) needs none.
    Open {
        doc: String,
        #[serde(default)]
        token: String,
    },
    /// Unsubscribe from a document.
    Close { doc: String },
    /// Sign the connection in as a customer the site vouches for: `token` is
    /// a JWT (HS256) the site's backend signed with the site's identity secret.
    /// Answered with [`ServerFrame::Identified`] or an `identity_refused` error.
    Identify { token: String },
    /// The customer is typing in this (open) ticket: shown to the staff who
    /// have it open. Ephemeral: never stored, never in a document.
    Typing { doc: String },
}

/// A control frame sent by the server (JSON in a text message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Hello {
        protocol: u32,
        max_frame_bytes: usize,
    },
    /// The document is open; sync messages for it may flow. `exists` is false
    /// for a ticket id the server has not stored yet.
    Opened { doc: String, exists: bool },
    /// Everything up to `heads` (hex change hashes) is committed to storage.
    Ack { doc: String, heads: Vec<String> },
    /// The connection is signed in as `user` (the site's id for them);
    /// `tickets` are the ids of their tickets on this site, newest first
    /// (at most 100), which the connection may open without their tokens.
    Identified { user: String, tickets: Vec<String> },
    /// Someone of the staff is typing a reply in this ticket: show it for
    /// [`TYPING_SHOWN_MS`], or until their reply arrives. `name` is theirs when
    /// the site shows staff names, absent otherwise (say "Support").
    /// Ephemeral: never stored, never in a document.
    Typing {
        doc: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        name: Option<String>,
    },
    /// Something was refused. Nothing of the refused frame was stored or forwarded.
    Error {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        doc: Option<String>,
        code: ErrorCode,
        message: String,
    },
}

/// Machine-readable reason in an error frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame could not be parsed (bad JSON, bad binary header, bad doc id).
    BadFrame,
    /// The frame exceeds [`MAX_FRAME_BYTES`].
    FrameTooLarge,
    /// The binary payload is not an Automerge sync message.
    InvalidSyncMessage,
    /// A sync frame for a document that was not opened on this connection.
    NotOpen,
    /// The token does not grant access to this document.
    Forbidden,
    /// The change breaks the document schema or the sender's role rules.
    RejectedChange,
    /// The change would make the document larger than the limit.
    DocTooLarge,
    /// Too many open documents on this connection.
    TooManyDocs,
    /// Too many frames per second.
    RateLimited,
    /// The server failed; the frame was not applied. Retrying later is safe.
    Internal,
    /// The identity token was refused (bad signature, expired, malformed).
    IdentityRefused,
    /// The site lets only signed-in customers open tickets; identify first.
    IdentityRequired,
    /// The ticket was erased for its customer (GDPR): drop every copy of it;
    /// nothing of it will be stored again.
    Erased,
}

/// Why a binary frame could not be split into doc id and payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("binary frame is shorter than its doc id header")]
    Truncated,
    #[error("doc id in binary frame is not ASCII")]
    NotAscii,
    #[error(transparent)]
    BadDocId(#[from] IdError),
}

/// A binary sync frame: one Automerge sync message for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFrame {
    pub doc: DocId,
    pub message: Vec<u8>,
}

impl SyncFrame {
    pub fn encode(&self) -> Vec<u8> {
        encode_sync_frame(&self.doc, &self.message)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let (&len, rest) = bytes.split_first().ok_or(FrameError::Truncated)?;
        let len = usize::from(len);
        if rest.len() < len {
            return Err(FrameError::Truncated);
        }
        let (id, message) = rest.split_at(len);
        let id = std::str::from_utf8(id)
            .ok()
            .filter(|s| s.is_ascii())
            .ok_or(FrameError::NotAscii)?;
        Ok(Self {
            doc: id.parse()?,
            message: message.to_vec(),
        })
    }
}

/// Encodes a sync frame without copying the message first.
pub fn encode_sync_frame(doc: &DocId, message: &[u8]) -> Vec<u8> {
    let id = doc.to_string();
    let len = u8::try_from(id.len()).expect("doc ids are shorter than 256 bytes");
    let mut out = Vec::with_capacity(1 + id.len() + message.len());
    out.push(len);
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(message);
    out
}

/// A capability token: 32 random bytes as 64 lowercase hex characters.
pub fn is_well_formed_token(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_frames_round_trip() {
        let doc: DocId = "ticket:00112233445566778899aabbccddeeff".parse().unwrap();
        let frame = SyncFrame {
            doc,
            message: vec![0x42, 1, 2, 3],
        };
        assert_eq!(SyncFrame::decode(&frame.encode()).unwrap(), frame);
    }

    #[test]
    fn broken_sync_frames_are_errors() {
        assert_eq!(SyncFrame::decode(&[]), Err(FrameError::Truncated));
        assert_eq!(SyncFrame::decode(&[10, b'a']), Err(FrameError::Truncated));
        assert!(matches!(
            SyncFrame::decode(&[3, b'a', b'b', b'c', 9]),
            Err(FrameError::BadDocId(_))
        ));
    }

    #[test]
    fn control_frames_have_stable_json() {
        let open: ClientFrame =
            serde_json::from_str(r#"{"type":"open","doc":"ticket:x","token":"t"}"#).unwrap();
        assert_eq!(
            open,
            ClientFrame::Open {
                doc: "ticket:x".into(),
                token: "t".into()
            }
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"open"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"open","doc":"d","x":1}"#).is_err());
        let err = ServerFrame::Error {
            doc: None,
            code: ErrorCode::FrameTooLarge,
            message: "too big".into(),
        };
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"type":"error","code":"frame_too_large","message":"too big"}"#
        );
    }

    #[test]
    fn typing_frames_have_stable_json() {
        let typing: ClientFrame =
            serde_json::from_str(r#"{"type":"typing","doc":"ticket:x"}"#).unwrap();
        assert_eq!(
            typing,
            ClientFrame::Typing {
                doc: "ticket:x".into()
            }
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"typing"}"#).is_err());
        let named = ServerFrame::Typing {
            doc: "ticket:x".into(),
            name: Some("Sam".into()),
        };
        assert_eq!(
            serde_json::to_string(&named).unwrap(),
            r#"{"type":"typing","doc":"ticket:x","name":"Sam"}"#
        );
        let unnamed = ServerFrame::Typing {
            doc: "ticket:x".into(),
            name: None,
        };
        assert_eq!(
            serde_json::to_string(&unnamed).unwrap(),
            r#"{"type":"typing","doc":"ticket:x"}"#
        );
    }

    #[test]
    fn tokens_must_be_64_lowercase_hex() {
        assert!(is_well_formed_token(&"ab".repeat(32)));
        assert!(!is_well_formed_token(&"AB".repeat(32)));
        assert!(!is_well_formed_token("abc"));
    }
}
