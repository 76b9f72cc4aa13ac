//! The socket's frame decoders: a binary sync frame (and the Automerge sync
//! message inside it) and a JSON control frame. Nothing may panic; a frame
//! that decodes encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stufe_shared::protocol::{encode_sync_frame, ClientFrame, SyncFrame};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = SyncFrame::decode(data) {
        assert_eq!(
            encode_sync_frame(&frame.doc, &frame.message),
            data,
            "a decoded frame encodes back to its bytes"
        );
        let _ = automerge::sync::Message::decode(&frame.message);
    }
    let _ = serde_json::from_slice::<ClientFrame>(data);
});
