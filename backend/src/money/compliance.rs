//! A partner's profile and compliance: contact and payout details the partner keeps up to date
//! in the portal, and tax documents uploaded there (kept in the database, at most
//! [`MAX_DOCUMENT_BYTES`], PDF, PNG or JPEG recognised by their content, not their name) that the
//! team accepts or rejects. Compliance — payout details plus an accepted tax document — shows on
//! both sides and feeds the health score's compliance part.

use crate::access::auth::Actor;
use crate::entities::{partner, partner_document as doc};
use crate::timeline::{self, Event};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use models::{Compliance, ComplianceItem, DocumentRow, PortalProfile, ProfileInput, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// Largest document accepted: 5 MiB.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

/// The payout methods: value and words.
pub const PAYOUT_METHODS: &[(&str, &str)] = &[("paypal", "PayPal"), ("bank_transfer", "Bank transfer (IBAN)"), ("wise", "Wise")];

/// Documents a partner may keep at once (older ones are kept; beyond this, upload is refused).
const MAX_DOCUMENTS: u64 = 20;

/// The content type of an accepted document, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

fn size_words(n: i64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} kB", (n + 1023) / 1024)
    }
}

/// Whether the partner may be seen by the actor: its own partner user, or the account's team.
fn may_see(actor: &Actor, partner_id: i64) -> Result<()> {
    match actor.partner_id {
        Some(own) if own == partner_id => Ok(()),
        Some(_) => Err(Error::NotFound("partner")),
        None => actor.require_team(),
    }
}

async fn load_partner(db: &impl ConnectionTrait, actor: &Actor, partner_id: i64) -> Result<partner::Model> {
    may_see(actor, partner_id)?;
    crate::db::find_in_account(db, partner::Column::AccountId, actor.account_id, partner_id, "partner").await
}

/// The compliance of a partner from its details and its latest document.
fn compliance_of(p: &partner::Model, latest: Option<&doc::Model>) -> Compliance {
    let payout_ok = p.payout_method.is_some() && p.payout_account.as_deref().is_some_and(|a| !a.trim().is_empty());
    let (tax_ok, tax_detail) = match latest.map(|d| d.status.as_str()) {
        Some("accepted") => (true, "accepted".to_string()),
        Some("received") => (false, "received, under review".to_string()),
        Some("rejected") => (
            false,
            format!("rejected{}: upload a new one", latest.and_then(|d| d.review_note.clone()).map(|n| format!(" ({n})")).unwrap_or_default()),
        ),
        _ => (false, "not uploaded yet".to_string()),
    };
    let items = vec![
        ComplianceItem {
            label: "Payout details".into(),
            ok: payout_ok,
            detail: if payout_ok {
                PAYOUT_METHODS.iter().find(|m| Some(m.0) == p.payout_method.as_deref()).map(|m| m.1.to_string()).unwrap_or_default()
            } else {
                "missing: choose a payout method and account".into()
            },
        },
        ComplianceItem { label: "Tax document".into(), ok: tax_ok, detail: tax_detail.clone() },
    ];
    let summary = match (payout_ok, tax_ok) {
        (true, true) => "Complete".to_string(),
        (false, true) => "Payout details missing".to_string(),
        (_, false) if latest.is_some_and(|d| d.status == "received") => "Tax document under review".to_string(),
        (_, false) => format!("Tax document {tax_detail}"),
    };
    Compliance { complete: payout_ok && tax_ok, summary, items }
}

async fn latest_document(db: &impl ConnectionTrait, partner_id: i64) -> Result<Option<doc::Model>> {
    Ok(doc::Entity::find()
        .filter(doc::Column::PartnerId.eq(partner_id))
        .order_by_desc(doc::Column::UploadedAt)
        .order_by_desc(doc::Column::Id)
        .one(db)
        .await?)
}

