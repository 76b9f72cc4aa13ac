//! Attachments: the files of a message (pictures as thumbnails, the others as
//! downloads with name and size), and the files the customer is adding to a
//! reply (picked, dropped or pasted; uploaded at once, sent with the reply).

use leptos::prelude::*;
use stufe_shared::files::{is_image, MAX_FILE_BYTES};
use stufe_shared::ticket::FileRef;
use stufe_shared::TicketId;
use wasm_bindgen::JsCast;

use crate::browser::{self, UploadRefused};
use crate::ui::Ui;

/// A message's files.
#[component]
pub fn MessageFiles(ticket: TicketId, files: Vec<FileRef>) -> impl IntoView {
    (!files.is_empty()).then(|| {
        view! {
            <ul class="files">
                {files.into_iter().map(|file| view! { <li><FileItem ticket=ticket file=file/></li> }).collect_view()}
            </ul>
        }
    })
}

/// One file: a thumbnail for a picture, else its name and size; a click downloads it.
#[component]
fn FileItem(ticket: TicketId, file: FileRef) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let thumbnail = RwSignal::new(None::<String>);
    if is_image(&file.mime) {
        let hash = file.hash.clone();
        leptos::task::spawn_local(async move {
            if let Some((site, credential)) = browser::file_access(ticket) {
                if let Some(url) = browser::file_url(&site, ticket, &credential, &hash).await {
                    if thumbnail.try_set(Some(url.clone())).is_some() {
                        // Disposed meanwhile: nobody shows it.
                        let _ = web_sys::Url::revoke_object_url(&url);
                    }
                }
            }
        });
        on_cleanup(move || {
            if let Some(url) = thumbnail.try_get_untracked().flatten() {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
        });
    }
    let (hash, name) = (file.hash.clone(), file.name.clone());
    let download = move |_| {
        let (hash, name) = (hash.clone(), name.clone());
        leptos::task::spawn_local(async move {
            let Some((site, credential)) = browser::file_access(ticket) else {
                return;
            };
            if let Some(url) = browser::file_url(&site, ticket, &credential, &hash).await {
                save_as(&url, &name);
            }
        });
    };
    let label = {
        let name = file.name.clone();
        move || t().download_file.replace("NAME", &name)
    };
    let size = file.size;
    let name = file.name.clone();
    view! {
        <button type="button" class="file" data-testid="attachment" data-type=file.mime.clone()
            title=label.clone() aria-label=label on:click=download>
            {move || thumbnail.get().map(|url| view! { <img class="thumb" data-testid="attachment-thumbnail" src=url alt=""/> })}
            <span class="file-name">{name}</span>
            <span class="file-size">{move || t().file_size(size)}</span>
        </button>
    }
}

/// Hands a `blob:` URL to the browser as a download named `name`.
fn save_as(url: &str, name: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(link) = document
        .create_element("a")
        .map(|e| e.unchecked_into::<web_sys::HtmlAnchorElement>())
    {
        link.set_href(url);
        link.set_download(name);
        link.click();
    }
    let url = url.to_owned();
    browser::after_ms(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
}

/// A file the customer is adding to a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    key: u32,
    name: String,
    size: i64,
    pub state: Upload,
    /// The file itself, until uploaded (a waiting one is kept with the reply).
    file: Option<web_sys::File>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    Uploading,
    Ready(FileRef),
    /// Not uploaded now (offline, or the request has not reached us yet):
    /// kept on the device and sent with the message.
    Waiting,
    Refused(UploadRefused),
}

/// The files of a reply being written.
#[derive(Clone, Copy)]
pub struct ReplyFiles {
    pub chosen: RwSignal<Vec<Chosen>>,
    next_key: StoredValue<u32>,
}

impl ReplyFiles {
    pub fn new() -> Self {
        Self {
            chosen: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
        }
    }

    /// Whether any is still uploading (the reply waits for them).
    pub fn uploading(&self) -> bool {
        self.chosen
            .with(|c| c.iter().any(|f| f.state == Upload::Uploading))
    }

