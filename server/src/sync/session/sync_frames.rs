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
                match open.entry.ask_for(&mut open.peer, &missing).await {
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

    /// Acknowledges the committed heads once the peer has everything they name.
    async fn flush_ack(&mut self, id: &DocId) -> bool {
        let Some(open) = self.open.get_mut(id) else {
            return true;
        };
        let Some(heads) = open.entry.ackable_heads(&open.peer).await else {
            return true;
        };
        if open.acked.as_ref() == Some(&heads) {
            return true;
        }
        let ack = ServerFrame::Ack {
            doc: id.to_string(),
            heads: heads.iter().map(ToString::to_string).collect(),
        };
        open.acked = Some(heads);
        self.send_control(&ack).await
    }

    /// Sends the peer what it lacks of a document and then, when due, the
    /// ack, written to the socket together (one write, one wake-up of the
    /// peer, where two sends were two).
    pub(super) async fn push_and_ack(&mut self, id: &DocId) -> bool {
        self.push(id).await && self.flush_ack(id).await && self.out.flush().await.is_ok()
    }

    /// Queues what the peer lacks of a document (written by the next send or
    /// flush).
    async fn push(&mut self, id: &DocId) -> bool {
        let Some(open) = self.open.get_mut(id) else {
            return true;
        };
        if let Some(message) = open.entry.generate(&mut open.peer).await {
            let frame = encode_sync_frame(id, &message);
            if self.out.feed(Message::Binary(frame.into())).await.is_err() {
                return false;
            }
        } else if open.entry.is_erased().await {
            // Erased while open: the peer drops its copy.
            if let Some(open) = self.open.remove(id) {
                open.entry.unsubscribe(self.id);
            }
            return self
                .send_error(Some(id), ErrorCode::Erased, "this ticket was erased")
                .await;
        }
        true
    }
}
