//! Email wording: the variables program templates and sequence steps may use (`{{tier}}`), the
//! built-in wording of the system emails, each program's own version of them, its footer, and a
//! preview filled with a real partner's data and wrapped in the program's branding.

use crate::access::audit::{self, Change};
use crate::access::auth::Actor;
use crate::entities::{email_template, enrollment, ledger_entry, link, partner, program};
use crate::{programs::settings, Error, Result};
use chrono::{DateTime, Utc};
use models::{Currency, EmailPreview, EmailTemplateView, Money, PreviewInput, TemplateInput, TemplateVariable, TemplatesPage};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::BTreeMap;

/// The variables, with what each becomes.
pub const VARIABLES: &[(&str, &str)] = &[
    ("partner_name", "the partner's name"),
    ("program", "the program's name"),
    ("tier", "the partner's tier"),
    ("rate", "the partner's commission rate"),
    ("next_tier", "the next tier (or the top tier's name)"),
    ("next_tier_missing", "what is missing for the next tier, in words"),
    ("link", "the partner's first tracking link (else the portal's links page)"),
    ("portal_url", "the partner portal"),
    ("earnings_pending", "commission pending approval"),
    ("earnings_approved", "commission approved, not yet paid"),
    ("earnings_paid", "commission paid so far"),
];

/// Older names still understood: `{{name}}` is `{{partner_name}}`.
const ALIASES: &[(&str, &str)] = &[("name", "partner_name")];

/// The system emails a program may reword: kind, what it is for, default subject and body.
pub const KINDS: &[(&str, &str, &str, &str)] = &[
    (
        "tier_upgraded",
        "Tier upgrade: sent when a partner moves up a tier",
        "You are now {{tier}} in {{program}}",
        "Hello {{partner_name}},\n\nCongratulations: you reached {{tier}} in {{program}}. From now on you earn {{rate}} on every conversion.\n\n{{next_tier_missing}}\n\nThank you for partnering with us.",
    ),
    (
        "re_engagement",
        "Re-engagement: sent when a partner becomes dormant",
        "We miss you at {{program}}",
        "Hello {{partner_name}},\n\nIt has been a while since your last referral for {{program}}. Your link still works: {{link}}\n\nNew campaigns are waiting in your partner portal: {{portal_url}}",
    ),
    (
        "application_approved",
        "Application approved: sent when the team approves an applicant",
        "Welcome to {{program}}",
        "Hello {{partner_name}},\n\nYour application to {{program}} was approved. Sign in to your partner portal to create your links and follow your earnings:\n{{portal_url}}",
    ),
];

/// Variable values for one partner in one program.
#[derive(Debug, Clone, Default)]
pub struct Vars(BTreeMap<&'static str, String>);

impl Vars {
    /// Sets a value (overrides what was read).
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.insert(name, value.into());
    }

    /// A value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

fn canonical(name: &str) -> Option<&'static str> {
    VARIABLES.iter().map(|(n, _)| *n).find(|n| *n == name).or_else(|| ALIASES.iter().find(|(a, _)| *a == name).map(|(_, n)| *n))
}

/// The pieces of a template: literal text and variables (`None` marks a broken `{{`).
fn pieces(text: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let (lit, tail) = rest.split_at(start);
        match tail[2..].find("}}") {
            Some(end) => {
                out.push((lit, Some(tail[2..2 + end].trim())));
                rest = &tail[2 + end + 2..];
            }
            None => {
                out.push((lit, None));
                rest = "";
            }
        }
    }
    out.push((rest, Some("")));
    out
}

/// Refuses a template with an unknown variable or an unclosed `{{`, naming `field`.
pub fn check(field: &str, text: &str) -> Result<()> {
    for (_, var) in pieces(text) {
        match var {
            None => return Err(Error::invalid(field, "has a '{{' without its closing '}}'")),
            Some("") => {}
            Some(v) if canonical(v).is_some() => {}
            Some(v) => {
                let known: Vec<String> = VARIABLES.iter().map(|(n, _)| format!("{{{{{n}}}}}")).collect();
                return Err(Error::invalid(field, format!("uses an unknown variable {{{{{v}}}}}; known: {}", known.join(", "))));
            }
        }
    }
    Ok(())
}

