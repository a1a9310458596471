//! Custom dashboards saved per user and shared per role: the defaults, listing, saving,
//! deleting and rendering them with the widgets of [`super::dashboards`].

use super::dashboards::{at_risk, cohort_svg, cohort_table, health_by_tier, kpis, tier_mix_svg, top_partners};
use crate::entities::dashboard;
use crate::{Actor, Error, Result};
use chrono::{DateTime, Utc};
use models::{DashboardDef, RenderedDashboard, RenderedWidget, Role, Widget, WIDGET_KINDS};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

fn w(kind: &str, days: u32) -> Widget {
    Widget { kind: kind.into(), program_id: None, days }
}

/// A built-in dashboard shared with `role`.
fn built_in(id: i64, name: &str, role: &str, widgets: Vec<Widget>) -> DashboardDef {
    DashboardDef { id, name: name.into(), shared_role: Some(role.into()), mine: false, widgets }
}

/// The built-in dashboards every team member can open: the team's, finance's and leadership's.
pub fn defaults() -> Vec<DashboardDef> {
    vec![
        built_in(-1, "Team", "program_manager", vec![w("kpis", 30), w("at_risk", 30), w("health_by_tier", 30), w("top_partners", 30)]),
        built_in(-2, "Finance", "finance_approver", vec![w("kpis", 30), w("top_partners", 90), w("tier_mix", 30)]),
        built_in(-3, "Leadership", "analytics_viewer", vec![w("kpis", 90), w("cohort_chart", 84), w("health_by_tier", 30), w("tier_mix", 30)]),
    ]
}

fn def_of(d: &dashboard::Model, actor: &Actor) -> DashboardDef {
    DashboardDef {
        id: d.id,
        name: d.name.clone(),
        shared_role: d.shared_role.clone(),
        mine: d.user_id == Some(actor.user_id),
        widgets: serde_json::from_str(&d.widgets).unwrap_or_default(),
    }
}

/// Every dashboard the actor can open: the defaults, their own, and those shared with one of
/// their roles.
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<DashboardDef>> {
    actor.require_team()?;
    let mut out = defaults();
    let roles: Vec<String> = actor.roles.iter().map(|r| r.as_str().to_string()).collect();
    let admin = actor.roles.contains(&Role::Admin);
    for d in dashboard::Entity::find().filter(dashboard::Column::AccountId.eq(actor.account_id)).order_by_asc(dashboard::Column::Id).all(db).await? {
        let shared = d.shared_role.as_ref().is_some_and(|r| admin || roles.contains(r));
        if d.user_id == Some(actor.user_id) || shared {
            out.push(def_of(&d, actor));
        }
    }
    Ok(out)
}

/// Saves (creates when `id` ≤ 0) a dashboard of the actor. Only its owner changes it; sharing
/// with a role takes a program manager (or admin).
pub async fn save(db: &DatabaseConnection, actor: &Actor, def: &DashboardDef, now: DateTime<Utc>) -> Result<i64> {
    actor.require_team()?;
    let name = def.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(Error::invalid("name", "give a name of 1 to 80 characters"));
    }
    if def.widgets.is_empty() || def.widgets.len() > 12 {
        return Err(Error::invalid("widgets", "a dashboard has 1 to 12 widgets"));
    }
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    for x in &def.widgets {
        if !WIDGET_KINDS.iter().any(|(k, _)| *k == x.kind) {
            return Err(Error::invalid("widgets", format!("unknown widget '{}'", x.kind)));
        }
        if !(1..=730).contains(&x.days) {
            return Err(Error::invalid("widgets", "a window is 1 to 730 days"));
        }
        if let Some(p) = x.program_id {
            programs.iter().find(|q| q.id == p).ok_or(Error::NotFound("program"))?;
        }
    }
    if let Some(role) = &def.shared_role {
        Role::parse(role).map_err(Error::field("shared_role"))?;
        actor.require_any(&[Role::ProgramManager])?;
    }
    let widgets = serde_json::to_string(&def.widgets).expect("plain data serialises");
    if def.id > 0 {
        let d = crate::db::find_in_account(db, dashboard::Column::AccountId, actor.account_id, def.id, "dashboard").await?;
        if d.user_id != Some(actor.user_id) {
            return Err(Error::Forbidden);
        }
        let mut a: dashboard::ActiveModel = d.into();
        a.name = Set(name.into());
        a.shared_role = Set(def.shared_role.clone());
        a.widgets = Set(widgets);
        a.updated_at = Set(now);
        sea_orm::ActiveModelTrait::update(a, db).await?;
        return Ok(def.id);
    }
    let d = sea_orm::ActiveModelTrait::insert(
        dashboard::ActiveModel {
            account_id: Set(actor.account_id),
            user_id: Set(Some(actor.user_id)),
            shared_role: Set(def.shared_role.clone()),
            name: Set(name.into()),
            widgets: Set(widgets),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
        db,
    )
    .await?;
    Ok(d.id)
}

