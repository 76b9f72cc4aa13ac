//! Control frames (JSON): `identify` (a customer signed in by the site) and `open` (a ticket by its token, a signed link from an email, or the site's knowledge base).

use super::*;

impl<O: Sink<Message> + Unpin> Session<O> {
    /// Whether the ticket's links were revoked at or after `grant` was issued
    /// (a storage failure counts as revoked: the grant opens nothing then).
    pub(super) async fn revoked(storage: &Arc<dyn Storage>, id: TicketId, grant: &str) -> bool {
        let Some(issued) = links::issued_at(grant) else {
            return true;
        };
        let key = id.to_string();
        match storage::blocking(storage, move |s| s.links_revoked_at(&key)).await {
            Ok(revoked) => revoked.is_some_and(|at| issued <= at),
            Err(err) => {
                tracing::error!(%err, "reading when links were revoked failed");
                true
            }
        }
    }

    pub(super) async fn on_text(&mut self, text: &str) -> bool {
        if !text.trim_start().starts_with('{') {
            return self
                .send_error(
                    None,
                    ErrorCode::BadFrame,
                    "a control frame is a JSON object",
                )
                .await;
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(err) => {
                return self
                    .send_error(
                        None,
                        ErrorCode::BadFrame,
                        &format!("bad control frame: {err}"),
                    )
                    .await
            }
        };
        match frame {
            ClientFrame::Open { doc, token } => self.open(&doc, &token).await,
            ClientFrame::Identify { token } => self.identify(&token).await,
            ClientFrame::Typing { doc } => self.typing(&doc).await,
            ClientFrame::Close { doc } => {
                if let Ok(id) = doc.parse::<DocId>() {
                    if let Some(open) = self.open.remove(&id) {
                        open.entry.unsubscribe(self.id);
                    }
                }
                true
            }
        }
    }

    /// The customer is typing in an open ticket: the staff on its page are told.
    pub(super) async fn typing(&mut self, doc: &str) -> bool {
        let id = match doc.parse::<DocId>() {
            Ok(id) => id,
            Err(err) => {
                return self
                    .send_error(None, ErrorCode::BadFrame, &err.to_string())
                    .await
            }
        };
        let DocId::Ticket(ticket) = id else {
            return self
                .send_error(
                    Some(&id),
                    ErrorCode::BadFrame,
                    "typing is said of a ticket, not of a knowledge base",
                )
                .await;
        };
        if !self.open.contains_key(&id) {
            return self
                .send_error(
                    Some(&id),
                    ErrorCode::NotOpen,
                    "open the ticket before saying you type in it",
                )
                .await;
        }
        // Too soon after the last one: dropped without a word (see the protocol).
        self.ctx
            .presence
            .signal(Signal::CustomerTyping { ticket })
            .await;
        true
    }

    /// Signs the connection in as the customer `token` names, if the site
    /// signed it; answers with their tickets on this site.
    pub(super) async fn identify(&mut self, token: &str) -> bool {
        let storage = Arc::clone(&self.ctx.storage);
        let site = self.ctx.site.clone();
        let secret = match storage::blocking(&storage, move |s| s.site_secret(&site)).await {
            Ok(secret) => secret,
            Err(err) => {
                tracing::error!(%err, "reading a site secret failed");
                return self
                    .send_error(
                        None,
                        ErrorCode::Internal,
                        "the server could not check the identity",
                    )
                    .await;
            }
        };
        let now = self.ctx.hub.now_ms() / 1000;
        let verified = secret
            .ok_or(IdentityError::NoSecret)
            .and_then(|secret| identity::verify(token, &secret, now));
        let customer = match verified {
            Ok(customer) => customer,
            Err(err) => {
                return self
                    .send_error(None, ErrorCode::IdentityRefused, &err.to_string())
                    .await
            }
        };
        if self.customer.as_ref().is_some_and(|c| c.id != customer.id) {
            return self
                .send_error(
                    None,
                    ErrorCode::IdentityRefused,
                    "this connection is signed in as another customer; open a new connection",
                )
                .await;
        }
        let filter = TicketFilter {
            site: Some(self.ctx.site.to_string()),
            customer: Some(customer.id.clone()),
            ..TicketFilter::default()
        };
        let tickets = match storage::blocking(&storage, move |s| s.list_tickets(&filter)).await {
            Ok(list) => list
                .into_iter()
                .take(MAX_IDENTIFIED_TICKETS)
                .map(|t| t.id)
                .collect(),
            Err(err) => {
                tracing::error!(%err, "listing a customer's tickets failed");
                return self
                    .send_error(
                        None,
                        ErrorCode::Internal,
                        "the server could not list the tickets",
                    )
                    .await;
            }
        };
        let identified = ServerFrame::Identified {
            user: customer.id.clone(),
            tickets,
        };
        self.customer = Some(Box::new(customer));
        self.send_control(&identified).await
    }

    pub(super) async fn open(&mut self, doc: &str, token: &str) -> bool {
        let doc_id: DocId = match doc.parse() {
            Ok(id) => id,
            Err(err) => {
                return self
                    .send_error(None, ErrorCode::BadFrame, &err.to_string())
                    .await
            }
        };
        if self.open.contains_key(&doc_id) {
            // Opening an open document again restarts its sync from scratch.
            if let Some(open) = self.open.get_mut(&doc_id) {
                open.peer = sync::State::new();
                open.acked = None;
                open.pending = None;
            }
            let opened = ServerFrame::Opened {
                doc: doc_id.to_string(),
                exists: true,
            };
            return self.send_control(&opened).await;
        }
        if self.open.len() >= MAX_OPEN_DOCS {
            return self
                .send_error(
                    Some(&doc_id),
                    ErrorCode::TooManyDocs,
                    "too many open documents",
                )
                .await;
        }
        // A link from an email (a signed grant in place of the token) opens its ticket.
        let granted = match &doc_id {
            DocId::Ticket(id) if links::is_grant(token) => {
                links::check(&self.ctx.link_key, *id, token, self.ctx.hub.now_ms() / 1000)
                    && !Self::revoked(&self.ctx.storage, *id, token).await
            }
            _ => false,
        };
        if matches!(doc_id, DocId::Ticket(_))
            && self.ctx.config.identity_required
            && self.customer.is_none()
            && !granted
        {
            return self
                .send_error(
                    Some(&doc_id),
                    ErrorCode::IdentityRequired,
                    "this site lets only signed-in customers open tickets: send identify first",
                )
                .await;
        }
        let opened = match self.ctx.hub.entry(&doc_id).await {
            Ok(entry) => entry
                .authorize(&self.ctx.site, token, self.customer.as_deref(), granted)
                .await
                .map(|o| (entry, o)),
            Err(err) => Err(err),
        };
        let (entry, opened) = match opened {
            Ok(ok) => ok,
            Err(err) => {
                return self
                    .send_error(Some(&doc_id), err.code(), &err.to_string())
                    .await
            }
        };
        entry.subscribe(self.id, Arc::clone(&self.changed));
        self.open.insert(
            doc_id.clone(),
            OpenDoc {
                entry,
                peer: sync::State::new(),
                acked: None,
                pending: None,
            },
        );
        let opened = ServerFrame::Opened {
            doc: doc_id.to_string(),
            exists: opened.exists,
        };
        // The client speaks first: its first sync message tells us its heads
        // and capabilities, so a peer with nothing gets the whole document as
        // one compressed message instead of every change on its own.
        self.send_control(&opened).await
    }
}
