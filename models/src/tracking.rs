//! Links, clicks, conversions with their click path, and CSV imports.

use crate::*;
use serde::{Deserialize, Serialize};

/// One click of a conversion's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClickView {
    /// Click id.
    pub id: String,
    /// When, `YYYY-MM-DD HH:MM:SS UTC`.
    pub at: String,
    /// Referrer.
    pub referrer: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Flag (`bot`, `click_burst`).
    pub flag: Option<String>,
    /// Whether this click won the attribution.
    pub attributed: bool,
}

/// Everything about one conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionDetail {
    /// Conversion id.
    pub id: i64,
    /// Merchant's id.
    pub external_id: String,
    /// Program name.
    pub program: String,
    /// Partner (id, name), if attributed.
    pub partner: Option<(i64, String)>,
    /// Amount for people.
    pub amount: String,
    /// Refunded so far for people.
    pub refunded: String,
    /// `attributed`, `unattributed` or `ineligible`.
    pub status: String,
    /// Why it earns nothing, if it does not.
    pub reason: Option<String>,
    /// How it was attributed.
    pub attributed_via: Option<String>,
    /// Customer id.
    pub customer_id: Option<String>,
    /// When it happened.
    pub occurred: String,
    /// The visitor's clicks inside the cookie window, oldest first.
    pub click_path: Vec<ClickView>,
    /// Its ledger entries.
    pub entries: Vec<EntryRow>,
}

/// A tracking link with its performance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRow {
    /// Short code.
    pub code: String,
    /// The tracking URL to share.
    pub url: String,
    /// Where it leads.
    pub destination: String,
    /// Program name.
    pub program: String,
    /// Clicks so far.
    pub clicks: u64,
    /// Conversions attributed through its clicks.
    pub conversions: u64,
    /// Created, `YYYY-MM-DD`.
    pub created: String,
}

/// What a CSV import brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// Partners with contact fields, custom fields and an optional enrollment.
    Partners,
    /// Tracking links of existing partners.
    Links,
    /// Historical conversions with their commissions.
    Conversions,
}

impl ImportKind {
    /// Stored and wire form.
    pub fn as_str(&self) -> &'static str {
        match self {
            ImportKind::Partners => "partners",
            ImportKind::Links => "links",
            ImportKind::Conversions => "conversions",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<ImportKind> {
        match s {
            "partners" => Some(ImportKind::Partners),
            "links" => Some(ImportKind::Links),
            "conversions" => Some(ImportKind::Conversions),
            _ => None,
        }
    }
}

/// A target field an import column can map to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportTarget {
    /// Key (`email`, `name`, `custom.niche`, …).
    pub key: String,
    /// Label.
    pub label: String,
    /// Must be mapped.
    pub required: bool,
}

/// An uploaded file, ready for the mapping step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPreview {
    /// Import id.
    pub id: i64,
    /// Kind.
    pub kind: ImportKind,
    /// File name.
    pub filename: String,
    /// Column headers of the file.
    pub headers: Vec<String>,
    /// The first rows.
    pub sample: Vec<Vec<String>>,
    /// Data rows in the file.
    pub rows: u64,
    /// Fields columns can map to.
    pub targets: Vec<ImportTarget>,
    /// Suggested target per column (by header name), `""` for none.
    pub suggested: Vec<String>,
    /// State: `uploaded`, `running`, `done`, `failed`.
    pub status: String,
}

/// One refused row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// What an import would do (dry run) or did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Rows that would create (or created) something.
    pub created: u64,
    /// Rows that would change (or changed) something existing.
    pub updated: u64,
    /// Rows already as the file says.
    pub unchanged: u64,
    /// Rows refused, with why (the first 200).
    pub errors: Vec<RowError>,
    /// Rows refused in all.
    pub error_count: u64,
    /// True once written.
    pub committed: bool,
}

/// Progress of a running import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportProgress {
    /// `uploaded`, `running`, `done`, `failed`.
    pub status: String,
    /// Data rows in the file.
    pub total: u64,
    /// Rows processed.
    pub done: u64,
    /// The report once done.
    pub report: Option<ImportReport>,
}