/// The partner's profile: details, documents and compliance. Partner users see their own; the
/// team sees any partner of the account.
pub async fn profile(db: &DatabaseConnection, actor: &Actor, partner_id: i64) -> Result<PortalProfile> {
    let p = load_partner(db, actor, partner_id).await?;
    // Listing without the content column: documents can be large.
    let docs: Vec<(i64, String, i64, String, Option<String>, DateTime<Utc>)> = doc::Entity::find()
        .select_only()
        .columns([
            doc::Column::Id,
            doc::Column::Filename,
            doc::Column::SizeBytes,
            doc::Column::Status,
            doc::Column::ReviewNote,
            doc::Column::UploadedAt,
        ])
        .filter(doc::Column::PartnerId.eq(p.id))
        .order_by_desc(doc::Column::UploadedAt)
        .order_by_desc(doc::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let latest = latest_document(db, p.id).await?;
    let compliance = compliance_of(&p, latest.as_ref());
    let show_account = actor.partner_id.is_some() || actor.has_any(&[Role::FinanceApprover]);
    let masked = |a: &str| {
        let tail: String = a.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        format!("•••• {tail}")
    };
    Ok(PortalProfile {
        partner_id: p.id,
        email: p.email.clone(),
        details: ProfileInput {
            name: p.name.clone(),
            company: p.company.clone().unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            website: p.website.clone().unwrap_or_default(),
            country: p.country.clone().unwrap_or_default(),
            payout_method: p.payout_method.clone().unwrap_or_default(),
            payout_account: p.payout_account.clone().map(|a| if show_account { a } else { masked(&a) }).unwrap_or_default(),
            tax_id: p.tax_id.clone().map(|t| if show_account { t } else { masked(&t) }).unwrap_or_default(),
        },
        documents: docs
            .into_iter()
            .map(|(id, filename, size, status, note, at)| DocumentRow {
                id,
                filename,
                size: size_words(size),
                uploaded: at.format("%Y-%m-%d").to_string(),
                status,
                note,
            })
            .collect(),
        compliance,
        upload_limit: format!("PDF, PNG or JPEG, at most {} MB", MAX_DOCUMENT_BYTES / (1024 * 1024)),
        payout_methods: PAYOUT_METHODS.iter().map(|(v, l)| (v.to_string(), l.to_string())).collect(),
        can_review: actor.partner_id.is_none() && actor.has_any(&[Role::FinanceApprover, Role::ProgramManager]),
    })
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The partner user changes its own contact and payout details.
pub async fn update(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, input: &ProfileInput) -> Result<()> {
    let partner_id = actor.require_partner()?;
    let p = load_partner(db, actor, partner_id).await?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "between 1 and 200 characters"));
    }
    for (field, v, max) in [
        ("company", &input.company, 200),
        ("phone", &input.phone, 40),
        ("website", &input.website, 300),
        ("payout_account", &input.payout_account, 100),
        ("tax_id", &input.tax_id, 40),
    ] {
        if v.trim().chars().count() > max {
            return Err(Error::invalid(field, format!("at most {max} characters")));
        }
    }
    let website = opt(&input.website);
    if let Some(w) = &website {
        if !(w.starts_with("https://") || w.starts_with("http://")) || url::Url::parse(w).is_err() {
            return Err(Error::invalid("website", "a web address starting with https://"));
        }
    }
    let country = opt(&input.country).map(|c| c.to_uppercase());
    if country.as_deref().is_some_and(|c| c.len() != 2 || !c.chars().all(|x| x.is_ascii_uppercase())) {
        return Err(Error::invalid("country", "a two-letter country code such as US or DE"));
    }
    let method = opt(&input.payout_method);
    if let Some(m) = &method {
        if !PAYOUT_METHODS.iter().any(|(v, _)| v == m) {
            return Err(Error::invalid("payout_method", "PayPal, bank transfer or Wise"));
        }
    }
    let account = opt(&input.payout_account);
    match (method.as_deref(), account.as_deref()) {
        (Some(_), None) => return Err(Error::invalid("payout_account", "is needed for the payout method")),
        (None, Some(_)) => return Err(Error::invalid("payout_method", "choose how the account is paid")),
        (Some("paypal" | "wise"), Some(a)) if models::PartnerEmail::parse(a).is_err() => {
            return Err(Error::invalid("payout_account", "the email address of the PayPal or Wise account"));
        }
        (Some("bank_transfer"), Some(a)) if a.chars().filter(|c| c.is_ascii_alphanumeric()).count() < 8 => {
            return Err(Error::invalid("payout_account", "an IBAN or account number"));
        }
        _ => {}
    }
    let mut changed = Vec::new();
    let mut a: partner::ActiveModel = p.clone().into();
    let mut set = |label: &str, before: &Option<String>, after: Option<String>, col: &mut sea_orm::ActiveValue<Option<String>>| {
        if *before != after {
            changed.push(label.to_string());
            *col = Set(after);
        }
    };
    set("company", &p.company, opt(&input.company), &mut a.company);
    set("phone", &p.phone, opt(&input.phone), &mut a.phone);
    set("website", &p.website, website, &mut a.website);
    set("country", &p.country, country, &mut a.country);
    set("payout method", &p.payout_method, method, &mut a.payout_method);
    set("payout account", &p.payout_account, account, &mut a.payout_account);
    set("tax ID", &p.tax_id, opt(&input.tax_id), &mut a.tax_id);
    if p.name != name {
        changed.push("name".into());
        a.name = Set(name.to_string());
    }
    if changed.is_empty() {
        return Ok(());
    }
    a.updated_at = Set(now);
    let txn = crate::db::begin_write(db).await?;
    a.update(&txn).await?;
    timeline::record(
        &txn,
        Event::partner(p.account_id, p.id, "profile", &actor.label(), format!("Partner updated the profile: {}", changed.join(", ")), now)
            .with_data(serde_json::json!({"changed": changed})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Stores a tax document uploaded by the partner user; refuses empty, oversized and
/// unrecognised files. Returns its id.
pub async fn upload(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, filename: &str, bytes: &[u8]) -> Result<i64> {
    use sha2::Digest;
    let partner_id = actor.require_partner()?;
    let p = load_partner(db, actor, partner_id).await?;
    if bytes.is_empty() {
        return Err(Error::invalid("file", "is empty"));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid("file", format!("is larger than {} MB", MAX_DOCUMENT_BYTES / (1024 * 1024))));
    }
    let content_type = sniff(bytes).ok_or_else(|| Error::invalid("file", "is not a PDF, PNG or JPEG"))?;
    let filename: String =
        filename.rsplit(['/', '\\']).next().unwrap_or("document").chars().filter(|c| !c.is_control() && *c != '"').take(120).collect();
    let filename = if filename.trim().is_empty() { "document".to_string() } else { filename };
    let count = doc::Entity::find().filter(doc::Column::PartnerId.eq(p.id)).count(db).await?;
    if count >= MAX_DOCUMENTS {
        return Err(Error::invalid("file", format!("you already have {MAX_DOCUMENTS} documents; ask the team to remove old ones")));
    }
    let txn = crate::db::begin_write(db).await?;
    let d = doc::ActiveModel {
        account_id: Set(p.account_id),
        partner_id: Set(p.id),
        kind: Set("tax_form".into()),
        filename: Set(filename.clone()),
        content_type: Set(content_type.into()),
        size_bytes: Set(bytes.len() as i64),
        content: Set(bytes.to_vec()),
        sha256: Set(hex::encode(sha2::Sha256::digest(bytes))),
        status: Set("received".into()),
        review_note: Set(None),
        reviewed_by: Set(None),
        reviewed_at: Set(None),
        uploaded_by: Set(actor.label()),
        uploaded_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    timeline::record(
        &txn,
        Event::partner(
            p.account_id,
            p.id,
            "compliance",
            &actor.label(),
            format!("Tax document uploaded: {filename} ({})", size_words(bytes.len() as i64)),
            now,
        )
        .with_data(serde_json::json!({"document_id": d.id})),
    )
    .await?;
    txn.commit().await?;
    Ok(d.id)
}

/// A document to download: its name, type and content (the partner's own, or for the team).
pub async fn download(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<(String, String, Vec<u8>)> {
    let d = crate::db::find_in_account(db, doc::Column::AccountId, actor.account_id, id, "document").await?;
    may_see(actor, d.partner_id)?;
    // Tax documents hold identity numbers: on the team side only those who review them (finance
    // approvers, program managers, admins) may open them, not analytics viewers or relationship
    // owners.
    if actor.partner_id.is_none() {
        actor.require_any(&[Role::FinanceApprover, Role::ProgramManager])?;
    }
    Ok((d.filename, d.content_type, d.content))
}

/// The team accepts or rejects a document (finance approvers, program managers, admins).
pub async fn review(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, id: i64, accept: bool, note: Option<&str>) -> Result<()> {
    actor.require_any(&[Role::FinanceApprover, Role::ProgramManager])?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if !accept && note.is_none() {
        return Err(Error::invalid("note", "say why the document is rejected"));
    }
    if note.is_some_and(|n| n.chars().count() > 300) {
        return Err(Error::invalid("note", "at most 300 characters"));
    }
    let status = if accept { "accepted" } else { "rejected" };
    let txn = crate::db::begin_write(db).await?;
    // Read inside the write transaction, so the audit records the state this review replaced
    // (received, or an earlier decision), not an assumed one.
    let (pid, filename, previous): (i64, String, String) = doc::Entity::find_by_id(id)
        .select_only()
        .column(doc::Column::PartnerId)
        .column(doc::Column::Filename)
        .column(doc::Column::Status)
        .filter(doc::Column::AccountId.eq(actor.account_id))
        .into_tuple()
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("document"))?;
    doc::Entity::update_many()
        .col_expr(doc::Column::Status, Expr::value(status))
        .col_expr(doc::Column::ReviewNote, Expr::value(note.map(str::to_string)))
        .col_expr(doc::Column::ReviewedBy, Expr::value(Some(actor.label())))
        .col_expr(doc::Column::ReviewedAt, Expr::value(Some(now)))
        .filter(doc::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    timeline::record(
        &txn,
        Event::partner(
            actor.account_id,
            pid,
            "compliance",
            &actor.label(),
            format!("Tax document {filename} {status}{}", note.map(|n| format!(": {n}")).unwrap_or_default()),
            now,
        )
        .with_data(serde_json::json!({"document_id": id, "status": status})),
    )
    .await?;
    crate::access::audit::record(
        &txn,
        actor,
        now,
        crate::access::audit::Change { kind: "document_reviewed", subject: filename, before: Some(previous), after: Some(status.into()) },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// For the health score: per partner that has a document, whether its latest is accepted or
/// awaiting review (true) or rejected (false). Partners without any document are absent.
pub async fn tax_documents(db: &impl ConnectionTrait, account_id: i64) -> Result<HashMap<i64, bool>> {
    let rows: Vec<(i64, String, DateTime<Utc>, i64)> = doc::Entity::find()
        .select_only()
        .columns([doc::Column::PartnerId, doc::Column::Status, doc::Column::UploadedAt, doc::Column::Id])
        .filter(doc::Column::AccountId.eq(account_id))
        .order_by_asc(doc::Column::UploadedAt)
        .order_by_asc(doc::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    // Ascending, so each partner ends with its latest document.
    Ok(rows.into_iter().map(|(p, s, _, _)| (p, s != "rejected")).collect())
}
