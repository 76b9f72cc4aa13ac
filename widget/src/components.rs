//! The widget's Leptos components, one per file.

pub mod app;
mod ticket_form;
mod ticket_list;
mod ticket_thread;
