//! Account settings on the wire: team members, programs, API keys, the audit log and the
//! signed-in user's own profile. Times arrive formatted by the server.

use crate::value::Role;
use serde::{Deserialize, Serialize};

/// A team member as the Team tab lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    /// User id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// `active`, `invited` (has not set a password yet) or `deactivated`.
    pub status: String,
    /// Last sign-in, formatted, if any.
    pub last_login: Option<String>,
    /// True for the signed-in user.
    pub is_me: bool,
}

/// A link to hand to someone (an invitation or a password reset), valid until `expires`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedLink {
    /// The user it is for.
    pub user_id: i64,
    /// Their email.
    pub email: String,
    /// The full URL; it is also queued in the mail outbox.
    pub url: String,
    /// When it stops working, formatted.
    pub expires: String,
}

/// What a one-time link is for, as its public page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// `invite`, `reset` or `email`.
    pub kind: String,
    /// The user's (or, for an email change, the new) address.
    pub email: String,
    /// The user's name.
    pub name: String,
    /// The account's name.
    pub account_name: String,
}

/// A program's settings as the form edits them. Numbers travel as text so the server can name
/// the field that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgramForm {
    /// Name.
    pub name: String,
    /// ISO 4217 code (fixed once the program exists).
    pub currency: String,
    /// The merchant's site; links default to it.
    pub website: String,
    /// Further hosts links may point at, separated by commas, spaces or lines.
    pub allowed_domains: String,
    /// Cookie window in days.
    pub cookie_days: String,
    /// Attribution rule (`last_click`).
    pub attribution: String,
    /// `percent` or `flat`.
    pub commission_kind: String,
    /// The default commission's value.
    pub commission_value: String,
    /// Days before a commission can be approved.
    pub hold_days: String,
    /// Eligibility: true approves applications automatically, false puts them up for review.
    pub auto_approve: bool,
    /// Brand colour `#rrggbb`.
    pub brand_color: String,
    /// Logo URL (http or https), or empty.
    pub logo_url: String,
    /// Sender name of the program's emails, or empty.
    pub sender_name: String,
    /// Sender address of the program's emails, or empty.
    pub sender_email: String,
    /// Days without a conversion before an enrollment counts as dormant.
    pub dormant_days: String,
    /// User ids of the program managers who manage it (admins only change this).
    pub managers: Vec<i64>,
}

/// A program in the Programs tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramRow {
    /// Program id.
    pub id: i64,
    /// Its settings.
    pub form: ProgramForm,
    /// Archived (formatted time), if it is.
    pub archived: Option<String>,
    /// Active enrollments.
    pub partners: u64,
    /// Whether the signed-in user may edit it.
    pub editable: bool,
}

/// The Programs tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramsPage {
    /// Every program of the account the user can see, newest last.
    pub programs: Vec<ProgramRow>,
    /// Team members with the program manager role: `(id, name)`.
    pub managers: Vec<(i64, String)>,
    /// Admins create and archive programs and assign managers.
    pub is_admin: bool,
    /// The form a new program starts from.
    pub blank: ProgramForm,
}

/// An API key as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    /// Key id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The public part, `trl_{prefix}_…`.
    pub prefix: String,
    /// Created, formatted.
    pub created: String,
    /// Last used, formatted (minute precision).
    pub last_used: Option<String>,
    /// Revoked, formatted.
    pub revoked: Option<String>,
}

/// A key just created: the secret is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// Key id.
    pub id: i64,
    /// The whole key.
    pub secret: String,
}

/// A filter of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Free text over actor, kind, subject and values.
    pub q: Option<String>,
    /// One actor, as written in the log.
    pub actor: Option<String>,
    /// One kind.
    pub kind: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC), inclusive.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC), inclusive.
    pub to: Option<String>,
    /// Page from 1.
    pub page: u64,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Entry id.
    pub id: i64,
    /// When, formatted (UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What kind of change.
    pub kind: String,
    /// What it was made to.
    pub subject: String,
    /// The value before.
    pub before: Option<String>,
    /// The value after.
    pub after: Option<String>,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    /// This page of entries, newest first.
    pub list: crate::Page<AuditRow>,
    /// Every actor in the log, for the filter.
    pub actors: Vec<String>,
    /// Every kind in the log, for the filter.
    pub kinds: Vec<String>,
}

/// The signed-in user's own profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    pub name: String,
    /// Email used to sign in.
    pub email: String,
    /// An address waiting for confirmation, if any.
    pub pending_email: Option<String>,
    /// Roles.
    pub roles: Vec<Role>,
}

/// One email of the outbox as Settings → Email lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// Id.
    pub id: i64,
    /// `invitation`, `tier_upgraded`, `re_engagement`, `broadcast`, …
    pub kind: String,
    /// Recipient.
    pub to: String,
    /// The partner it is about, if any.
    pub partner_id: Option<i64>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// `queued`, `sending`, `sent`, `failed` or `suppressed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Queued at, `YYYY-MM-DD HH:MM UTC`.
    pub created: String,
    /// Sent at.
    pub sent: Option<String>,
    /// First opened at.
    pub opened: Option<String>,
    /// Next attempt (queued emails).
    pub next_attempt: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A page of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxPage {
    /// This page of emails, newest first.
    pub list: crate::Page<OutboxRow>,
    /// Whether this server delivers mail (`TRELLIS_SMTP_URL` is set).
    pub delivering: bool,
}

/// Free space of the filesystem under the database (embedded SQLite only), for the admins'
/// notice in Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageSpace {
    /// Bytes free.
    pub free_bytes: u64,
    /// Size of the filesystem.
    pub total_bytes: u64,
    /// Under 10% or under 1 GiB: the notice shows.
    pub low: bool,
    /// "1.2 GB free of 40 GB (3%)", formatted by the server.
    pub summary: String,
}
