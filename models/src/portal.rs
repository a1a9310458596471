//! The partner portal's public pages: applying to a program.

use crate::CustomFieldDef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the public application page of a program shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyPage {
    /// The program.
    pub program_id: i64,
    /// Its name.
    pub program: String,
    /// The account running it.
    pub account_name: String,
    /// Brand colour (`#rrggbb`), may be empty.
    pub brand_color: String,
    /// Logo shown on the page.
    pub logo_url: Option<String>,
    /// The program's website.
    pub website: String,
    /// The default commission, for people.
    pub commission: String,
    /// Applications are approved at once (else reviewed by the team).
    pub auto_approve: bool,
    /// The account's custom questions.
    pub questions: Vec<CustomFieldDef>,
}

/// An application submitted on the public page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// The program applied to.
    pub program_id: i64,
    /// The applicant's name.
    pub name: String,
    /// Email: becomes the sign-in email and the partner's email.
    pub email: String,
    /// Password for the portal (at least 8 characters).
    pub password: String,
    /// Company (optional).
    pub company: String,
    /// Website (optional).
    pub website: String,
    /// Answers to the custom questions by key.
    pub answers: BTreeMap<String, String>,
}

/// What happened to an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    /// Approved at once (the program approves automatically).
    pub approved: bool,
    /// The address the verification email went to.
    pub email: String,
}
