//! Behaviour-triggered email sequences. A sequence belongs to a program and has a trigger
//! (enrolled, approved, first conversion, tier upgraded, dormant, at risk) and steps, each sent
//! a number of hours after the one before. When the trigger happens to a partner, [`enter`]
//! starts a *run* for each active sequence of the program with that trigger — once per trigger
//! occurrence (a unique key per sequence, such as `approved:17` or `dormant:17:1767225600`).
//! The `sequences` scheduler job ([`advance`]) sends the steps that are due, each exactly once
//! (a guarded step counter in the same transaction as the outbox email), and stops a run when
//! its partner converts (if the sequence says so), leaves the program or unsubscribes.

use crate::access::audit::{self, Change};
use crate::access::auth::Actor;
use crate::entities::{conversion, email_suppression, enrollment, partner, program, sequence, sequence_run, sequence_step};
use crate::outbox::{self, NewEmail};
use crate::report::Report;
use crate::timeline::{self, Event};
use crate::{comms::templates, programs::settings, Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{Role, SequenceDetail, SequenceInput, SequenceRow, SequenceRunRow, SequenceStepInput, SequencesPage};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::BTreeMap;

/// The triggers: value and words.
pub const TRIGGERS: &[(&str, &str)] = &[
    ("enrolled", "Enrolled in the program (applied or added)"),
    ("approved", "Approved (active in the program)"),
    ("first_conversion", "First conversion"),
    ("tier_upgraded", "Moved up a tier"),
    ("dormant", "Became dormant"),
    ("at_risk", "Health fell below the at-risk threshold"),
];

/// Runs one job pass takes at most.
const BATCH: u64 = 500;

/// Most steps a sequence may have.
const MAX_STEPS: usize = 20;

fn trigger_label(t: &str) -> String {
    TRIGGERS.iter().find(|(v, _)| *v == t).map(|(_, l)| l.to_string()).unwrap_or_else(|| t.to_string())
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Starts a run of every active sequence of `e`'s program with `trigger`, unless this
/// `occurrence` already started one. Call it inside the transaction of the event. Returns the
/// runs started.
pub async fn enter(txn: &impl ConnectionTrait, now: DateTime<Utc>, e: &enrollment::Model, trigger: &str, occurrence: String) -> Result<u32> {
    let seqs = sequence::Entity::find()
        .filter(sequence::Column::ProgramId.eq(e.program_id))
        .filter(sequence::Column::Trigger.eq(trigger))
        .filter(sequence::Column::Active.eq(true))
        .all(txn)
        .await?;
    let mut started = 0;
    for s in seqs {
        let Some(first) = sequence_step::Entity::find()
            .filter(sequence_step::Column::SequenceId.eq(s.id))
            .order_by_asc(sequence_step::Column::Position)
            .one(txn)
            .await?
        else {
            continue;
        };
        let inserted = sequence_run::Entity::insert(sequence_run::ActiveModel {
            account_id: Set(e.account_id),
            sequence_id: Set(s.id),
            enrollment_id: Set(e.id),
            partner_id: Set(e.partner_id),
            occurrence: Set(occurrence.clone()),
            status: Set("active".into()),
            next_step: Set(0),
            next_at: Set(Some(now + Duration::hours(first.delay_hours as i64))),
            entered_at: Set(now),
            finished_at: Set(None),
            stop_reason: Set(None),
            ..Default::default()
        })
        .on_conflict(OnConflict::columns([sequence_run::Column::SequenceId, sequence_run::Column::Occurrence]).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        if inserted == 1 {
            started += 1;
            timeline::record(
                txn,
                Event::enrollment(
                    e,
                    "sequence",
                    "system: sequences",
                    format!("Entered the sequence “{}” ({})", s.name, trigger_label(trigger).to_lowercase()),
                    now,
                )
                .with_data(serde_json::json!({"sequence_id": s.id, "occurrence": occurrence})),
            )
            .await?;
        }
    }
    Ok(started)
}

/// Enters the first-conversion sequences of `e`'s program when `e` has exactly one conversion
/// (call right after inserting it). Costs one small query when the program has none.
pub async fn enter_on_first_conversion(txn: &impl ConnectionTrait, now: DateTime<Utc>, e: &enrollment::Model) -> Result<()> {
    let any = sequence::Entity::find()
        .filter(sequence::Column::ProgramId.eq(e.program_id))
        .filter(sequence::Column::Trigger.eq("first_conversion"))
        .filter(sequence::Column::Active.eq(true))
        .count(txn)
        .await?;
    if any == 0 {
        return Ok(());
    }
    let n = conversion::Entity::find().filter(conversion::Column::EnrollmentId.eq(e.id)).limit(2).count(txn).await?;
    if n == 1 {
        enter(txn, now, e, "first_conversion", format!("first_conversion:{}", e.id)).await?;
    }
    Ok(())
}

/// Why a run must stop before its next step, if it must.
async fn stop_reason(
    db: &impl ConnectionTrait,
    s: &sequence::Model,
    r: &sequence_run::Model,
    e: Option<&enrollment::Model>,
    p: Option<&partner::Model>,
) -> Result<Option<String>> {
    let Some(e) = e else {
        return Ok(Some("the enrollment was removed".into()));
    };
    let Some(p) = p else {
        return Ok(Some("the partner was removed".into()));
    };
    if !matches!(e.status.as_str(), "active" | "pending") {
        return Ok(Some(format!("{} in the program", e.status)));
    }
    if s.stop_on_conversion
        && conversion::Entity::find()
            .filter(conversion::Column::EnrollmentId.eq(e.id))
            .filter(conversion::Column::CreatedAt.gt(r.entered_at))
            .filter(conversion::Column::Status.eq("attributed"))
            .count(db)
            .await?
            > 0
    {
        return Ok(Some("converted".into()));
    }
    if email_suppression::Entity::find_by_id((p.account_id, p.email.to_lowercase())).one(db).await?.is_some() {
        return Ok(Some("unsubscribed".into()));
    }
    Ok(None)
}

/// A line on the partner's timeline about run `r`.
async fn on_timeline(
    txn: &impl ConnectionTrait,
    r: &sequence_run::Model,
    now: DateTime<Utc>,
    summary: String,
    data: serde_json::Value,
) -> Result<()> {
    timeline::record(
        txn,
        Event::partner(r.account_id, r.partner_id, "sequence", "system: sequences", summary, now).for_enrollment(r.enrollment_id).with_data(data),
    )
    .await
}

/// The scheduler job: sends every due step of every active sequence, each exactly once, and
/// stops runs whose stop condition holds.
pub async fn advance(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let mut report = Report::default();
    let active: Vec<i64> =
        sequence::Entity::find().select_only().column(sequence::Column::Id).filter(sequence::Column::Active.eq(true)).into_tuple().all(db).await?;
    if active.is_empty() {
        return Ok(report);
    }
    let due = sequence_run::Entity::find()
        .filter(sequence_run::Column::Status.eq("active"))
        .filter(sequence_run::Column::NextAt.lte(now))
        .filter(sequence_run::Column::SequenceId.is_in(active))
        .order_by_asc(sequence_run::Column::NextAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut seqs: BTreeMap<i64, (sequence::Model, Vec<sequence_step::Model>)> = BTreeMap::new();
    for r in due {
        report.examined += 1;
        if !seqs.contains_key(&r.sequence_id) {
            let s = sequence::Entity::find_by_id(r.sequence_id).one(db).await?.ok_or(Error::NotFound("sequence"))?;
            let steps = sequence_step::Entity::find()
                .filter(sequence_step::Column::SequenceId.eq(s.id))
                .order_by_asc(sequence_step::Column::Position)
                .all(db)
                .await?;
            seqs.insert(s.id, (s, steps));
        }
        let (s, steps) = &seqs[&r.sequence_id];
        let e = enrollment::Entity::find_by_id(r.enrollment_id).one(db).await?;
        let p = partner::Entity::find_by_id(r.partner_id).one(db).await?;
        let txn = crate::db::begin_write(db).await?;
        let n = r.next_step as usize;
        // Guarded by the step counter: a second runner (or a rerun) changes nothing.
        let guard = |q: sea_orm::UpdateMany<sequence_run::Entity>| {
            q.filter(sequence_run::Column::Id.eq(r.id))
                .filter(sequence_run::Column::Status.eq("active"))
                .filter(sequence_run::Column::NextStep.eq(r.next_step))
        };
        let stop = match stop_reason(&txn, s, &r, e.as_ref(), p.as_ref()).await? {
            Some(why) => Some(why),
            None if n >= steps.len() => Some("the sequence has fewer steps now".to_string()),
            None => None,
        };
        if let Some(why) = stop {
            let done = guard(sequence_run::Entity::update_many())
                .col_expr(sequence_run::Column::Status, Expr::value("stopped"))
                .col_expr(sequence_run::Column::StopReason, Expr::value(why.clone()))
                .col_expr(sequence_run::Column::FinishedAt, Expr::value(now))
                .col_expr(sequence_run::Column::NextAt, Expr::value(Option::<DateTime<Utc>>::None))
                .exec(&txn)
                .await?
                .rows_affected;
            if done == 1 {
                on_timeline(
                    &txn,
                    &r,
                    now,
                    format!("Left the sequence “{}” after {} of {} emails: {why}", s.name, n, steps.len()),
                    serde_json::json!({"sequence_id": s.id, "stopped": why}),
                )
                .await?;
                report.changed += 1;
            }
            txn.commit().await?;
            continue;
        }
        let (e, p) = (e.expect("checked"), p.expect("checked"));
        let step = &steps[n];
        let last = n + 1 == steps.len();
        let mut q = guard(sequence_run::Entity::update_many()).col_expr(sequence_run::Column::NextStep, Expr::value(r.next_step + 1));
        q = if last {
            q.col_expr(sequence_run::Column::Status, Expr::value("completed"))
                .col_expr(sequence_run::Column::FinishedAt, Expr::value(now))
                .col_expr(sequence_run::Column::NextAt, Expr::value(Option::<DateTime<Utc>>::None))
        } else {
            q.col_expr(sequence_run::Column::NextAt, Expr::value(now + Duration::hours(steps[n + 1].delay_hours as i64)))
        };
        if q.exec(&txn).await?.rows_affected == 0 {
            txn.rollback().await?;
            continue;
        }
        let vars = templates::vars(&txn, &e, now).await?;
        let subject = templates::fill(&step.subject, &vars);
        outbox::queue(
            &txn,
            now,
            NewEmail {
                account_id: r.account_id,
                program_id: Some(e.program_id),
                partner_id: Some(p.id),
                kind: "sequence",
                to: &p.email,
                subject: subject.clone(),
                text: templates::fill(&step.body, &vars),
                dedupe_key: Some(format!("sequence:{}:{}", r.id, n)),
            },
        )
        .await?;
        let summary = format!("Sequence “{}”: email {} of {} queued, “{subject}”{}", s.name, n + 1, steps.len(), if last { " (last)" } else { "" });
        on_timeline(&txn, &r, now, summary, serde_json::json!({"sequence_id": s.id, "step": n + 1})).await?;
        txn.commit().await?;
        report.changed += 1;
    }
    Ok(report)
}

async fn programs_of(db: &impl ConnectionTrait, actor: &Actor) -> Result<BTreeMap<i64, program::Model>> {
    Ok(program::Entity::find()
        .filter(program::Column::AccountId.eq(actor.account_id))
        .order_by_asc(program::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

/// Runs per status of each sequence.
async fn counts(db: &impl ConnectionTrait, ids: Vec<i64>) -> Result<BTreeMap<(i64, String), u64>> {
    let rows: Vec<(i64, String, i64)> = sequence_run::Entity::find()
        .select_only()
        .column(sequence_run::Column::SequenceId)
        .column(sequence_run::Column::Status)
        .column_as(sequence_run::Column::Id.count(), "n")
        .filter(sequence_run::Column::SequenceId.is_in(ids))
        .group_by(sequence_run::Column::SequenceId)
        .group_by(sequence_run::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(s, st, n)| ((s, st), n as u64)).collect())
}

/// The Sequences tab.
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> Result<SequencesPage> {
    actor.require_team()?;
    let programs = programs_of(db, actor).await?;
    let rows = sequence::Entity::find().filter(sequence::Column::AccountId.eq(actor.account_id)).order_by_asc(sequence::Column::Id).all(db).await?;
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let counts = counts(db, ids.clone()).await?;
    let steps: Vec<(i64, i64)> = sequence_step::Entity::find()
        .select_only()
        .column(sequence_step::Column::SequenceId)
        .column_as(sequence_step::Column::Id.count(), "n")
        .filter(sequence_step::Column::SequenceId.is_in(ids))
        .group_by(sequence_step::Column::SequenceId)
        .into_tuple()
        .all(db)
        .await?;
    let steps: BTreeMap<i64, i64> = steps.into_iter().collect();
    let get = |id: i64, st: &str| counts.get(&(id, st.to_string())).copied().unwrap_or(0);
    let items = rows
        .into_iter()
        .map(|s| SequenceRow {
            id: s.id,
            program: programs.get(&s.program_id).map(|p| p.name.clone()).unwrap_or_default(),
            trigger: trigger_label(&s.trigger),
            steps: steps.get(&s.id).copied().unwrap_or(0) as u32,
            active: s.active,
            running: get(s.id, "active"),
            completed: get(s.id, "completed"),
            stopped: get(s.id, "stopped"),
            name: s.name,
        })
        .collect();
    let mut editable = Vec::new();
    for p in programs.values().filter(|p| p.archived_at.is_none()) {
        if settings::can_edit(db, actor, p.id).await? {
            editable.push((p.id, p.name.clone()));
        }
    }
    Ok(SequencesPage {
        items,
        can_edit: !editable.is_empty(),
        programs: editable,
        triggers: TRIGGERS.iter().map(|(v, l)| (v.to_string(), l.to_string())).collect(),
        variables: templates::variable_list(),
    })
}

/// A sequence with every partner's progress (the latest 500 runs).
pub async fn detail(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<SequenceDetail> {
    actor.require_team()?;
    let s = crate::db::find_in_account(db, sequence::Column::AccountId, actor.account_id, id, "sequence").await?;
    let steps =
        sequence_step::Entity::find().filter(sequence_step::Column::SequenceId.eq(id)).order_by_asc(sequence_step::Column::Position).all(db).await?;
    let prog = program::Entity::find_by_id(s.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
    let runs = sequence_run::Entity::find()
        .filter(sequence_run::Column::SequenceId.eq(id))
        .order_by_desc(sequence_run::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    let ids: Vec<i64> = runs.iter().map(|r| r.partner_id).collect();
    let names: BTreeMap<i64, String> =
        crate::db::names(db, (partner::Column::Id, partner::Column::Name), partner::Column::Id.is_in(ids), partner::Column::Id).await?;
    let total = steps.len();
    let runs = runs
        .into_iter()
        .map(|r| SequenceRunRow {
            partner_id: r.partner_id,
            partner: names.get(&r.partner_id).cloned().unwrap_or_default(),
            progress: match r.status.as_str() {
                "completed" => format!("all {total} emails sent"),
                "stopped" => format!("stopped after {} of {total}: {}", r.next_step, r.stop_reason.clone().unwrap_or_default()),
                _ => format!("{} of {total} sent", r.next_step),
            },
            status: r.status,
            entered: fmt(r.entered_at),
            next_at: r.next_at.map(fmt),
        })
        .collect();
    Ok(SequenceDetail {
        sequence: SequenceInput {
            id: Some(s.id),
            program_id: s.program_id,
            name: s.name,
            trigger: s.trigger,
            stop_on_conversion: s.stop_on_conversion,
            active: s.active,
            steps: steps.into_iter().map(|t| SequenceStepInput { delay_hours: t.delay_hours, subject: t.subject, body: t.body }).collect(),
        },
        program: prog.name,
        runs,
        can_edit: settings::can_edit(db, actor, s.program_id).await?,
    })
}

fn validate(input: &SequenceInput) -> Result<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(Error::invalid("name", "between 1 and 120 characters"));
    }
    if !TRIGGERS.iter().any(|(v, _)| *v == input.trigger) {
        return Err(Error::invalid("trigger", format!("one of {}", TRIGGERS.iter().map(|t| t.0).collect::<Vec<_>>().join(", "))));
    }
    if input.steps.is_empty() || input.steps.len() > MAX_STEPS {
        return Err(Error::invalid("steps", format!("between 1 and {MAX_STEPS} steps")));
    }
    for (i, st) in input.steps.iter().enumerate() {
        let at = |f: &str| format!("steps[{}].{f}", i + 1);
        if !(0..=24 * 365).contains(&st.delay_hours) {
            return Err(Error::invalid(&at("delay_hours"), "between 0 and 8,760 hours (a year)"));
        }
        if st.subject.trim().is_empty() || st.subject.chars().count() > 200 {
            return Err(Error::invalid(&at("subject"), "between 1 and 200 characters"));
        }
        if st.body.trim().is_empty() || st.body.chars().count() > 20_000 {
            return Err(Error::invalid(&at("body"), "between 1 and 20,000 characters"));
        }
        templates::check(&at("subject"), &st.subject)?;
        templates::check(&at("body"), &st.body)?;
    }
    Ok(())
}

/// Creates or changes a sequence with its steps. Partners on their way through keep their
/// place: their next step is whatever step now stands at that position.
pub async fn save(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, input: &SequenceInput) -> Result<i64> {
    actor.require_any(&[Role::ProgramManager])?;
    validate(input)?;
    let txn = crate::db::begin_write(db).await?;
    let (id, before) = match input.id {
        Some(id) => {
            let s = sequence::Entity::find_by_id(id)
                .filter(sequence::Column::AccountId.eq(actor.account_id))
                .one(&txn)
                .await?
                .ok_or(Error::NotFound("sequence"))?;
            if s.program_id != input.program_id {
                return Err(Error::invalid("program_id", "a sequence stays in its program"));
            }
            settings::require_edit(&txn, actor, s.program_id).await?;
            let before = format!("{} ({}, {})", s.name, s.trigger, if s.active { "active" } else { "paused" });
            let mut a: sequence::ActiveModel = s.into();
            a.name = Set(input.name.trim().to_string());
            a.trigger = Set(input.trigger.clone());
            a.stop_on_conversion = Set(input.stop_on_conversion);
            a.active = Set(input.active);
            a.update(&txn).await?;
            sequence_step::Entity::delete_many().filter(sequence_step::Column::SequenceId.eq(id)).exec(&txn).await?;
            (id, Some(before))
        }
        None => {
            let prog = program::Entity::find_by_id(input.program_id)
                .filter(program::Column::AccountId.eq(actor.account_id))
                .one(&txn)
                .await?
                .ok_or_else(|| Error::invalid("program_id", "no such program in this account"))?;
            settings::require_edit(&txn, actor, prog.id).await?;
            let s = sequence::ActiveModel {
                account_id: Set(actor.account_id),
                program_id: Set(prog.id),
                name: Set(input.name.trim().to_string()),
                trigger: Set(input.trigger.clone()),
                stop_on_conversion: Set(input.stop_on_conversion),
                active: Set(input.active),
                created_by: Set(actor.label()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            (s.id, None)
        }
    };
    for (i, st) in input.steps.iter().enumerate() {
        sequence_step::ActiveModel {
            sequence_id: Set(id),
            position: Set(i as i32),
            delay_hours: Set(st.delay_hours),
            subject: Set(st.subject.trim().to_string()),
            body: Set(st.body.trim().to_string()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let (name, state) = (input.name.trim(), if input.active { "active" } else { "paused" });
    let after = format!("{name} ({}, {} steps, {state})", input.trigger, input.steps.len());
    audit::record(&txn, actor, now, Change { kind: "sequence_saved", subject: name.to_string(), before, after: Some(after) }).await?;
    txn.commit().await?;
    Ok(id)
}
