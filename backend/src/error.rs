//! The one error type of the services.
//!
//! Policy: services return [`Error`]; the edges translate it — server functions into `AppError`
//! (a plain message and a correlation id for people), the REST API into problem+json with a
//! stable `code`. Database errors are logged with their cause chain at the edge and never shown.

use models::ParseError;

/// What went wrong in a service call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid session or key.
    #[error("sign in required")]
    Unauthenticated,
    /// Signed in, but the role does not allow this.
    #[error("you do not have permission to do this")]
    Forbidden,
    /// The thing does not exist in the caller's account (or belongs to another).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A well-formed request with an invalid value.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field at fault.
        field: String,
        /// Why it was refused, for people.
        message: String,
    },
    /// Clashes with existing state (duplicate email, replay with a different body).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again later.
    #[error("too many attempts, try again in a minute")]
    RateLimited,
    /// The database failed or is unreachable.
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    /// A bug or broken invariant.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Builds an [`Error::Invalid`] for a field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// Refuses a one-line text (name, email, id) holding any control character (`422` naming
    /// `field`); see [`models::text`].
    pub fn check_line(field: &str, text: &str) -> Result<()> {
        models::text::check(text, models::text::TextKind::Line).map_err(Self::field(field))
    }

    /// Refuses a multi-line text (note, message, template) holding a control character other
    /// than tab, line feed and carriage return.
    pub fn check_multiline(field: &str, text: &str) -> Result<()> {
        models::text::check(text, models::text::TextKind::Multiline).map_err(Self::field(field))
    }

    /// Attaches a field name to a value-type parse error.
    pub fn field(field: &str) -> impl FnOnce(ParseError) -> Self + '_ {
        move |e| Self::invalid(field, e.0)
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => Error::Db(db),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

/// Result of a service call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