/// The variables a text uses, by their canonical names (unknown ones as written).
pub fn variables_in(text: &str) -> Vec<String> {
    pieces(text).into_iter().filter_map(|(_, v)| v.filter(|v| !v.is_empty()).map(|v| canonical(v).unwrap_or(v).to_string())).collect()
}

/// Replaces every variable of `text` with its value (unknown ones are left as written).
pub fn fill(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for (lit, var) in pieces(text) {
        out.push_str(lit);
        match var {
            Some("") => {}
            Some(v) => match canonical(v).and_then(|c| vars.get(c)) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("{{");
                    out.push_str(v);
                    out.push_str("}}");
                }
            },
            None => out.push_str("{{"),
        }
    }
    out
}

/// Reads the variables of enrollment `e` as of `now`.
pub async fn vars(db: &impl ConnectionTrait, e: &enrollment::Model, now: DateTime<Utc>) -> Result<Vars> {
    let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
    let p = partner::Entity::find_by_id(e.partner_id).one(db).await?.ok_or(Error::NotFound("partner"))?;
    let currency = Currency::parse(&prog.currency).map_err(|x| Error::Internal(x.0))?;
    let progress = crate::programs::tiers::tier_progress(db, e, &prog, currency, now).await?;
    let base = crate::comms::mail::public_url();
    let first_link: Option<String> = link::Entity::find()
        .select_only()
        .column(link::Column::Code)
        .filter(link::Column::EnrollmentId.eq(e.id))
        .order_by_asc(link::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    let sums: Vec<(String, Option<i64>)> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::Status)
        .column_as(sea_orm::sea_query::Expr::col(ledger_entry::Column::AmountMinor).sum().cast_as("BIGINT"), "total")
        .filter(ledger_entry::Column::EnrollmentId.eq(e.id))
        .filter(ledger_entry::Column::Kind.ne("payout"))
        .group_by(ledger_entry::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let sum = |status: &str| {
        let minor = sums.iter().filter(|(s, _)| s == status).filter_map(|(_, v)| *v).sum::<i64>();
        Money::from_minor(minor, currency).display()
    };
    let mut v = Vars::default();
    v.set("partner_name", p.name);
    v.set("program", prog.name.clone());
    v.set("tier", progress.current.clone());
    v.set("rate", progress.rate.clone());
    v.set("next_tier", progress.next.clone().unwrap_or_else(|| progress.current.clone()));
    v.set("next_tier_missing", progress.missing.clone().unwrap_or_else(|| format!("You are in our top tier, {}.", progress.current)));
    v.set("link", first_link.map(|c| format!("{base}/r/{c}")).unwrap_or_else(|| format!("{base}/portal/links")));
    v.set("portal_url", format!("{base}/portal"));
    v.set("earnings_pending", sum("pending"));
    v.set("earnings_approved", sum("approved"));
    v.set("earnings_paid", sum("paid"));
    Ok(v)
}

/// The program's wording of a system email: its own, else the built-in one.
pub async fn wording(db: &impl ConnectionTrait, program_id: i64, kind: &str) -> Result<(String, String)> {
    if let Some(t) = email_template::Entity::find()
        .filter(email_template::Column::ProgramId.eq(program_id))
        .filter(email_template::Column::Kind.eq(kind))
        .one(db)
        .await?
    {
        return Ok((t.subject, t.body));
    }
    let (_, _, s, b) = KINDS.iter().find(|k| k.0 == kind).ok_or_else(|| Error::invalid("kind", format!("no email kind '{kind}'")))?;
    Ok((s.to_string(), b.to_string()))
}

/// A system email for enrollment `e`, worded by its program and filled with its data; `adjust`
/// may change values first (the tier an upgrade has just written, say).
pub async fn compose(
    db: &impl ConnectionTrait,
    e: &enrollment::Model,
    kind: &str,
    now: DateTime<Utc>,
    adjust: impl FnOnce(&mut Vars),
) -> Result<(String, String)> {
    let (subject, body) = wording(db, e.program_id, kind).await?;
    let mut v = vars(db, e, now).await?;
    adjust(&mut v);
    Ok((fill(&subject, &v), fill(&body, &v)))
}

fn variables() -> Vec<TemplateVariable> {
    VARIABLES.iter().map(|(n, a)| TemplateVariable { name: n.to_string(), about: a.to_string() }).collect()
}

/// The variables, for the sequence editor.
pub fn variable_list() -> Vec<TemplateVariable> {
    variables()
}

async fn own_program(db: &impl ConnectionTrait, actor: &Actor, program_id: i64) -> Result<program::Model> {
    crate::db::find_in_account(db, program::Column::AccountId, actor.account_id, program_id, "program").await
}

/// The Templates tab for a program (the first one when none is given).
pub async fn page(db: &DatabaseConnection, actor: &Actor, program_id: Option<i64>) -> Result<TemplatesPage> {
    actor.require_team()?;
    let programs = crate::programs::open_names(db, actor.account_id).await?;
    let pid = match program_id {
        Some(id) => id,
        None => programs.first().map(|p| p.0).ok_or(Error::NotFound("program"))?,
    };
    let prog = own_program(db, actor, pid).await?;
    let custom: BTreeMap<String, email_template::Model> = email_template::Entity::find()
        .filter(email_template::Column::ProgramId.eq(pid))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.kind.clone(), t))
        .collect();
    let templates = KINDS
        .iter()
        .map(|(kind, label, s, b)| match custom.get(*kind) {
            Some(t) => EmailTemplateView {
                kind: kind.to_string(),
                label: label.to_string(),
                subject: t.subject.clone(),
                body: t.body.clone(),
                customized: true,
                updated: Some(format!("{}, {}", t.updated_by, t.updated_at.format("%Y-%m-%d %H:%M UTC"))),
            },
            None => EmailTemplateView {
                kind: kind.to_string(),
                label: label.to_string(),
                subject: s.to_string(),
                body: b.to_string(),
                customized: false,
                updated: None,
            },
        })
        .collect();
    let enrolled: Vec<(i64, String)> = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::PartnerId)
        .column(enrollment::Column::Status)
        .filter(enrollment::Column::ProgramId.eq(pid))
        .order_by_asc(enrollment::Column::Id)
        .limit(200)
        .into_tuple()
        .all(db)
        .await?;
    let mut ids: Vec<i64> = enrolled.iter().filter(|(_, s)| s == "active").map(|(p, _)| *p).take(50).collect();
    ids.extend(enrolled.iter().filter(|(_, s)| s != "active").map(|(p, _)| *p).take(50 - ids.len().min(50)));
    let names: BTreeMap<i64, String> =
        crate::db::names(db, (partner::Column::Id, partner::Column::Name), partner::Column::Id.is_in(ids.clone()), partner::Column::Id).await?;
    let partners = ids.into_iter().filter_map(|id| names.get(&id).map(|n| (id, n.clone()))).collect();
    Ok(TemplatesPage {
        programs,
        program_id: pid,
        footer: prog.email_footer.clone().unwrap_or_default(),
        templates,
        variables: variables(),
        partners,
        can_edit: settings::can_edit(db, actor, pid).await?,
    })
}

