//! Widget crash reports (admins).

use super::*;

pub(super) async fn errors_page(
    ConsoleUser(user): ConsoleUser,
    State(state): State<AppState>,
) -> Result<Markup, AppError> {
    require_admin(&user, "widget errors")?;
    let errors = storage::blocking(&state.storage, |s| s.client_errors(None, 200)).await?;
    Ok(page(
        "Widget errors",
        Some(&user),
        html! {
            p { "Crashes that customers' widgets reported (at most one per page load), newest first." }
            @if errors.is_empty() {
                p data-testid="no-client-errors" { "No widget has reported an error." }
            } @else {
                table data-testid="client-errors" {
                    thead { tr { th { "When" } th { "Site" } th { "Version" } th { "Message" } th { "Browser" } } }
                    tbody {
                        @for e in &errors {
                            tr {
                                td { (format_time(e.at, &user.timezone)) }
                                td { (e.site) }
                                td { (e.version) }
                                td { code { (e.message) } }
                                td { small { (e.user_agent) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}
