//! The server's receive path for a customer's sync message on a stored
//! ticket: decode, apply to the held document, check against the customer's
//! rights, store. Nothing may panic; whatever is committed leaves a ticket
//! that still reads, still `new` (customers cannot change a status), and the
//! server keeps working. Each input comes from a fresh peer (a new
//! connection) or, every other one, continues the last peer's state.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use automerge::sync;
use libfuzzer_sys::fuzz_target;
use stufe_server::seed::demo_site;
use stufe_server::storage::{prelude::*, SqliteStorage, Storage};
use stufe_server::sync::hub::{DocEntry, Received, Sender};
use stufe_server::sync::Hub;
use stufe_shared::site::SiteConfig;
use stufe_shared::ticket::Status;
use stufe_shared::validate::Role;
use stufe_shared::{DocId, SiteKey, TicketId};

const TICKET: [u8; 16] = [0x5a; 16];
/// What a first-time widget sends to create the ticket (`server/tests/corpus`).
const CREATE: [&[u8]; 2] = [
    include_bytes!("../../server/tests/corpus/create-0.sync"),
    include_bytes!("../../server/tests/corpus/create-1.sync"),
];
const TOKEN: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

struct World {
    runtime: tokio::runtime::Runtime,
    hub: Hub,
    entry: Arc<DocEntry>,
    site: SiteKey,
    config: SiteConfig,
    peer: Mutex<sync::State>,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // As the server does at start: panics the receive path catches
        // (Automerge's parser on malformed changes) are refusals, not
        // crashes; every other panic still reaches libFuzzer's hook.
        stufe_server::panic_guard::install_hook();
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("fuzz.sqlite")).unwrap();
        let site: SiteKey = "demo".parse().unwrap();
        storage.put_site(&site, &demo_site()).unwrap();
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let hub = Hub::new(storage);
        let id = TicketId::from_bytes(TICKET);
        let config = demo_site();
        let entry = runtime.block_on(async {
            let entry = hub.entry(&DocId::Ticket(id)).await.unwrap();
            entry.authorize(&site, TOKEN, None, false).await.unwrap();
            // The ticket is created by the committed corpus's first messages,
            // as a widget creates it.
            let mut peer = sync::State::new();
            for message in CREATE {
                let _ = hub
                    .receive(&entry, &mut peer, &sender(&site, &config), message, &[])
                    .await;
            }
            hub.read_ticket(id)
                .await
                .expect("the corpus creates the ticket");
            entry
        });
        World {
            runtime,
            hub,
            entry,
            site,
            config,
            peer: Mutex::new(sync::State::new()),
            _dir: dir,
        }
    })
}

fn sender<'a>(site: &'a SiteKey, config: &'a SiteConfig) -> Sender<'a> {
    Sender {
        id: 1,
        role: Role::Customer,
        site,
        config,
        may_create: &|_| Ok(()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, message)) = data.split_first() else {
        return;
    };
    let w = world();
    let mut peer = w.peer.lock().unwrap();
    if first & 1 == 0 {
        *peer = sync::State::new();
    }
    let sender = sender(&w.site, &w.config);
    w.runtime.block_on(async {
        let received = w
            .hub
            .receive(&w.entry, &mut peer, &sender, message, &[])
            .await;
        if let Ok(Received::Committed { .. }) = received {
            let ticket = w
                .hub
                .read_ticket(TicketId::from_bytes(TICKET))
                .await
                .expect("an accepted change leaves a readable ticket");
            assert_eq!(ticket.status, Status::New, "a customer changed the status");
        }
    });
});
