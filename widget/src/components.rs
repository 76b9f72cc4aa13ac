//! The widget's Leptos components, one per file.

pub mod app;
mod article_view;
mod attachments;
mod focus;
mod help;
mod search_results;
mod ticket_form;
mod ticket_list;
mod ticket_thread;
