//! What every Stufe widget carries whatever it shows: Leptos mounting one
//! reactive view, and the Automerge calls a syncing widget cannot do
//! without. Each half can be built alone (features `automerge`, `leptos`).

#[cfg(feature = "automerge")]
mod crdt {
    use automerge::sync::{Message, State, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
    use wasm_bindgen::prelude::*;

    /// Loads a document, takes a peer's sync message, writes a map, a list
    /// and text, reads them, saves, and answers the peer.
    #[wasm_bindgen]
    pub fn sync_once(bytes: &[u8], incoming: &[u8]) -> Vec<u8> {
        let mut doc = AutoCommit::load(bytes).unwrap_or_else(|_| AutoCommit::new());
        let mut state = State::new();
        if let Ok(message) = Message::decode(incoming) {
            let _ = doc.sync().receive_sync_message(&mut state, message);
        }
        let mut out = Vec::new();
        if let Ok(list) = doc.put_object(ROOT, "messages", ObjType::List) {
            if let Ok(text) = doc.insert_object(&list, 0, ObjType::Text) {
                let _ = doc.splice_text(&text, 0, 0, "hello");
                out.extend(doc.text(&text).unwrap_or_default().into_bytes());
            }
        }
        let _ = doc.put(ROOT, "status", "new");
        let _ = doc.get(ROOT, "status");
        out.extend(doc.save());
        if let Some(message) = doc.sync().generate_sync_message(&mut state) {
            out.extend(message.encode());
        }
        out
    }
}

#[cfg(feature = "leptos")]
mod view {
    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;

    /// Mounts a button that counts its clicks.
    #[wasm_bindgen(start)]
    pub fn start() {
        let (count, set_count) = signal(0);
        mount_to_body(move || {
            view! { <button on:click=move |_| set_count.update(|c| *c += 1)>{count}</button> }
        });
    }
}
