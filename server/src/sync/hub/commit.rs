//! The commit path every change takes: a client's sync message (applied, checked by role, stored, acknowledged), a staff change through the server, a knowledge-base catalogue change.

use super::*;

impl Hub {
    /// Every file in `files` was uploaded for `ticket`, with the type and
    /// size the reference says.
    async fn check_uploaded(&self, ticket: TicketId, files: &[FileRef]) -> Result<(), HubError> {
        let key = ticket.to_string();
        let uploaded = storage::blocking(&self.storage, move |s| s.ticket_files(&key)).await?;
        for file in files {
            match uploaded.iter().find(|u| u.hash == file.hash) {
                None => {
                    return Err(HubError::Rejected(format!(
                        "the file {:?} was not uploaded for this ticket",
                        file.name
                    )))
                }
                Some(u) if u.mime != file.mime || u.size != file.size => {
                    return Err(HubError::Rejected(format!(
                        "the file {:?} is not what was uploaded (its type or size differs)",
                        file.name
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Applies a peer's sync message to a fork and commits it only if every
    /// change in it is allowed. Knowledge-base documents are read-only for peers.
    ///
    /// `pending` are changes an earlier message of this peer carried whose
    /// dependencies were missing ([`Received::Incomplete`]); they are applied
    /// with this message's, and checked with them.
    pub async fn receive(
        &self,
        entry: &DocEntry,
        peer: &mut sync::State,
        sender: &Sender<'_>,
        message: &[u8],
        pending: &[Vec<u8>],
    ) -> Result<Received, HubError> {
        let Sender {
            id: origin,
            role,
            site,
            config,
            may_create,
        } = *sender;
        let encoded = message;
        let message = crate::panic_guard::catching(|| sync::Message::decode(encoded))
            .ok_or_else(|| HubError::InvalidSyncMessage("the message does not read".into()))?
            .map_err(|err| HubError::InvalidSyncMessage(err.to_string()))?;
        for chunk in message.changes.iter() {
            crate::sync::chunks::check(chunk).map_err(HubError::InvalidSyncMessage)?;
        }
        let mut st = self.lock(entry).await?;
        if st.site.as_ref().is_some_and(|s| s != site) {
            return Err(HubError::OtherSite);
        }
        if message.changes.is_empty() && pending.is_empty() {
            // Only sync bookkeeping (heads, needs, what the peer has): the
            // document does not change, so there is nothing to validate and no
            // copy of it to make. Most messages are like this.
            st.doc()?
                .sync()
                .receive_sync_message(peer, message)
                .map_err(|err| HubError::InvalidSyncMessage(err.to_string()))?;
            return Ok(Received::NothingNew);
        }
        let DocId::Ticket(ticket_id) = &entry.id else {
            let mut fork = st.doc()?.clone();
            let mut fork_peer = peer.clone();
            fork.sync()
                .receive_sync_message(&mut fork_peer, message)
                .map_err(|err| HubError::InvalidSyncMessage(err.to_string()))?;
            if fork.get_heads() == st.doc()?.get_heads() && fork.get_missing_deps(&[]).is_empty() {
                *peer = fork_peer;
                return Ok(Received::NothingNew);
            }
            return Err(HubError::Rejected(
                "the knowledge base is read-only for widgets".into(),
            ));
        };
        // A customer's reply to a request waiting on them resumes its SLA
        // clock; how long it was paused is kept by storage (rare: read then).
        let waits_on_customer = role == Role::Customer
            && st
                .projection()?
                .is_some_and(|p| p.ticket.status == Status::Pending);
        let pending_since = if waits_on_customer {
            let key = ticket_id.to_string();
            storage::blocking(&self.storage, move |s| s.pending_since(&key)).await?
        } else {
            None
        };
        let who = Judged {
            role,
            site,
            config,
            pending_since,
        };
        let now = (self.clock)();
        let since = st.doc()?.get_heads();
        st.projection()?;
        // A stored ticket takes the message in place: a copy of a long ticket
        // would cost more than the change. If it is refused (or storing
        // fails), the stored ticket is loaded again. A ticket not stored yet
        // is an empty document, copied: its claim lives only in memory.
        let in_place = st.stored;
        let mut next = if in_place {
            st.lend()?
        } else {
            st.doc()?.clone()
        };
        let mut next_peer = peer.clone();
        let applied = pending
            .iter()
            .try_for_each(|chunk| next.load_incremental(chunk).map(drop))
            .and_then(|()| next.sync().receive_sync_message(&mut next_peer, message))
            .map_err(|err| HubError::InvalidSyncMessage(err.to_string()));
        let decided = applied.and_then(|()| {
            let before = st.projection.as_deref();
            decide_ticket(before, &since, &mut next, *ticket_id, &who, now)
        });
        let decided = match decided {
            Ok(Decision::Commit { created: true, .. }) => match may_create(now) {
                Ok(()) => decided,
                Err(why) => Err(HubError::RateLimited(why)),
            },
            other => other,
        };
        // A message may refer only to files uploaded for this ticket, as uploaded.
        let files_checked = match &decided {
            Ok(Decision::Commit { new_files, .. }) if !new_files.is_empty() => {
                Some(self.check_uploaded(*ticket_id, new_files).await)
            }
            _ => None,
        };
        let decided = match files_checked {
            Some(Err(err)) => Err(err),
            _ => decided,
        };
        let (created, checked) = match decided {
            Ok(Decision::NothingNew) => {
                if in_place {
                    st.set_doc(next);
                }
                *peer = next_peer;
                return Ok(Received::NothingNew);
            }
            Ok(Decision::Incomplete { missing }) => {
                // The held document must not keep the changes it could not
                // apply (a save would store them): it is loaded again.
                if in_place {
                    *st = self.load_state(&entry.id).await?;
                }
                *peer = next_peer;
                // Rare: the message's changes are copied out of it (read
                // again) only here, not for every message.
                let again = sync::Message::decode(encoded)
                    .map_err(|err| HubError::InvalidSyncMessage(err.to_string()))?;
                let carried = pending
                    .iter()
                    .cloned()
                    .chain(again.changes.iter().map(<[u8]>::to_vec))
                    .collect();
                return Ok(Received::Incomplete {
                    missing,
                    pending: carried,
                });
            }
            Ok(Decision::Commit {
                created, checked, ..
            }) => (created, checked),
            Err(err) => {
                if in_place {
                    *st = self.load_state(&entry.id).await?;
                }
                return Err(err);
            }
        };
        if created {
            st.site = Some(site.clone());
        }
        match self
            .commit(
                entry,
                &mut st,
                next,
                &since,
                Some(origin),
                checked.map(|c| *c),
            )
            .await
        {
            Ok(heads) => {
                *peer = next_peer;
                Ok(Received::Committed { heads, created })
            }
            Err(err) => {
                if in_place {
                    *st = self.load_state(&entry.id).await?;
                }
                Err(err)
            }
        }
    }

    /// Makes a change as staff through the server (the staff API), with the
    /// same validation and commit path as synced changes.
    pub async fn staff_change<F>(&self, id: TicketId, edit: F) -> Result<Ticket, HubError>
    where
        F: FnOnce(&mut AutoCommit, &Ticket) -> Result<(), HubError>,
    {
        self.change_as(Role::Staff, id, edit).await
    }

    /// Makes a change for the customer through the server (their answer by
    /// email), checked as a customer's synced change would be.
    pub async fn customer_change<F>(&self, id: TicketId, edit: F) -> Result<Ticket, HubError>
    where
        F: FnOnce(&mut AutoCommit, &Ticket) -> Result<(), HubError>,
    {
        self.change_as(Role::Customer, id, edit).await
    }

    async fn change_as<F>(&self, role: Role, id: TicketId, edit: F) -> Result<Ticket, HubError>
    where
        F: FnOnce(&mut AutoCommit, &Ticket) -> Result<(), HubError>,
    {
        let entry = self.entry(&DocId::Ticket(id)).await?;
        let mut st = self.lock(&entry).await?;
        if !st.stored {
            return Err(HubError::NotFound);
        }
        if st.projection()?.is_none() {
            return Err(HubError::NotFound);
        }
        // The staff edit is made in place, not on a copy (copying a long
        // ticket cost more than the rest of a reply); if it is refused, or
        // storing fails, the stored ticket is loaded again.
        let mut doc = st.lend()?;
        let before = st.projection.as_deref().expect("projected above");
        let since = doc.get_heads();
        server_actor(&mut doc);
        let checked = edit(&mut doc, &before.ticket).and_then(|()| {
            doc.commit_with(CommitOptions::default().with_time((self.clock)()));
            let after = project(&mut doc, Some(before), &since)?;
            let rules = SiteRules { categories: vec![] };
            after.check(role, Some(before), &rules)?;
            Ok(after)
        });
        let after = match checked {
            Ok(after) => after,
            Err(err) => {
                *st = self.load_state(&entry.id).await?;
                return Err(err);
            }
        };
        if let Err(err) = self
            .commit(&entry, &mut st, doc, &since, None, Some(after))
            .await
        {
            *st = self.load_state(&entry.id).await?;
            return Err(err);
        }
        Ok(st.projection()?.ok_or(HubError::NotFound)?.ticket.clone())
    }

    /// Changes a site's knowledge-base catalogue (after staff publish or
    /// unpublish) and pushes the change to every open widget.
    pub async fn kb_change<F>(
        &self,
        site: &SiteKey,
        locale: Locale,
        edit: F,
    ) -> Result<(), HubError>
    where
        F: FnOnce(&mut AutoCommit) -> Result<(), automerge::AutomergeError>,
    {
        let id = DocId::Kb {
            site: site.clone(),
            locale,
        };
        let entry = self.entry(&id).await?;
        let mut st = self.lock(&entry).await?;
        // No fresh actor here, unlike tickets: widgets cannot change a
        // catalogue at all, and one actor per server run keeps the document
        // (which every new widget downloads) from growing an actor per publish.
        // The server's own edit needs no validation fork: the catalogue is
        // edited in place (a copy of a large catalogue per publish would cost
        // more than the publish), and put back as stored if storing fails.
        let mut doc = st.lend()?;
        let since = doc.get_heads();
        if let Err(err) = edit(&mut doc) {
            doc.rollback();
            st.set_doc(doc);
            return Err(HubError::Rejected(err.to_string()));
        }
        doc.commit_with(CommitOptions::default().with_time((self.clock)()));
        if doc.get_heads() == since {
            st.set_doc(doc);
            return Ok(());
        }
        if let Err(err) = self.commit(&entry, &mut st, doc, &since, None, None).await {
            *st = self.load_state(&id).await?;
            return Err(err);
        }
        Ok(())
    }

    /// Stores what `next` adds to the stored document (its changes since
    /// `since`, the stored heads) and adopts it; then tells every other subscriber.
    /// `projected`: the ticket `next` holds, when the caller has projected it
    /// from the held projection already (it is projected here otherwise: the
    /// stored summary needs it).
    pub(super) async fn commit(
        &self,
        entry: &DocEntry,
        st: &mut DocState,
        mut next: AutoCommit,
        since: &[ChangeHash],
        origin: Option<SubscriberId>,
        projected: Option<Projected>,
    ) -> Result<Vec<String>, HubError> {
        // Server changes carry the commit time (and a fresh actor, see
        // `server_actor`), so clients cannot predict their hashes.
        next.commit_with(CommitOptions::default().with_time((self.clock)()));
        let added = next.save_after(since);
        // What is stored as this copy holds it; moved on only once written.
        let (mut stored, mut size, mut seq) = (st.stored, st.size, st.seq);
        // Tickets: the projection after this change, made (from the one
        // before) before writing: its summary is written with it.
        let mut projection = None;
        // What the change means for the site's webhooks, stored with it.
        let mut events = Vec::new();
        if let DocId::Ticket(_) = entry.id {
            let projected = match projected {
                Some(projected) => projected,
                None => project(&mut next, st.projection()?, since)?,
            };
            if let (Some(site), Some(after)) = (&st.site, projected.fields()) {
                let before = st.projection.as_ref().map(|p| &p.ticket);
                let added = projected.added_messages(before);
                events = crate::events::ticket_events(
                    site.as_str(),
                    before,
                    after,
                    &added,
                    (self.clock)(),
                );
            }
            projection = Some(
                projected
                    .applied_to(st.projection.take().map(|p| *p))
                    .ok_or(HubError::NotFound)?,
            );
        }
        let mut catch_ups = 0;
        loop {
            let write = match &entry.id {
                DocId::Ticket(_) => {
                    let bytes = size.next_write(
                        stored,
                        &mut next,
                        added.clone(),
                        Some(MAX_TICKET_DOC_BYTES),
                    )?;
                    let ticket = &projection.as_ref().ok_or(HubError::NotFound)?.ticket;
                    let mut summary = TicketSummary::of(ticket, (self.clock)());
                    summary.customer = st.customer.as_deref().cloned();
                    DocWrite::Ticket {
                        token_hash: st.token_hash.clone().ok_or(HubError::Forbidden)?,
                        bytes,
                        summary: Box::new(summary),
                        after: seq,
                        events: events.clone(),
                    }
                }
                DocId::Kb { .. } => DocWrite::Document {
                    doc_id: entry.id.to_string(),
                    bytes: size.next_write(stored, &mut next, added.clone(), None)?,
                    after: seq,
                },
            };
            let (DocWrite::Ticket { bytes, .. } | DocWrite::Document { bytes, .. }) = &write;
            let written_size = size.after(bytes);
            match self.writer.write(write).await {
                Ok(position) => {
                    (size, seq) = (written_size, position);
                    break;
                }
                // Another server wrote this document after our copy was read
                // (storage shared by several servers): its changes are merged
                // into ours (Automerge merges; nothing is overwritten) and the
                // merged copy is written, its projection made from it.
                Err(StorageError::Conflict(_)) if catch_ups < MAX_CATCH_UPS => {
                    catch_ups += 1;
                    let key = entry.id.to_string();
                    let theirs =
                        storage::blocking(&self.storage, move |s| s.changes_since(&key, seq))
                            .await?;
                    if let Some(theirs) = theirs {
                        next.load_incremental(&theirs.bytes).map_err(|err| {
                            HubError::Storage(StorageError::Corrupt(err.to_string()))
                        })?;
                        (size, seq, stored) = (size.after_theirs(&theirs), theirs.seq, true);
                        projection = Projection::read(&next)
                            .map_err(|err| HubError::Rejected(err.to_string()))?;
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
        st.size = size;
        st.seq = seq;
        st.set_doc(next);
        st.projection = projection.map(Box::new);
        st.stored = true;
        entry.notify(origin);
        if let (DocId::Ticket(_), Some(site)) = (&entry.id, &st.site) {
            let _ = self.tickets_changed.send(site.clone());
        }
        Ok(hex_heads(st.doc()?))
    }
}