/// Deletes one of the actor's own dashboards.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<()> {
    actor.require_team()?;
    let gone = dashboard::Entity::delete_many()
        .filter(dashboard::Column::Id.eq(id))
        .filter(dashboard::Column::AccountId.eq(actor.account_id))
        .filter(dashboard::Column::UserId.eq(actor.user_id))
        .exec(db)
        .await?
        .rows_affected;
    if gone == 0 {
        return Err(Error::NotFound("dashboard"));
    }
    Ok(())
}

/// Renders a dashboard the actor can open (`None`: the first default for their roles).
pub async fn render(db: &DatabaseConnection, actor: &Actor, id: Option<i64>, now: DateTime<Utc>) -> Result<RenderedDashboard> {
    let available = list(db, actor).await?;
    let def = match id {
        Some(id) => available.iter().find(|d| d.id == id).cloned().ok_or(Error::NotFound("dashboard"))?,
        None => {
            let preferred = if actor.roles.contains(&Role::AnalyticsViewer) {
                -3
            } else if actor.roles.contains(&Role::FinanceApprover) && !actor.roles.contains(&Role::ProgramManager) {
                -2
            } else {
                -1
            };
            available.iter().find(|d| d.id == preferred).cloned().expect("defaults are listed")
        }
    };
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    let pname = |p: Option<i64>| p.and_then(|p| programs.iter().find(|x| x.id == p)).map_or_else(|| "All programs".to_string(), |x| x.name.clone());
    let mut widgets = Vec::new();
    for x in &def.widgets {
        let mut r = RenderedWidget { widget: x.clone(), title: String::new(), kpis: vec![], svg: String::new(), head: vec![], rows: vec![] };
        let scope = pname(x.program_id);
        match x.kind.as_str() {
            "kpis" => {
                r.title = format!("KPIs · {scope} · last {} days", x.days);
                r.kpis = kpis(db, actor.account_id, x.program_id, x.days, now).await?.0;
            }
            "cohort_chart" => {
                let p = x.program_id.or(programs.first().map(|p| p.id)).ok_or(Error::NotFound("program"))?;
                let weeks = (x.days / 7).clamp(1, 104);
                let (t, _) = cohort_table(db, actor.account_id, p, weeks, now).await?;
                r.title = format!("Cohort revenue · {} · {weeks} weeks", pname(Some(p)));
                r.svg = cohort_svg(&t, &pname(Some(p)));
            }
            "health_by_tier" => {
                r.title = format!("Health by tier · {scope}");
                r.head = vec!["Tier".into(), "Active partners".into(), "Average health".into(), "At risk".into()];
                r.rows = health_by_tier(db, actor.account_id, x.program_id)
                    .await?
                    .into_iter()
                    .map(|h| vec![h.tier, h.enrollments.to_string(), h.average.unwrap_or_else(|| "—".into()), h.at_risk.to_string()])
                    .collect();
            }
            "top_partners" => {
                r.title = format!("Top partners · {scope} · last {} days", x.days);
                r.head = vec!["Partner".into(), "Tier".into(), "Revenue".into(), "Conversions".into()];
                r.rows = top_partners(db, actor.account_id, x.program_id, x.days, now, 10)
                    .await?
                    .into_iter()
                    .map(|t| vec![t.name, t.tier, t.revenue, t.conversions.to_string()])
                    .collect();
            }
            "at_risk" => {
                r.title = format!("At risk · {scope}");
                r.head = vec!["Partner".into(), "Tier".into(), "Health".into(), "Reason".into()];
                r.rows = at_risk(db, actor.account_id, x.program_id, 10)
                    .await?
                    .into_iter()
                    .map(|a| vec![a.name, a.tier, a.score.map(|s| s.to_string()).unwrap_or_default(), a.reason])
                    .collect();
            }
            "tier_mix" => {
                r.title = format!("Tier mix · {scope}");
                r.svg = tier_mix_svg(&health_by_tier(db, actor.account_id, x.program_id).await?);
            }
            _ => continue,
        }
        widgets.push(r);
    }
    Ok(RenderedDashboard { def, available, widgets, programs: programs.iter().map(|p| (p.id, p.name.clone())).collect() })
}
