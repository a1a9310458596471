//! Mail links: `/u/{token}`, the unsubscribe page of an email and its confirmation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use backend::{Clock, DatabaseConnection};

#[derive(Clone)]
struct MailState {
    db: DatabaseConnection,
    clock: Clock,
}

/// `/u/{token}`.
pub(super) fn routes(db: DatabaseConnection, clock: Clock) -> Router {
    Router::new().route("/u/{token}", get(unsubscribe_page).post(unsubscribe_confirm)).with_state(MailState { db, clock })
}

fn mail_page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><link rel=\"stylesheet\" href=\"/pkg/trellis.css\"></head><body><main class=\"standalone\"><div class=\"card\"><h1>{title}</h1>{body}</div></main></body></html>"
    ))
}

/// `GET /u/{token}`: what unsubscribing means, with a button (a link scanner that follows the
/// link does not unsubscribe anyone).
async fn unsubscribe_page(State(st): State<MailState>, Path(token): Path<String>) -> Response {
    match backend::comms::mail::unsubscribe_info(&st.db, &token).await {
        Ok((sender, email, done)) => {
            let (sender, email) = (html_escape::encode_text(&sender), html_escape::encode_text(&email));
            if done {
                return mail_page("You are unsubscribed", &format!("<p><strong>{email}</strong> gets no more news from {sender}. Account emails (password resets, invitations) still arrive.</p>")).into_response();
            }
            mail_page(
                "Unsubscribe",
                &format!("<p>Stop news, tips and announcements from <strong>{sender}</strong> to <strong>{email}</strong>? Account emails (password resets, invitations) still arrive.</p><form method=\"post\"><button class=\"btn primary\" type=\"submit\">Unsubscribe</button></form>"),
            )
            .into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, mail_page("Link not found", "<p>This unsubscribe link is not valid.</p>")).into_response(),
    }
}

/// `POST /u/{token}`: unsubscribes the email's address from the account's non-essential mail.
async fn unsubscribe_confirm(State(st): State<MailState>, Path(token): Path<String>) -> Response {
    match backend::comms::mail::unsubscribe(&st.db, st.clock.now(), &token).await {
        Ok(()) => unsubscribe_page(State(st), Path(token)).await,
        Err(backend::Error::NotFound(_)) => (StatusCode::NOT_FOUND, mail_page("Link not found", "<p>This unsubscribe link is not valid.</p>")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe failed");
            (StatusCode::INTERNAL_SERVER_ERROR, mail_page("Please try again", "<p>Something went wrong; please try again shortly.</p>")).into_response()
        }
    }
}
