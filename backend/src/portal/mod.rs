//! **Portal**: what a partner user sees and does: its own record, links, earnings and tier progress
//! (this file), and applying, verifying an email and being approved ([`apply`]).
//!
//! What a partner user sees of its own partner record in the portal.

pub mod apply;
pub mod reactions;

use crate::access::auth::Actor;
use crate::entities::{enrollment, partner, program, tier};
use crate::programs::commission::effective_commission;
use crate::{Error, Result};
use models::{Currency, EnrollmentStatus, PortalEnrollment, PortalHome};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

/// The portal landing page of the signed-in partner user.
pub async fn home(db: &DatabaseConnection, actor: &Actor) -> Result<PortalHome> {
    let partner_id = actor.require_partner()?;
    let p = crate::db::find_in_account(db, partner::Column::AccountId, actor.account_id, partner_id, "partner").await?;
    let rows = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(p.id)).order_by_asc(enrollment::Column::Id).all(db).await?;
    let mut enrollments = Vec::with_capacity(rows.len());
    for e in rows {
        let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
        let t = tier::Entity::find_by_id(e.tier_id).one(db).await?.ok_or(Error::NotFound("tier"))?;
        let currency = Currency::parse(&prog.currency).map_err(|e| Error::Internal(e.0))?;
        let hosts = crate::programs::load(db, actor.account_id, prog.id).await?.hosts;
        enrollments.push(PortalEnrollment {
            program_id: prog.id,
            allowed_hosts: hosts,
            program: prog.name,
            status: EnrollmentStatus::parse(&e.status).map_err(|e| Error::Internal(e.0))?,
            commission: effective_commission(&e, &t, currency)?.display(currency),
            tier: t.name,
            joined: e.joined_at.format("%Y-%m-%d").to_string(),
        });
    }
    let email_unverified = crate::portal::apply::unverified(db, actor.user_id).await?;
    Ok(PortalHome { partner_name: p.name, account_name: actor.account_name.clone(), enrollments, email_unverified })
}

/// The windows the dashboard offers, in days.
pub const WINDOWS: &[i64] = &[30, 90, 365];

/// The signed-in partner's dashboard for the last `days` days: per program clicks,
/// conversions, conversion rate and earnings in the window; balances by status; the next
/// payout; the latest conversions. Only the actor's own partner is ever read.
pub async fn dashboard(db: &DatabaseConnection, actor: &Actor, now: chrono::DateTime<chrono::Utc>, days: i64) -> Result<models::PortalDashboard> {
    use crate::entities::{click, conversion, ledger_entry};
    use models::{Money, PortalDashboard, ProgramPerformance, RecentConversion};
    use sea_orm::QuerySelect;
    let partner_id = actor.require_partner()?;
    if !WINDOWS.contains(&days) {
        return Err(Error::invalid("days", "choose 30, 90 or 365 days"));
    }
    crate::db::find_in_account(db, partner::Column::AccountId, actor.account_id, partner_id, "partner").await?;
    let since = now - chrono::Duration::days(days);
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::PartnerId.eq(partner_id))
        .filter(enrollment::Column::AccountId.eq(actor.account_id))
        .order_by_asc(enrollment::Column::Id)
        .all(db)
        .await?;
    let ids = || enrollments.iter().map(|e| e.id);
    let human = sea_orm::Condition::all().add(click::Column::IsBot.eq(false)).add(click::Column::At.gte(since));
    let clicks_by = crate::db::counts_by(db, click::Column::EnrollmentId, ids(), human).await?;
    let attributed = sea_orm::Condition::all().add(conversion::Column::Status.eq("attributed")).add(conversion::Column::OccurredAt.gte(since));
    let conversions_by = crate::db::counts_by(db, conversion::Column::EnrollmentId, ids(), attributed).await?;
    let mut programs = Vec::new();
    let mut names = std::collections::HashMap::new();
    let mut currencies = std::collections::HashMap::new();
    for e in &enrollments {
        let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
        let currency = Currency::parse(&prog.currency).map_err(|e| Error::Internal(e.0))?;
        names.insert(prog.id, prog.name.clone());
        currencies.insert(prog.id, currency);
        let clicks = clicks_by.get(&e.id).copied().unwrap_or(0) as i64;
        let conversions = conversions_by.get(&e.id).copied().unwrap_or(0) as i64;
        let entries = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::EnrollmentId.eq(e.id))
            .filter(ledger_entry::Column::Kind.ne("payout"))
            .filter(ledger_entry::Column::Status.ne("void"))
            .all(db)
            .await?;
        let earned: i64 = entries.iter().filter(|x| x.created_at >= since).map(|x| x.amount_minor).sum();
        let by = |s: &str| entries.iter().filter(|x| x.status == s).map(|x| x.amount_minor).sum::<i64>();
        let (pending, approved, paid) = (by("pending"), by("approved"), by("paid"));
        let money = |m: i64| Money::from_minor(m, currency).display();
        let next_payout = if approved > 0 {
            format!("{} approved and due in the next payout", money(approved))
        } else if pending > 0 {
            format!("Nothing approved yet: {} awaits approval after the {}-day hold", money(pending), prog.hold_days)
        } else {
            "Nothing due yet".to_string()
        };
        let tier = crate::programs::tiers::tier_progress(db, e, &prog, currency, now).await?;
        programs.push(ProgramPerformance {
            tier,
            program_id: prog.id,
            program: prog.name,
            clicks,
            conversions,
            conversion_rate: if clicks == 0 { "–".into() } else { format!("{:.1}%", conversions as f64 * 100.0 / clicks as f64) },
            earnings: money(earned),
            pending: money(pending),
            approved: money(approved),
            paid: money(paid),
            minor: [pending, approved, paid],
            next_payout,
        });
    }
    let convs = conversion::Entity::find()
        .filter(conversion::Column::PartnerId.eq(partner_id))
        .filter(conversion::Column::AccountId.eq(actor.account_id))
        .order_by_desc(conversion::Column::OccurredAt)
        .order_by_desc(conversion::Column::Id)
        .limit(10)
        .all(db)
        .await?;
    let ids: Vec<i64> = convs.iter().map(|c| c.id).collect();
    let earned = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ConversionId.is_in(ids))
        .filter(ledger_entry::Column::PartnerId.eq(partner_id))
        .filter(ledger_entry::Column::Kind.eq("earned"))
        .all(db)
        .await?;
    let recent = convs
        .into_iter()
        .map(|c| {
            let currency =
                currencies.get(&c.program_id).copied().or_else(|| Currency::parse(&c.currency).ok()).unwrap_or(Currency::parse("USD").unwrap());
            let entry = earned.iter().find(|x| x.conversion_id == Some(c.id));
            RecentConversion {
                id: c.id,
                program: names.get(&c.program_id).cloned().unwrap_or_default(),
                date: c.occurred_at.format("%Y-%m-%d").to_string(),
                amount: Money::from_minor(c.amount_minor - c.refunded_minor, currency).display(),
                commission: entry.map(|x| Money::from_minor(x.amount_minor, currency).display()).unwrap_or_else(|| "–".into()),
                status: entry.map(|x| x.status.clone()).unwrap_or_else(|| c.status.clone()),
            }
        })
        .collect();
    Ok(PortalDashboard { days, programs, recent })
}

