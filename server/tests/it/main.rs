//! Server integration tests: the real server on port 0 with a real SQLite file
//! in a temp dir, spoken to over a real WebSocket by an Automerge peer.

mod accounts;
mod assets;
mod attachments;
mod attacks;
mod audit;
mod automation;
mod client_errors;
mod console;
mod email_confirmation;
mod email_replies;
mod fuzz;
mod gate;
mod handoff;
mod helpers;
mod identity;
mod knowledge_base;
mod layers;
mod links;
mod nodes;
mod openapi;
mod presence;
mod privacy;
mod rejections;
mod sites;
mod sla;
mod staff_api;
mod sync_flow;
mod webhooks;