    /// The references of the uploaded files.
    pub fn ready(&self) -> Vec<FileRef> {
        self.chosen.with_untracked(|c| {
            c.iter()
                .filter_map(|f| match &f.state {
                    Upload::Ready(file) => Some(file.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    /// The files kept to go with the message (not uploaded yet).
    pub fn waiting(&self) -> Vec<web_sys::File> {
        self.chosen.with_untracked(|c| {
            c.iter()
                .filter(|f| f.state == Upload::Waiting)
                .filter_map(|f| f.file.clone())
                .collect()
        })
    }

    pub fn clear(&self) {
        self.chosen.set(Vec::new());
    }

    /// Uploads each file now when it can (`ticket`: the stored request it is
    /// for, online); else keeps it to go with the message. Files over the
    /// limit are refused at once.
    pub fn add(&self, ticket: Option<TicketId>, online: bool, files: Vec<web_sys::File>) {
        let access = ticket
            .filter(|_| online)
            .and_then(|t| Some((t, browser::file_access(t)?)));
        for file in files {
            let key = self.next_key.get_value();
            self.next_key.set_value(key.wrapping_add(1));
            let size = file.size() as i64;
            let state = if file.size() > MAX_FILE_BYTES as f64 {
                Upload::Refused(UploadRefused::TooLarge)
            } else if access.is_some() {
                Upload::Uploading
            } else {
                Upload::Waiting
            };
            let upload = state == Upload::Uploading;
            self.chosen.update(|c| {
                c.push(Chosen {
                    key,
                    name: file.name(),
                    size,
                    state,
                    file: Some(file.clone()),
                })
            });
            let (Some((ticket, (site, credential))), true) = (access.clone(), upload) else {
                continue;
            };
            let chosen = self.chosen;
            leptos::task::spawn_local(async move {
                let result =
                    browser::upload_file(&site, ticket, &credential, &file.name(), &file).await;
                let (state, keep) = match result {
                    Ok(reference) => (Upload::Ready(reference), false),
                    // No connection: it goes with the message, later.
                    Err(UploadRefused::Failed) => (Upload::Waiting, true),
                    Err(why) => (Upload::Refused(why), false),
                };
                let _ = chosen.try_update(|c| {
                    if let Some(entry) = c.iter_mut().find(|f| f.key == key) {
                        entry.state = state;
                        if !keep {
                            entry.file = None;
                        }
                    }
                });
            });
        }
    }

    fn remove(&self, key: u32) {
        self.chosen.update(|c| c.retain(|f| f.key != key));
    }
}

/// The files of a `FileList` (from a picker, a drop or a paste).
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

/// Reads the files to keep with a waiting message: names and bytes.
pub async fn read_files(files: Vec<web_sys::File>) -> Vec<(String, Vec<u8>)> {
    let mut read = Vec::with_capacity(files.len());
    for file in files {
        if let Ok(buffer) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            read.push((file.name(), js_sys::Uint8Array::new(&buffer).to_vec()));
        }
    }
    read
}

/// The "Attach files" button and the files chosen so far; picked files go to
/// `on_files`.
#[component]
pub fn AttachFiles(files: ReplyFiles, on_files: Callback<Vec<web_sys::File>>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let t = move || ui.lang.get().texts();
    let on_pick = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        on_files.run(files_of(input.files()));
        // The same file may be picked again after removing it.
        input.set_value("");
    };
    let accept = stufe_shared::files::ALLOWED_TYPES.join(",");
    view! {
        <ul class="chosen" data-testid="chosen-files" aria-live="polite">
            {move || files.chosen.get().into_iter().map(|f| {
                let texts = t();
                let (status, state) = match &f.state {
                    Upload::Uploading => (texts.uploading.to_owned(), "uploading"),
                    Upload::Ready(_) => (String::new(), "ready"),
                    Upload::Waiting => (texts.upload_waiting.to_owned(), "waiting"),
                    Upload::Refused(why) => (refusal(texts, why), "refused"),
                };
                let key = f.key;
                let remove_label = texts.remove_file.replace("NAME", &f.name);
                view! {
                    <li class="chip" data-testid="chosen-file" data-state=state>
                        <span class="file-name">{f.name.clone()}</span>
                        <span class="file-size">{texts.file_size(f.size)}</span>
                        <button type="button" class="icon" aria-label=remove_label title=texts.remove_file.replace("NAME", &f.name)
                            on:click=move |_| files.remove(key)>"×"</button>
                        {(!status.is_empty()).then(|| view! { <span class="chip-status" role=(state == "refused").then_some("alert")>{status}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
        <label class="attach">
            <input type="file" multiple class="sr-only" data-testid="attach-input" accept=accept on:change=on_pick/>
            <svg class="clip" viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
                <path d="M7 12V5a3 3 0 0 1 6 0v9a2 2 0 0 1-4 0V6" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>
            </svg>
            {move || t().attach}
        </label>
    }
}

fn refusal(texts: &crate::i18n::Texts, why: &UploadRefused) -> String {
    match why {
        UploadRefused::TooLarge => texts.upload_too_large.to_owned(),
        UploadRefused::NotAccepted => texts.upload_not_accepted.to_owned(),
        UploadRefused::Failed => texts.upload_failed.to_owned(),
        UploadRefused::Other(message) => message.clone(),
    }
}