fn check_text(subject: &str, body: &str) -> Result<()> {
    if subject.trim().is_empty() || subject.chars().count() > 200 {
        return Err(Error::invalid("subject", "between 1 and 200 characters"));
    }
    if body.trim().is_empty() || body.chars().count() > 20_000 {
        return Err(Error::invalid("body", "between 1 and 20,000 characters"));
    }
    check("subject", subject)?;
    check("body", body)
}

/// Saves a program's wording of a system email; the built-in wording removes the program's own.
pub async fn save(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, input: &TemplateInput) -> Result<()> {
    actor.require_team()?;
    let prog = own_program(db, actor, input.program_id).await?;
    settings::require_edit(db, actor, prog.id).await?;
    let (_, _, ds, db_) =
        KINDS.iter().find(|k| k.0 == input.kind).ok_or_else(|| Error::invalid("kind", format!("no email kind '{}'", input.kind)))?;
    let (subject, body) = (input.subject.trim(), input.body.trim());
    check_text(subject, body)?;
    let txn = crate::db::begin_write(db).await?;
    let existing = email_template::Entity::find()
        .filter(email_template::Column::ProgramId.eq(prog.id))
        .filter(email_template::Column::Kind.eq(&input.kind))
        .one(&txn)
        .await?;
    let before = existing.as_ref().map(|t| t.subject.clone());
    if subject == *ds && body == *db_ {
        if let Some(t) = existing {
            email_template::Entity::delete_by_id(t.id).exec(&txn).await?;
        }
    } else if let Some(t) = existing {
        let mut a: email_template::ActiveModel = t.into();
        a.subject = Set(subject.to_string());
        a.body = Set(body.to_string());
        a.updated_by = Set(actor.label());
        a.updated_at = Set(now);
        a.update(&txn).await?;
    } else {
        email_template::ActiveModel {
            account_id: Set(actor.account_id),
            program_id: Set(prog.id),
            kind: Set(input.kind.clone()),
            subject: Set(subject.to_string()),
            body: Set(body.to_string()),
            updated_by: Set(actor.label()),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let change =
        Change { kind: "email_template_saved", subject: format!("{} / {}", prog.name, input.kind), before, after: Some(subject.to_string()) };
    audit::record(&txn, actor, now, change).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets the extra footer line of a program's emails (empty: none).
pub async fn set_footer(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, program_id: i64, footer: &str) -> Result<()> {
    actor.require_team()?;
    let prog = own_program(db, actor, program_id).await?;
    settings::require_edit(db, actor, prog.id).await?;
    let footer = footer.trim();
    if footer.chars().count() > 500 {
        return Err(Error::invalid("footer", "at most 500 characters"));
    }
    let txn = crate::db::begin_write(db).await?;
    let before = prog.email_footer.clone();
    let mut a: program::ActiveModel = prog.clone().into();
    a.email_footer = Set((!footer.is_empty()).then(|| footer.to_string()));
    a.update(&txn).await?;
    audit::record(&txn, actor, now, Change { kind: "email_footer_set", subject: prog.name, before, after: Some(footer.to_string()) }).await?;
    txn.commit().await?;
    Ok(())
}

/// Renders a subject and body as the partner would receive them: variables filled with a real
/// partner's data, the program's sender, branding and footer, HTML and plain text.
pub async fn preview(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, input: &PreviewInput) -> Result<EmailPreview> {
    actor.require_team()?;
    let prog = own_program(db, actor, input.program_id).await?;
    check_text(&input.subject, &input.body)?;
    let find = || enrollment::Entity::find().filter(enrollment::Column::ProgramId.eq(prog.id)).order_by_asc(enrollment::Column::Id);
    let e = match input.partner_id {
        Some(pid) => find().filter(enrollment::Column::PartnerId.eq(pid)).one(db).await?,
        None => match find().filter(enrollment::Column::Status.eq("active")).one(db).await? {
            Some(e) => Some(e),
            None => find().one(db).await?,
        },
    };
    let e = e.ok_or_else(|| Error::invalid("partner_id", format!("no partner of {} to preview with", prog.name)))?;
    let v = vars(db, &e, now).await?;
    let subject = fill(&input.subject, &v);
    let body = fill(&input.body, &v);
    let acc = crate::entities::account::Entity::find_by_id(actor.account_id).one(db).await?.ok_or(Error::NotFound("account"))?;
    let brand = crate::comms::mail::Brand::of(&prog, &acc.name, &crate::comms::mail::public_url());
    Ok(EmailPreview {
        partner: v.get("partner_name").unwrap_or_default().to_string(),
        from: format!("{} <{}>", brand.sender_name, brand.sender_email),
        text: brand.text(&body, Some("#unsubscribe")),
        html: brand.html(&body, Some("#unsubscribe"), None),
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_and_unknown_ones_refused() {
        let mut v = Vars::default();
        v.set("partner_name", "Ava");
        v.set("tier", "Gold");
        assert_eq!(fill("Hi {{ partner_name }}, now {{tier}}! {{name}}", &v), "Hi Ava, now Gold! Ava");
        assert!(check("body", "{{tier}} {{ next_tier_missing }}").is_ok());
        let e = check("body", "Hello {{nmae}}").unwrap_err().to_string();
        assert!(e.contains("{{nmae}}"), "{e}");
        assert!(check("subject", "Hello {{name").is_err());
        assert_eq!(fill("{{unknown}} and {{", &v), "{{unknown}} and {{");
    }

    #[test]
    fn every_default_wording_passes_the_check() {
        for (kind, _, s, b) in KINDS {
            assert!(check("subject", s).is_ok() && check("body", b).is_ok(), "{kind}");
        }
    }
}