/// Rows of the conversions list a page holds.
pub const CONVERSIONS_PAGE: u64 = 25;

fn day(field: &str, text: Option<&str>) -> Result<Option<chrono::NaiveDate>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Some).map_err(|_| Error::invalid(field, "a date such as 2026-11-01")),
    }
}

/// The partner's conversions matching `f`, as a query (shared by the list and the CSV).
fn conversions_query(actor: &Actor, partner_id: i64, f: &models::ConversionFilter) -> Result<sea_orm::Select<crate::entities::conversion::Entity>> {
    use crate::entities::{conversion, ledger_entry};
    use sea_orm::{QuerySelect, QueryTrait};
    let mut q =
        conversion::Entity::find().filter(conversion::Column::AccountId.eq(actor.account_id)).filter(conversion::Column::PartnerId.eq(partner_id));
    if let Some(p) = f.program_id {
        q = q.filter(conversion::Column::ProgramId.eq(p));
    }
    let (from, to) = (day("from", f.from.as_deref())?, day("to", f.to.as_deref())?);
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Error::invalid("from", "is after the last day"));
        }
    }
    if let Some(a) = from {
        q = q.filter(conversion::Column::OccurredAt.gte(a.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
    }
    if let Some(b) = to {
        q = q.filter(conversion::Column::OccurredAt.lt((b + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
    }
    match f.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {}
        Some(s @ ("pending" | "approved" | "paid" | "void")) => {
            let with = ledger_entry::Entity::find()
                .select_only()
                .column(ledger_entry::Column::ConversionId)
                .filter(ledger_entry::Column::PartnerId.eq(partner_id))
                .filter(ledger_entry::Column::Kind.eq("earned"))
                .filter(ledger_entry::Column::Status.eq(s))
                .into_query();
            q = q.filter(conversion::Column::Id.in_subquery(with));
        }
        Some(_) => return Err(Error::invalid("status", "pending, approved, paid or void")),
    }
    Ok(q.order_by_desc(conversion::Column::OccurredAt).order_by_desc(conversion::Column::Id))
}

/// Rows for conversions: program, dates, amounts net of refunds, commission and its status.
async fn conversion_rows(
    db: &DatabaseConnection,
    actor: &Actor,
    partner_id: i64,
    convs: Vec<crate::entities::conversion::Model>,
) -> Result<Vec<models::PortalConversionRow>> {
    use crate::entities::ledger_entry;
    use models::Money;
    let programs: std::collections::HashMap<i64, (String, Currency)> = program::Entity::find()
        .filter(program::Column::AccountId.eq(actor.account_id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|p| Currency::parse(&p.currency).ok().map(|c| (p.id, (p.name, c))))
        .collect();
    let mut earned = std::collections::HashMap::new();
    for chunk in convs.iter().map(|c| c.id).collect::<Vec<_>>().chunks(500) {
        for x in ledger_entry::Entity::find()
            .filter(ledger_entry::Column::ConversionId.is_in(chunk.to_vec()))
            .filter(ledger_entry::Column::PartnerId.eq(partner_id))
            .filter(ledger_entry::Column::Kind.eq("earned"))
            .all(db)
            .await?
        {
            earned.insert(x.conversion_id.unwrap_or_default(), x);
        }
    }
    Ok(convs
        .into_iter()
        .map(|c| {
            let (name, currency) = programs
                .get(&c.program_id)
                .cloned()
                .unwrap_or_else(|| (String::new(), Currency::parse(&c.currency).unwrap_or(Currency::parse("USD").expect("USD"))));
            let entry = earned.get(&c.id);
            models::PortalConversionRow {
                id: c.id,
                program: name,
                date: c.occurred_at.format("%Y-%m-%d").to_string(),
                reference: c.external_id.clone(),
                amount: Money::from_minor(c.amount_minor - c.refunded_minor, currency).display(),
                commission: entry.map(|x| Money::from_minor(x.amount_minor, currency).display()).unwrap_or_else(|| "–".into()),
                status: entry.map(|x| x.status.clone()).unwrap_or_else(|| "none".into()),
                conversion_status: if c.refunded_minor > 0 { "refunded".into() } else { c.status.clone() },
            }
        })
        .collect())
}

/// A page of the signed-in partner's conversions matching `f`.
pub async fn conversions(db: &DatabaseConnection, actor: &Actor, f: &models::ConversionFilter) -> Result<models::PortalConversions> {
    let partner_id = actor.require_partner()?;
    let q = conversions_query(actor, partner_id, f)?;
    let convs = crate::db::fetch_page_within(db, q, f.page.unwrap_or(1) as u64, CONVERSIONS_PAGE).await?;
    let rows = conversion_rows(db, actor, partner_id, convs.items).await?;
    let list = models::Page { items: rows, total: convs.total, page: convs.page, per_page: convs.per_page };
    let mine: Vec<i64> =
        enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(partner_id)).all(db).await?.into_iter().map(|e| e.program_id).collect();
    let programs = crate::db::names(db, (program::Column::Id, program::Column::Name), program::Column::Id.is_in(mine), program::Column::Id).await?;
    Ok(models::PortalConversions { list, programs })
}

/// Every conversion of the signed-in partner matching `f` as CSV (at most 100,000 rows).
pub async fn conversions_csv(db: &DatabaseConnection, actor: &Actor, f: &models::ConversionFilter) -> Result<String> {
    use sea_orm::QuerySelect;
    let partner_id = actor.require_partner()?;
    let convs = conversions_query(actor, partner_id, f)?.limit(100_000).all(db).await?;
    let rows = conversion_rows(db, actor, partner_id, convs).await?;
    let mut out =
        vec![["id", "date", "program", "reference", "amount", "commission", "commission_status", "conversion_status"].map(String::from).to_vec()];
    for r in rows {
        out.push(vec![r.id.to_string(), r.date, r.program, r.reference, r.amount, r.commission, r.status, r.conversion_status]);
    }
    crate::csv_export::to_csv(&out)
}

/// The signed-in partner's payouts, newest first: batches that include the partner.
pub async fn payouts(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<models::PortalPayoutRow>> {
    use crate::entities::{ledger_entry, payout_batch};
    use models::Money;
    let partner_id = actor.require_partner()?;
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(actor.account_id))
        .filter(ledger_entry::Column::PartnerId.eq(partner_id))
        .filter(ledger_entry::Column::Kind.eq("payout"))
        .order_by_desc(ledger_entry::Column::Id)
        .all(db)
        .await?;
    let batches = crate::db::rows_by_id(db, payout_batch::Column::Id, entries.iter().filter_map(|e| e.payout_batch_id)).await?;
    let names: std::collections::HashMap<i64, String> =
        crate::db::names(db, (program::Column::Id, program::Column::Name), program::Column::AccountId.eq(actor.account_id), program::Column::Id)
            .await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let b = batches.get(&e.payout_batch_id?)?;
            let currency = Currency::parse(&e.currency).ok()?;
            Some(models::PortalPayoutRow {
                batch_id: b.id,
                program: names.get(&e.program_id).cloned().unwrap_or_default(),
                created: b.created_at.format("%Y-%m-%d").to_string(),
                amount: Money::from_minor(-e.amount_minor, currency).display(),
                status: if b.status == "paid" { "paid".into() } else { "processing".into() },
                paid: b.paid_at.map(|t| t.format("%Y-%m-%d").to_string()),
            })
        })
        .collect())
}
