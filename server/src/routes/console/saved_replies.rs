//! Saved replies of a site.

use super::*;

pub(super) async fn saved_replies_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
) -> Result<Markup, AppError> {
    let saved = crate::desk::saved_replies::saved_replies_of(&state, &user, &q.site).await?;
    Ok(page(
        "Saved replies",
        Some(&user),
        html! {
            p { "Replies the team sends often, for site " (q.site) ". Choose one under a ticket's reply box: it is put into the reply, where you can edit it before sending. "
                code { "{customer}" } ", " code { "{ticket}" } " and " code { "{agent}" } " become the customer's name, the ticket's id and your name." }
            @for r in &saved {
                div.card data-testid="saved-reply-item" {
                    strong { (r.title) } p { (r.body) }
                    form.inline method="post" action={ "/console/saved-replies/" (r.id) "/delete?site=" (q.site) } { (csrf::field())
                        button { "Delete" }
                    }
                }
            }
            form.card method="post" action={ "/console/saved-replies?site=" (q.site) } { (csrf::field())
                p { label { "Title " input name="title" required maxlength="100"; } }
                p { label { "Reply" textarea name="body" rows="4" required {} } }
                button data-testid="add-saved-reply" { "Add" }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct SavedReplyForm {
    title: String,
    body: String,
}

pub(super) async fn add_saved_reply(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<SiteQuery>,
    Form(form): Form<SavedReplyForm>,
) -> Result<Response, AppError> {
    let new = crate::desk::saved_replies::NewReply {
        site: q.site.clone(),
        title: form.title,
        body: form.body,
    };
    crate::desk::saved_replies::add_saved_reply(&state, &user, new).await?;
    Ok(see_other(&format!(
        "/console/saved-replies?site={}",
        q.site
    )))
}

pub(super) async fn delete_saved_reply(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SiteQuery>,
) -> Result<Response, AppError> {
    require_site(&user, &q.site)?;
    let site = site_key(&q.site)?.to_string();
    storage::blocking(&state.storage, move |s| s.delete_saved_reply(&site, id)).await?;
    Ok(see_other(&format!(
        "/console/saved-replies?site={}",
        q.site
    )))
}
