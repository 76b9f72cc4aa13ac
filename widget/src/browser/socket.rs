//! The WebSocket to the sync server: connects, reconnects with backoff
//! (0.5 s doubling to 5 s), and hands frames to the [`super::controller`].
//!
//! Each connection has a generation number; callbacks of an older socket
//! (late `onmessage`/`onclose` after a reconnect) are ignored, so a reconnect
//! storm never lets two sockets feed the same sync state.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::controller::{self, Incoming};
use crate::state::sync_client::Outgoing;

pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Sends frames; a failed send means the socket is closing and the sync
    /// resumes on reconnect.
    pub fn send_all(&self, out: Vec<Outgoing>) {
        for frame in out {
            let _ = match frame {
                Outgoing::Text(text) => self.ws.send_with_str(&text),
                Outgoing::Binary(bytes) => self.ws.send_with_u8_array(&bytes),
            };
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Detach the callbacks before their closures are freed.
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Opens a socket to `url` for connection `generation`.
pub fn open(url: &str, generation: u64) -> Option<Socket> {
    let ws = WebSocket::new(url).ok()?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = Closure::<dyn FnMut()>::new(move || {
        controller::on_socket(generation, Incoming::Open);
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let incoming = if let Some(text) = data.as_string() {
            Incoming::Text(text)
        } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
            Incoming::Binary(js_sys::Uint8Array::new(&buffer).to_vec())
        } else {
            return;
        };
        controller::on_socket(generation, incoming);
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
        controller::on_socket(generation, Incoming::Closed);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    })
}

/// Calls `retry` after `delay_ms`.
pub fn after(delay_ms: i32, retry: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(retry);
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.unchecked_ref(),
            delay_ms,
        );
    }
}
