//! Data sent between the server and the browser. Times and money arrive already formatted
//! by the server, so the browser renders exactly what the server rendered (no hydration drift).

use crate::value::{EnrollmentStatus, Role};
use serde::{Deserialize, Serialize};

/// Who is signed in, as the pages need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The user's display name.
    pub name: String,
    /// The user's email.
    pub email: String,
    /// The account (organisation) name.
    pub account_name: String,
    /// Team roles; empty for a partner user.
    pub roles: Vec<Role>,
    /// True for a partner user of the portal.
    pub is_partner: bool,
}

impl SessionInfo {
    /// Where this user lands after signing in.
    pub fn home(&self) -> &'static str {
        if self.is_partner {
            "/portal"
        } else {
            "/directory"
        }
    }
}

/// A program as offered in pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramSummary {
    /// Program id.
    pub id: i64,
    /// Program name.
    pub name: String,
    /// ISO currency code.
    pub currency: String,
}

/// Filter of the directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectoryQuery {
    /// One program, or every program of the account.
    pub program_id: Option<i64>,
    /// One status, or all.
    pub status: Option<EnrollmentStatus>,
    /// Free text over name, email and company.
    pub q: Option<String>,
    /// Page number from 1.
    pub page: u64,
    /// Rows per page (at most 200).
    pub per_page: u64,
}

/// Enrollment counts by status for the current filter (ignoring the status filter itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Every enrollment.
    pub all: u64,
    /// Active.
    pub active: u64,
    /// Pending review.
    pub pending: u64,
    /// Paused.
    pub paused: u64,
    /// Suspended.
    pub suspended: u64,
}

/// One row of the directory: a partner's enrollment in a program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryRow {
    /// Partner id.
    pub partner_id: i64,
    /// Partner name.
    pub name: String,
    /// Partner email.
    pub email: String,
    /// Company, if any.
    pub company: Option<String>,
    /// Program name.
    pub program: String,
    /// Current tier name.
    pub tier: String,
    /// Enrollment status.
    pub status: EnrollmentStatus,
    /// Joined date, `YYYY-MM-DD`.
    pub joined: String,
}

/// A page of the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryPage {
    /// The account's programs, for the program picker.
    pub programs: Vec<ProgramSummary>,
    /// Counts by status.
    pub counts: StatusCounts,
    /// This page's rows.
    pub items: Vec<DirectoryRow>,
    /// Rows matching the filter, over all pages.
    pub total: u64,
    /// The page shown, from 1.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
}

/// A partner's enrollment as the portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalEnrollment {
    /// Program name.
    pub program: String,
    /// Status.
    pub status: EnrollmentStatus,
    /// Current tier.
    pub tier: String,
    /// Commission in words, e.g. `10%`.
    pub commission: String,
    /// Joined date, `YYYY-MM-DD`.
    pub joined: String,
}

/// The portal landing page of a partner user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalHome {
    /// The partner's name.
    pub partner_name: String,
    /// The account running the program(s).
    pub account_name: String,
    /// The partner's enrollments.
    pub enrollments: Vec<PortalEnrollment>,
}
