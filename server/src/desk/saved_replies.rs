//! Saved replies: the texts a site's staff insert into answers.

use super::require_site;
use super::site_key;
use super::DeskError;
use crate::storage::{self, SavedReply, StaffMember};
use crate::AppState;
use serde::Deserialize;

/// A site's saved replies (staff of that site).
pub async fn saved_replies_of(
    state: &AppState,
    member: &StaffMember,
    site: &str,
) -> Result<Vec<SavedReply>, DeskError> {
    require_site(member, site)?;
    let site = site_key(site)?.to_string();
    Ok(storage::blocking(&state.storage, move |s| s.saved_replies(&site)).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    pub site: String,
    pub title: String,
    pub body: String,
}

pub async fn add_saved_reply(
    state: &AppState,
    member: &StaffMember,
    new: NewReply,
) -> Result<i64, DeskError> {
    require_site(member, &new.site)?;
    let site = site_key(&new.site)?.to_string();
    let (title, body) = (new.title.trim().to_owned(), new.body.trim().to_owned());
    if title.is_empty() || title.chars().count() > 100 {
        return Err(DeskError::invalid("a title has 1 to 100 characters"));
    }
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(DeskError::invalid("a reply has 1 to 10,000 characters"));
    }
    Ok(storage::blocking(&state.storage, move |s| {
        s.add_saved_reply(&site, &title, &body)
    })
    .await?)
}

/// A saved reply's text for one ticket: `{customer}` becomes the customer's
/// name, `{ticket}` the ticket's id, `{agent}` the staff member's name.
pub fn fill(text: &str, customer: &str, ticket: &str, agent: &str) -> String {
    text.replace("{customer}", customer)
        .replace("{ticket}", ticket)
        .replace("{agent}", agent)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_filled_and_other_braces_kept() {
        assert_eq!(
            super::fill(
                "Hi {customer}, about {ticket}: {unknown} — {agent}",
                "Ada",
                "0011",
                "Sam"
            ),
            "Hi Ada, about 0011: {unknown} — Sam"
        );
    }
}
