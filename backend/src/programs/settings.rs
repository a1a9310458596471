//! Programs as the Settings area manages them: the form (every setting of a program), creation
//! and editing from the UI, archiving, and which program managers manage which program.
//! Admins create, archive and assign; a program manager edits the programs they manage.

use crate::access::audit::{self, Change};
use crate::access::auth::Actor;
use crate::entities::{enrollment, program, program_manager, user};
use crate::programs::{self, parse_host, parse_web_url, CommissionInput, ProgramInput};
pub use crate::programs::{form_of, managers_of, set_managers, Settings};
use crate::{Clock, Error, Result};
use chrono::{DateTime, Utc};
use models::{PartnerEmail, ProgramForm, ProgramRow, ProgramsPage, Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::BTreeMap;

/// The only attribution rule the tracker applies today: the click the conversion names (by
/// click id, link code or partner), see api.md.
pub const ATTRIBUTIONS: &[&str] = &["last_click"];

fn number(field: &str, text: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64> {
    let n: i64 = text.trim().parse().map_err(|_| Error::invalid(field, format!("'{}' is not a whole number", text.trim())))?;
    if !range.contains(&n) {
        return Err(Error::invalid(field, format!("must be between {} and {}", range.start(), range.end())));
    }
    Ok(n)
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// Checks the settings of a form (the core fields are checked with [`ProgramInput`]'s rules).
pub fn parse_settings(f: &ProgramForm) -> Result<Settings> {
    let attribution = f.attribution.trim();
    let attribution = if attribution.is_empty() { "last_click" } else { attribution };
    if !ATTRIBUTIONS.contains(&attribution) {
        return Err(Error::invalid("attribution", format!("must be one of: {}", ATTRIBUTIONS.join(", "))));
    }
    let color = f.brand_color.trim().to_lowercase();
    if !(color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())) {
        return Err(Error::invalid("brand_color", "use a colour like #2f6f4f"));
    }
    let logo_url = optional(&f.logo_url).map(|u| parse_web_url("logo_url", &u).map(|(u, _)| u.to_string())).transpose()?;
    let sender_name = optional(&f.sender_name);
    if sender_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        return Err(Error::invalid("sender_name", "must be at most 100 characters"));
    }
    let sender_email = optional(&f.sender_email)
        .map(|e| PartnerEmail::parse(&e).map(|e| e.as_str().to_string()).map_err(Error::field("sender_email")))
        .transpose()?;
    Ok(Settings {
        attribution: attribution.to_string(),
        hold_days: number("hold_days", &f.hold_days, 0..=365)? as i32,
        auto_approve: f.auto_approve,
        brand_color: color,
        logo_url,
        sender_name,
        sender_email,
        dormant_days: number("dormant_days", &f.dormant_days, 1..=730)? as i32,
    })
}

/// The core fields of a form as the REST API's input, so both doors share one set of rules.
fn core_input(f: &ProgramForm) -> Result<ProgramInput> {
    let commission = match f.commission_kind.as_str() {
        "percent" => CommissionInput { percent: Some(f.commission_value.trim().to_string()), flat: None },
        "flat" => CommissionInput { percent: None, flat: Some(f.commission_value.trim().to_string()) },
        _ => return Err(Error::invalid("commission_kind", "must be percent or flat")),
    };
    Ok(ProgramInput {
        name: f.name.clone(),
        currency: f.currency.clone(),
        website: f.website.clone(),
        allowed_domains: f.allowed_domains.split(|c: char| c == ',' || c.is_whitespace()).filter(|h| !h.is_empty()).map(str::to_string).collect(),
        cookie_days: number("cookie_days", &f.cookie_days, 1..=365)?,
        default_commission: commission,
        tiers: Vec::new(),
    })
}

/// True when the actor may edit the program: admins always, program managers when they manage it.
pub async fn can_edit(db: &impl ConnectionTrait, actor: &Actor, program_id: i64) -> Result<bool> {
    if actor.is_admin() {
        return Ok(true);
    }
    if !actor.has_any(&[Role::ProgramManager]) {
        return Ok(false);
    }
    Ok(program_manager::Entity::find_by_id((program_id, actor.user_id)).one(db).await?.is_some())
}

/// Refuses unless the actor may edit the program.
pub async fn require_edit(db: &impl ConnectionTrait, actor: &Actor, program_id: i64) -> Result<()> {
    if can_edit(db, actor, program_id).await? {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The Programs tab: every program with its settings (admins and program managers).
pub async fn page(db: &DatabaseConnection, actor: &Actor) -> Result<ProgramsPage> {
    actor.require_any(&[Role::ProgramManager])?;
    let rows = program::Entity::find().filter(program::Column::AccountId.eq(actor.account_id)).order_by_asc(program::Column::Id).all(db).await?;
    let active = enrollment::Column::Status.eq("active");
    let partners = crate::db::counts_by(db, enrollment::Column::ProgramId, rows.iter().map(|p| p.id), active).await?;
    let mut programs = Vec::with_capacity(rows.len());
    for p in rows {
        let managers = managers_of(db, p.id).await?;
        programs.push(ProgramRow {
            id: p.id,
            editable: actor.is_admin() || managers.contains(&actor.user_id),
            archived: p.archived_at.map(ts),
            partners: partners.get(&p.id).copied().unwrap_or(0),
            form: form_of(&p, &managers)?,
        });
    }
    let team = user::Entity::find()
        .filter(user::Column::AccountId.eq(actor.account_id))
        .filter(user::Column::Kind.eq("team"))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?;
    let managers =
        team.into_iter().filter(|u| Role::parse_list(&u.roles).is_ok_and(|r| r.contains(&Role::ProgramManager))).map(|u| (u.id, u.name)).collect();
    Ok(ProgramsPage { programs, managers, is_admin: actor.is_admin(), blank: blank_form() })
}

/// A blank form with the defaults a new program starts from.
pub fn blank_form() -> ProgramForm {
    let s = Settings::default();
    ProgramForm {
        currency: "USD".into(),
        cookie_days: "30".into(),
        attribution: s.attribution,
        commission_kind: "percent".into(),
        commission_value: "10".into(),
        hold_days: s.hold_days.to_string(),
        auto_approve: s.auto_approve,
        brand_color: s.brand_color,
        dormant_days: s.dormant_days.to_string(),
        ..Default::default()
    }
}

/// Creates a program from the form (admins); returns its id. It starts with one `Standard` tier
/// at the default commission (tiers are edited under Tiers).
pub async fn create(db: &DatabaseConnection, clock: &Clock, actor: &Actor, form: &ProgramForm) -> Result<i64> {
    actor.require_admin()?;
    let input = core_input(form)?;
    let settings = parse_settings(form)?;
    let (p, _) = programs::create_with(db, clock, actor.account_id, &actor.label(), &input, &settings, &form.managers).await?;
    Ok(p.row.id)
}

/// Saves an edited program (admins, or a program manager who manages it). The currency is fixed
/// once a program exists (its ledger is in it); managers are changed by admins only.
pub async fn update(db: &DatabaseConnection, clock: &Clock, actor: &Actor, program_id: i64, form: &ProgramForm) -> Result<()> {
    actor.require_any(&[Role::ProgramManager])?;
    let now = clock.now();
    let current = programs::load(db, actor.account_id, program_id).await?;
    require_edit(db, actor, program_id).await?;
    let mut form = form.clone();
    if !form.currency.trim().is_empty() && !form.currency.trim().eq_ignore_ascii_case(&current.row.currency) {
        return Err(Error::invalid("currency", "cannot change once a program exists; create a new program instead"));
    }
    form.currency = current.row.currency.clone();
    let input = core_input(&form)?;
    let settings = parse_settings(&form)?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "give a name of 1 to 200 characters"));
    }
    let (website, _) = parse_web_url("website", &input.website)?;
    let hosts = input.allowed_domains.iter().map(|h| parse_host(h)).collect::<Result<Vec<_>>>()?;
    let rate = input.default_commission.parse("default_commission", current.currency)?;
    let (kind, value) = rate.to_stored(current.currency);

    let txn = crate::db::begin_write(db).await?;
    let old_managers = managers_of(&txn, program_id).await?;
    let managers = if actor.is_admin() { form.managers.clone() } else { old_managers.clone() };
    let before = form_of(&current.row, &old_managers)?;
    let mut a: program::ActiveModel = current.row.clone().into();
    a.name = Set(name.to_string());
    a.website = Set(website.to_string());
    a.allowed_domains = Set(serde_json::to_string(&hosts).expect("strings serialise"));
    a.cookie_days = Set(input.cookie_days as i32);
    a.attribution = Set(settings.attribution);
    a.commission_kind = Set(kind.into());
    a.commission_value = Set(value);
    a.hold_days = Set(settings.hold_days);
    a.auto_approve = Set(settings.auto_approve);
    a.brand_color = Set(settings.brand_color);
    a.logo_url = Set(settings.logo_url);
    a.sender_name = Set(settings.sender_name);
    a.sender_email = Set(settings.sender_email);
    a.dormant_days = Set(settings.dormant_days);
    let saved = a.update(&txn).await?;
    if managers != old_managers {
        set_managers(&txn, actor.account_id, program_id, &managers).await?;
    }
    let after = form_of(&saved, &managers)?;
    if let Some((b, a)) = diff(&before, &after) {
        audit::record(&txn, actor, now, Change { kind: "program_updated", subject: saved.name.clone(), before: Some(b), after: Some(a) }).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The fields that differ between two forms, as two JSON objects (before, after).
fn diff(before: &ProgramForm, after: &ProgramForm) -> Option<(String, String)> {
    let as_map = |f: &ProgramForm| -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(f) {
            Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    };
    let (b, a) = (as_map(before), as_map(after));
    let changed: Vec<&String> = a.keys().filter(|k| b.get(*k) != a.get(*k)).collect();
    if changed.is_empty() {
        return None;
    }
    let pick = |m: &BTreeMap<String, serde_json::Value>| {
        serde_json::Value::Object(changed.iter().map(|k| ((*k).clone(), m[*k].clone())).collect()).to_string()
    };
    Some((pick(&b), pick(&a)))
}

/// Archives a program (admins): its data stays, it takes no new enrollments, links or
/// conversions. `archived = false` restores it.
pub async fn set_archived(db: &DatabaseConnection, clock: &Clock, actor: &Actor, program_id: i64, archived: bool) -> Result<()> {
    actor.require_admin()?;
    let now = clock.now();
    let current = programs::load(db, actor.account_id, program_id).await?;
    if current.row.archived_at.is_some() == archived {
        return Ok(());
    }
    let txn = crate::db::begin_write(db).await?;
    let name = current.row.name.clone();
    let mut a: program::ActiveModel = current.row.into();
    a.archived_at = Set(archived.then_some(now));
    a.update(&txn).await?;
    let (kind, before, after) = if archived { ("program_archived", "open", "archived") } else { ("program_restored", "archived", "open") };
    audit::record(&txn, actor, now, Change { kind, subject: name, before: Some(before.into()), after: Some(after.into()) }).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ProgramForm {
        ProgramForm { name: "P".into(), website: "https://shop.example".into(), ..blank_form() }
    }

    #[test]
    fn the_blank_form_with_a_name_and_website_is_valid() {
        assert!(parse_settings(&form()).is_ok());
        assert!(core_input(&form()).is_ok());
    }

    #[test]
    fn settings_name_the_field_at_fault() {
        let bad = |f: ProgramForm| match parse_settings(&f).and_then(|_| core_input(&f).map(|_| ())) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        };
        assert_eq!(bad(ProgramForm { brand_color: "green".into(), ..form() }), "brand_color");
        assert_eq!(bad(ProgramForm { hold_days: "-1".into(), ..form() }), "hold_days");
        assert_eq!(bad(ProgramForm { dormant_days: "0".into(), ..form() }), "dormant_days");
        assert_eq!(bad(ProgramForm { cookie_days: "400".into(), ..form() }), "cookie_days");
        assert_eq!(bad(ProgramForm { cookie_days: "ten".into(), ..form() }), "cookie_days");
        assert_eq!(bad(ProgramForm { logo_url: "javascript:alert(1)".into(), ..form() }), "logo_url");
        assert_eq!(bad(ProgramForm { sender_email: "nobody".into(), ..form() }), "sender_email");
        assert_eq!(bad(ProgramForm { attribution: "first_touch".into(), ..form() }), "attribution");
        assert_eq!(bad(ProgramForm { commission_kind: "both".into(), ..form() }), "commission_kind");
    }

    #[test]
    fn domains_split_on_commas_spaces_and_lines() {
        let f = ProgramForm { allowed_domains: "a.example, b.example\nc.example".into(), ..form() };
        assert_eq!(core_input(&f).unwrap().allowed_domains, vec!["a.example", "b.example", "c.example"]);
    }

    #[test]
    fn the_diff_names_only_changed_fields() {
        let a = form();
        let b = ProgramForm { hold_days: "7".into(), ..form() };
        let (before, after) = diff(&a, &b).unwrap();
        assert_eq!(before, r#"{"hold_days":"30"}"#);
        assert_eq!(after, r#"{"hold_days":"7"}"#);
        assert!(diff(&a, &a).is_none());
    }
}
