//! Sync frames (binary): a peer's sync message for an open document received through the hub, the changes it waits for asked for, and what the peer lacks and the acknowledgements sent back.

use super::*;

impl<O: Sink<Message> + Unpin> Session<O> {
    pub(super) async fn on_binary(&mut self, bytes: &[u8]) -> bool {
        let frame = match SyncFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(err) => {
                return self
                    .send_error(None, ErrorCode::BadFrame, &err.to_string())
                    .await
            }
        };
        let id = frame.doc.clone();
        let Some(open) = self.open.get_mut(&id) else {
            return self
                .send_error(
                    Some(&frame.doc),
                    ErrorCode::NotOpen,
                    "open the document before syncing it",
                )
                .await;
        };
        let (limiter, address, site) = (&self.ctx.limiter, self.ctx.address, &self.ctx.site);
        let may_create = move |now: i64| {
            limiter
                .new_ticket(address, site, now)
                .map_err(|refused| refused.to_string())
        };
        let sender = Sender {
            id: self.id,
            role: self.ctx.role,
            site: &self.ctx.site,
            config: &self.ctx.config,
            may_create: &may_create,
        };
        let pending = open.pending.take();
        let result = self
            .ctx
            .hub
            .receive(
                &open.entry,
                &mut open.peer,
                &sender,
                &frame.message,
                pending.as_ref().map_or(&[][..], |p| &p.chunks),
            )
            .await;
        if open.peer.sent_hashes.is_empty() {
            // The peer has all we sent. A set emptied entry by entry keeps
            // its node; clearing it frees that (idle widgets are many).
            open.peer.sent_hashes.clear();
        }
        match result {
            // Our side of the sync goes first, so acked heads are known when the ack arrives.
            Ok(Received::NothingNew | Received::Committed { created: false, .. }) => {
                self.push_and_ack(&id).await
            }
            Ok(Received::Committed { created: true, .. }) => {
                if let DocId::Ticket(ticket) = &id {
                    (self.ctx.on_created)(*ticket, self.customer.as_deref().cloned()).await;
                }
                self.push_and_ack(&id).await
            }
            Ok(Received::Incomplete {
                missing,
                pending: carried,
            }) => {
                let asks = pending.map_or(0, |p| p.asks).saturating_add(1);
                let bytes: usize = carried.iter().map(Vec::len).sum();
                if asks > MAX_ASKS || bytes > MAX_PENDING_BYTES {
                    if let Some(open) = self.open.remove(&id) {
                        open.entry.unsubscribe(self.id);
                    }
                    let why = "the message carries changes whose dependencies the server does not have, and they did not come when asked for";
                    return self
                        .send_error(Some(&frame.doc), ErrorCode::RejectedChange, why)
                        .await;
                }
                tracing::debug!(doc = %id, missing = missing.len(), "asking the peer for changes it sent changes on");
                let Some(open) = self.open.get_mut(&id) else {
                    return true;
                };
                open.pending = Some(Box::new(Pending {
                    chunks: carried,
                    asks,
                }));
                match self
                    .ctx
                    .hub
                    .ask_for(&open.entry, &mut open.peer, &missing)
                    .await
                {
                    Some(message) => {
                        let frame = encode_sync_frame(&id, &message);
                        self.out.send(Message::Binary(frame.into())).await.is_ok()
                    }
                    None => true,
                }
            }
            Err(HubError::Storage(crate::storage::StorageError::Erased(_))) => {
                // Erased for its customer meanwhile: the peer drops its copy.
                if let Some(open) = self.open.remove(&id) {
                    open.entry.unsubscribe(self.id);
                }
                self.send_error(
                    Some(&frame.doc),
                    ErrorCode::Erased,
                    "this ticket was erased",
                )
                .await
            }
            Err(HubError::Storage(cause)) => {
                tracing::error!(%cause, "storage failed while committing a change");
                self.send_error(
                    Some(&frame.doc),
                    ErrorCode::Internal,
                    "the change could not be stored; retry later",
                )
                .await
            }
            Err(err) => {
                // The peer still holds what was refused and would offer it again
                // on every exchange; closing the document here ends that. The
                // client drops the refused changes and opens it again.
                if let Some(open) = self.open.remove(&id) {
                    open.entry.unsubscribe(self.id);
                }
                self.send_error(Some(&frame.doc), err.code(), &err.to_string())
                    .await
            }
        }
    }

    /// Sends the peer what it lacks of a document and, once it has
    /// everything the committed heads name, their ack: both read under one
    /// lock of the document and written to the socket together (one write,
    /// one wake-up of the peer).
    pub(super) async fn push_and_ack(&mut self, id: &DocId) -> bool {
        let Some(open) = self.open.get_mut(id) else {
            return true;
        };
        let due = self.ctx.hub.due(&open.entry, &mut open.peer).await;
        if due.erased {
            // Erased while open: the peer drops its copy.
            if let Some(open) = self.open.remove(id) {
                open.entry.unsubscribe(self.id);
            }
            return self
                .send_error(Some(id), ErrorCode::Erased, "this ticket was erased")
                .await;
        }
        // No ack is sent twice.
        let ack = due
            .ackable
            .filter(|heads| open.acked.as_ref() != Some(heads));
        if let Some(heads) = &ack {
            open.acked = Some(heads.clone());
        }
        let sync = due
            .message
            .map(|message| Message::Binary(encode_sync_frame(id, &message).into()));
        let ack = ack.map(|heads| {
            control_message(&ServerFrame::Ack {
                doc: id.to_string(),
                heads: heads.iter().map(ToString::to_string).collect(),
            })
        });
        let frames: Vec<Message> = sync.into_iter().chain(ack).collect();
        if frames.is_empty() {
            return true;
        }
        for frame in frames {
            if self.out.feed(frame).await.is_err() {
                return false;
            }
        }
        self.out.flush().await.is_ok()
    }
}
