//! The error type of every server function: serialisable, with messages written for people.
//! Internal causes stay in the server log under a correlation id the user can quote.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a server function reports to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No session: sign in.
    #[error("Please sign in.")]
    Unauthenticated,
    /// Wrong email or password.
    #[error("Wrong email or password.")]
    BadCredentials,
    /// The role does not allow this.
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// Not found in this account.
    #[error("{0} not found.")]
    NotFound(String),
    /// An input was refused; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Clashes with existing data.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("Too many attempts. Try again in a minute.")]
    RateLimited,
    /// The database is unreachable.
    #[error("The service is temporarily unavailable (reference {0}). Please try again shortly.")]
    Unavailable(String),
    /// A bug; the reference finds it in the server log.
    #[error("Something went wrong (reference {0}). Please try again.")]
    Internal(String),
    /// The request did not reach the server or its answer could not be read.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // On the server, arguments that cannot be decoded (malformed JSON, a missing or mistyped
        // field) are the caller's mistake: 400 with the decoder's words, not a 500. (The server
        // never reads a server-function answer, so its `Deserialization` errors are arguments too.)
        #[cfg(feature = "ssr")]
        if let ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) | ServerFnErrorErr::Deserialization(m) = &value {
            if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(http::StatusCode::BAD_REQUEST);
            }
            return AppError::Invalid(format!("The request could not be read: {m}"));
        }
        AppError::Transport(value.to_string())
    }
}
