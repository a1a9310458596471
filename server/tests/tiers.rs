//! The tier engine and the scheduler on SQLite and PostgreSQL: thresholds, windows, real-time
//! and scheduled upgrades, retroactive re-rating, downgrade reviews, dormancy, leases and runs.

mod common;

use backend::entities::{enrollment, job_run, ledger_entry, outbox_email, program, timeline_event};
use backend::jobs;
use chrono::{Duration, Utc};
use common::{Backend, TestApp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};

struct T {
    app: TestApp,
    key: String,
    program: i64,
    enrollment: i64,
}

/// A program with Bronze (10%), Silver (≥ 3 conversions in 30 days, 15%) and Gold (≥ 5
/// conversions and ≥ 500.00 in 60 days, 20%, retroactive), and demo partner 1 enrolled in Bronze.
async fn setup(b: Backend) -> T {
    let app = TestApp::with_demo(b).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let res = app
        .client()
        .post(app.url("/api/v1/programs"))
        .bearer_auth(&key)
        .json(&json!({
            "name": "Tiered", "currency": "USD", "website": "https://shop.example", "cookie_days": 30,
            "default_commission": {"percent": "10"},
            "tiers": [
                {"name": "Bronze", "rank": 1, "commission": {"percent": "10"}},
                {"name": "Silver", "rank": 2, "commission": {"percent": "15"}, "rule": {"min_conversions": 3, "window_days": 30}},
                {"name": "Gold", "rank": 3, "commission": {"percent": "20"}, "rule": {"min_conversions": 5, "min_revenue": "500.00", "window_days": 60}, "retroactive": true}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let p: Value = res.json().await.unwrap();
    let program = p["id"].as_i64().unwrap();
    let bronze = p["tiers"][0]["id"].as_i64().unwrap();
    // The demo's program manager manages this program too, so its tier rules are theirs to save.
    let manager = backend::entities::user::Entity::find()
        .filter(backend::entities::user::Column::Email.eq("manager@demo.trellis.dev"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    backend::programs::settings::set_managers(&app.db, 1, program, &[manager.id]).await.unwrap();
    let now = Utc::now();
    let e = enrollment::ActiveModel {
        account_id: Set(1),
        partner_id: Set(1),
        program_id: Set(program),
        status: Set("active".into()),
        tier_id: Set(bronze),
        joined_at: Set(now - Duration::days(200)),
        status_changed_at: Set(now - Duration::days(200)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    T { app, key, program, enrollment: e.id }
}

impl T {
    async fn convert(&self, external_id: &str, amount: &str, days_ago: i64) -> Value {
        let at = (Utc::now() - Duration::days(days_ago)).to_rfc3339();
        let res = self
            .app
            .client()
            .post(self.app.url("/api/v1/conversions"))
            .bearer_auth(&self.key)
            .json(&json!({"program_id": self.program, "external_id": external_id, "amount": amount, "partner_id": 1, "occurred_at": at}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }

    async fn tier(&self) -> String {
        let e = enrollment::Entity::find_by_id(self.enrollment).one(&self.app.db).await.unwrap().unwrap();
        backend::entities::tier::Entity::find_by_id(e.tier_id).one(&self.app.db).await.unwrap().unwrap().name
    }

    async fn tier_events(&self) -> Vec<timeline_event::Model> {
        timeline_event::Entity::find()
            .filter(timeline_event::Column::EnrollmentId.eq(self.enrollment))
            .filter(timeline_event::Column::Kind.eq("tier_changed"))
            .all(&self.app.db)
            .await
            .unwrap()
    }

    /// Inserts a conversion without the real-time check (as an import of history would).
    async fn history(&self, external_id: &str, amount_minor: i64, days_ago: i64) {
        backend::entities::conversion::ActiveModel {
            account_id: Set(1),
            program_id: Set(self.program),
            external_id: Set(external_id.into()),
            amount_minor: Set(amount_minor),
            currency: Set("USD".into()),
            enrollment_id: Set(Some(self.enrollment)),
            partner_id: Set(Some(1)),
            attributed_via: Set(Some("partner_id".into())),
            click_path: Set("[]".into()),
            status: Set("attributed".into()),
            refunded_minor: Set(0),
            occurred_at: Set(Utc::now() - Duration::days(days_ago)),
            created_at: Set(Utc::now()),
            request_hash: Set("x".into()),
            response: Set("{}".into()),
            ..Default::default()
        }
        .insert(&self.app.db)
        .await
        .unwrap();
    }
}

on_both!(the_conversion_that_crosses_a_threshold_earns_the_new_rate, |b: Backend| async move {
    let t = setup(b).await;
    assert_eq!(t.convert("a", "100.00", 1).await["commission"]["tier"], "Bronze");
    assert_eq!(t.convert("b", "100.00", 1).await["commission"]["tier"], "Bronze");
    let third = t.convert("c", "100.00", 1).await;
    assert_eq!(third["commission"], json!({"amount": "15.00", "rate": {"percent": "15"}, "tier": "Silver"}), "exactly at the minimum");
    assert_eq!(t.tier().await, "Silver");
    let events = t.tier_events().await;
    assert_eq!(events.len(), 1);
    assert!(events[0].summary.contains("Bronze → Silver") && events[0].summary.contains("3 conversions"), "{}", events[0].summary);
    let mail = outbox_email::Entity::find().filter(outbox_email::Column::Kind.eq("tier_upgraded")).all(&t.app.db).await.unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to_email, "ava.thompson@partners.example");
    assert!(mail[0].subject.contains("Silver"));
});

on_both!(a_rule_needs_every_minimum_and_counts_only_its_window, |b: Backend| async move {
    let t = setup(b).await;
    // Two conversions 31 days ago fall outside Silver's 30-day window.
    t.history("old1", 10_000, 31).await;
    t.history("old2", 10_000, 31).await;
    assert_eq!(t.convert("n1", "10.00", 0).await["commission"]["tier"], "Bronze");
    t.convert("n2", "10.00", 0).await;
    assert_eq!(t.convert("n3", "10.00", 0).await["commission"]["tier"], "Silver");
    // Gold: five conversions in 60 days are there (2 old + 3 new), but revenue 230.00 < 500.00.
    assert_eq!(t.tier().await, "Silver");
    let big = t.convert("n4", "270.00", 0).await;
    assert_eq!(big["commission"]["tier"], "Gold", "{big}");
});

on_both!(retroactive_tiers_rerate_the_window_exactly_once_and_skip_refunds_and_voids, |b: Backend| async move {
    let t = setup(b).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(t.convert(&format!("r{i}"), "100.00", 2).await["id"].as_i64().unwrap());
    }
    assert_eq!(t.tier().await, "Silver", "r2 crossed into Silver");
    // r0 refunded, r1's commission voided: neither is re-rated, and r0 no longer counts.
    let res = t.app.client().post(t.app.url(&format!("/api/v1/conversions/{}/refund", ids[0]))).bearer_auth(&t.key).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let r1 = ledger_entry::Entity::find().filter(ledger_entry::Column::ConversionId.eq(ids[1])).one(&t.app.db).await.unwrap().unwrap();
    let mut v: ledger_entry::ActiveModel = r1.into();
    v.status = Set("void".into());
    v.update(&t.app.db).await.unwrap();
    ids.push(t.convert("r4", "100.00", 1).await["id"].as_i64().unwrap());
    assert_eq!(t.tier().await, "Silver", "r1–r4 are four conversions");
    // r1–r5: five conversions, 600.00 → Gold.
    let sixth = t.convert("r5", "200.00", 0).await;
    assert_eq!(sixth["commission"], json!({"amount": "40.00", "rate": {"percent": "20"}, "tier": "Gold"}), "{sixth}");
    let mut adjusted: Vec<(i64, i64)> = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Kind.eq("adjustment"))
        .all(&t.app.db)
        .await
        .unwrap()
        .iter()
        .map(|a| (a.conversion_id.unwrap(), a.amount_minor))
        .collect();
    adjusted.sort();
    // r2–r4 earned 15.00 at Silver; each is brought to 20.00.
    assert_eq!(adjusted, vec![(ids[2], 500), (ids[3], 500), (ids[4], 500)]);
    // Passes afterwards add nothing.
    jobs::run_once(&t.app.db, Some("tier_evaluation"), Utc::now(), "test").await.unwrap();
    jobs::run_once(&t.app.db, Some("tier_evaluation"), Utc::now(), "test").await.unwrap();
    assert_eq!(ledger_entry::Entity::find().filter(ledger_entry::Column::Kind.eq("adjustment")).count(&t.app.db).await.unwrap(), 3);
});

on_both!(the_pass_upgrades_once_however_often_it_runs_and_however_many_runners_race, |b: Backend| async move {
    let t = setup(b).await;
    for i in 0..3 {
        t.history(&format!("h{i}"), 5_000, 3).await;
    }
    assert_eq!(t.tier().await, "Bronze", "history bypasses the real-time check");
    let db1 = t.app.db.clone();
    let db2 = t.app.db.clone();
    let now = Utc::now();
    let (a, b2) = tokio::join!(backend::programs::tiers::pass(&db1, now, None), backend::programs::tiers::pass(&db2, now, None));
    assert_eq!(a.unwrap().changed + b2.unwrap().changed, 1, "two racing passes change the tier once");
    jobs::run_once(&t.app.db, Some("tier_evaluation"), Utc::now(), "again").await.unwrap();
    assert_eq!(t.tier().await, "Silver");
    assert_eq!(t.tier_events().await.len(), 1);
    // Real-time and pass agree: the next conversion earns Silver.
    assert_eq!(t.convert("after", "10.00", 0).await["commission"]["tier"], "Silver");
});

on_both!(run_once_as_of_a_past_moment_reproduces_that_evaluation, |b: Backend| async move {
    let t = setup(b).await;
    for i in 0..3 {
        t.history(&format!("p{i}"), 5_000, 50).await; // 50 days ago
    }
    let now = Utc::now();
    // As of today the three are outside Silver's 30 days: nothing moves.
    jobs::run_once(&t.app.db, Some("tier_evaluation"), now, "t").await.unwrap();
    assert_eq!(t.tier().await, "Bronze");
    // As of 45 days ago they were inside the window: the upgrade happens, dated then.
    let then = now - Duration::days(45);
    jobs::run_once(&t.app.db, Some("tier_evaluation"), then, "t").await.unwrap();
    assert_eq!(t.tier().await, "Silver");
    let ev = &t.tier_events().await[0];
    assert_eq!(ev.at.timestamp(), then.timestamp());
});

on_both!(downgrades_happen_only_at_the_review_cycle, |b: Backend| async move {
    let t = setup(b).await;
    let silver = backend::programs::tiers(&t.app.db, t.program).await.unwrap()[1].id;
    let e = enrollment::Entity::find_by_id(t.enrollment).one(&t.app.db).await.unwrap().unwrap();
    let mut a: enrollment::ActiveModel = e.into();
    a.tier_id = Set(silver);
    a.update(&t.app.db).await.unwrap();
    jobs::run_once(&t.app.db, Some("downgrade_review"), Utc::now(), "t").await.unwrap();
    assert_eq!(t.tier().await, "Silver", "policy 'never' keeps the tier");
    let p = program::Entity::find_by_id(t.program).one(&t.app.db).await.unwrap().unwrap();
    let mut p: program::ActiveModel = p.into();
    p.downgrade_policy = Set("monthly".into());
    p.update(&t.app.db).await.unwrap();
    let now = Utc::now();
    jobs::run_once(&t.app.db, Some("downgrade_review"), now, "t").await.unwrap();
    assert_eq!(t.tier().await, "Bronze", "re-checked at the review");
    assert!(t.tier_events().await[0].summary.contains("Silver → Bronze"));
    // The same cycle is not reviewed twice.
    let mut a: enrollment::ActiveModel = enrollment::Entity::find_by_id(t.enrollment).one(&t.app.db).await.unwrap().unwrap().into();
    a.tier_id = Set(silver);
    a.update(&t.app.db).await.unwrap();
    jobs::run_once(&t.app.db, Some("downgrade_review"), now + Duration::minutes(5), "t").await.unwrap();
    assert_eq!(t.tier().await, "Silver");
});

on_both!(a_dormant_partner_is_re_engaged_once_per_spell, |b: Backend| async move {
    let t = setup(b).await;
    let now = Utc::now();
    jobs::run_once(&t.app.db, Some("dormant_detection"), now, "t").await.unwrap();
    jobs::run_once(&t.app.db, Some("dormant_detection"), now + Duration::hours(2), "t").await.unwrap();
    let dormant = |db: sea_orm::DatabaseConnection, id: i64| async move {
        timeline_event::Entity::find()
            .filter(timeline_event::Column::EnrollmentId.eq(id))
            .filter(timeline_event::Column::Kind.eq("dormant"))
            .count(&db)
            .await
            .unwrap()
    };
    assert_eq!(dormant(t.app.db.clone(), t.enrollment).await, 1, "once per spell");
    let mails = || async { outbox_email::Entity::find().filter(outbox_email::Column::Kind.eq("re_engagement")).filter(outbox_email::Column::PartnerId.eq(1)).count(&t.app.db).await.unwrap() };
    assert!(mails().await >= 1);
    let before = mails().await;
    // A conversion ends the spell; 46 days later without another a new spell starts.
    t.convert("back", "10.00", 0).await;
    assert!(enrollment::Entity::find_by_id(t.enrollment).one(&t.app.db).await.unwrap().unwrap().dormant_since.is_none());
    jobs::run_once(&t.app.db, Some("dormant_detection"), now + Duration::days(1), "t").await.unwrap();
    assert_eq!(dormant(t.app.db.clone(), t.enrollment).await, 1, "converting partners are not dormant");
    jobs::run_once(&t.app.db, Some("dormant_detection"), now + Duration::days(46), "t").await.unwrap();
    assert_eq!(dormant(t.app.db.clone(), t.enrollment).await, 2);
    assert_eq!(mails().await, before + 1);
});

on_both!(a_lease_admits_one_runner_until_it_expires, |b: Backend| async move {
    let app = TestApp::spawn(b).await;
    let now = Utc::now();
    assert!(jobs::try_lease(&app.db, "tier_evaluation", "a", now).await.unwrap());
    assert!(!jobs::try_lease(&app.db, "tier_evaluation", "b", now).await.unwrap());
    assert!(jobs::try_lease(&app.db, "tier_evaluation", "a", now).await.unwrap(), "the holder renews");
    let later = now + Duration::seconds(jobs::LEASE_SECS + 1);
    assert!(jobs::try_lease(&app.db, "tier_evaluation", "b", later).await.unwrap(), "an expired lease is taken over");
    // A job held by another runner is skipped, not run twice.
    let job = jobs::job("tier_evaluation").unwrap();
    assert!(jobs::run_job(&app.db, job, "c", now).await.unwrap().is_none());
});

on_both!(runs_are_recorded_and_failures_back_off, |b: Backend| async move {
    let app = TestApp::spawn(b).await;
    let now = Utc::now();
    let job = jobs::job("session_cleanup").unwrap();
    assert_eq!(jobs::next_due(&app.db, job).await.unwrap(), None, "never ran: due now");
    let ran = jobs::run_once(&app.db, None, now, "t").await.unwrap();
    assert_eq!(ran.len(), jobs::JOBS.len(), "every job was due");
    // The most frequent jobs (broadcasts, outbox delivery) run every minute.
    assert!(jobs::run_once(&app.db, None, now + Duration::seconds(30), "t").await.unwrap().is_empty(), "none due half a minute later");
    let runs = job_run::Entity::find().all(&app.db).await.unwrap();
    assert!(runs.iter().all(|r| r.outcome == "ok" && r.finished_at.is_some()));
    // Two failures in a row: the next attempt waits 2 minutes.
    use chrono::SubsecRound;
    let fail_at = (now + Duration::hours(2)).trunc_subsecs(0);
    for i in 0..2 {
        job_run::ActiveModel {
            job: Set("session_cleanup".into()),
            holder: Set("t".into()),
            as_of: Set(fail_at),
            started_at: Set(fail_at + Duration::seconds(i)),
            finished_at: Set(Some(fail_at + Duration::seconds(i))),
            outcome: Set("failed".into()),
            examined: Set(0),
            changed: Set(0),
            error: Set(Some("database unavailable".into())),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let due = jobs::next_due(&app.db, job).await.unwrap().unwrap();
    assert_eq!(due, fail_at + Duration::seconds(1) + Duration::minutes(2));
});

on_both!(the_simulator_shows_movers_and_cost_before_a_save, |b: Backend| async move {
    let t = setup(b).await;
    for i in 0..2 {
        t.history(&format!("s{i}"), 10_000, 5).await;
    }
    // Partner 1 has 2 conversions (200.00 at Bronze = 20.00 if earned; history has no entries).
    let analyst = t.app.login("analyst@demo.trellis.dev").await;
    let rules: models::TierRules = t.app.call(&analyst, "tiers/rules", &[("program_id", &t.program.to_string())]).await.json().await.unwrap();
    assert_eq!(rules.tiers.len(), 3);
    assert_eq!(rules.members.iter().find(|(n, _)| n == "Bronze").unwrap().1, 1);
    let mut draft = rules.tiers.clone();
    draft[1].min_conversions = "2".into();
    let visitor = t.app.client().post(t.app.url("/api/tiers/simulate")).json(&json!({"program_id": t.program, "tiers": draft})).send().await.unwrap();
    assert_eq!(visitor.status(), 401);
    let res = analyst.post(t.app.url("/api/tiers/simulate")).json(&json!({"program_id": t.program, "tiers": draft})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let sim: models::Simulation = res.json().await.unwrap();
    assert_eq!(sim.up.len(), 1);
    assert_eq!((sim.up[0].from.as_str(), sim.up[0].to.as_str(), sim.up[0].conversions), ("Bronze", "Silver", 2));
    assert_eq!(sim.cost_now, "0.00 USD");
    assert_eq!(sim.cost_draft, "30.00 USD", "200.00 at Silver's 15%");
    assert_eq!(sim.difference, "+30.00 USD");
    // An analyst may look but not save; a program manager saves; the pass then upgrades.
    let res = analyst.post(t.app.url("/api/tiers/save")).json(&json!({"program_id": t.program, "tiers": draft})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let manager = t.app.login("manager@demo.trellis.dev").await;
    let mut bad = draft.clone();
    bad[2].window_days = "0".into();
    let res = manager.post(t.app.url("/api/tiers/save")).json(&json!({"program_id": t.program, "tiers": bad})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = manager.post(t.app.url("/api/tiers/save")).json(&json!({"program_id": t.program, "tiers": draft})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(t.tier().await, "Bronze", "saving moves nobody by itself");
    jobs::run_once(&t.app.db, Some("tier_evaluation"), Utc::now(), "t").await.unwrap();
    assert_eq!(t.tier().await, "Silver");
});

on_both!(a_run_cut_short_is_recorded_as_interrupted_and_the_due_check_is_repeated_under_the_lease, |b: Backend| async move {
    let app = TestApp::spawn(b).await;
    let db = &app.db;
    let job = jobs::job("session_cleanup").unwrap();
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
    let dead_run = |name: &'static str, at: chrono::DateTime<Utc>, outcome: &'static str| job_run::ActiveModel {
        job: Set(name.into()),
        holder: Set("dead".into()),
        as_of: Set(at),
        started_at: Set(at),
        finished_at: Set((outcome != "running").then_some(at)),
        outcome: Set(outcome.into()),
        examined: Set(0),
        changed: Set(0),
        error: Set(None),
        ..Default::default()
    };
    // A runner that died mid-run left this behind (and its lease expired).
    dead_run(job.name, now - Duration::hours(3), "running").insert(db).await.unwrap();
    let runs = |db: sea_orm::DatabaseConnection| async move {
        job_run::Entity::find().filter(job_run::Column::Job.eq("session_cleanup")).all(&db).await.unwrap()
    };
    assert!(matches!(jobs::run_if_due(db, job, "a", now).await.unwrap(), Some(Ok(_))));
    let after = runs(db.clone()).await;
    assert_eq!(after.iter().filter(|r| r.outcome == "interrupted").count(), 1, "the dead runner's row is closed");
    assert_eq!(after.iter().filter(|r| r.outcome == "ok").count(), 1);
    assert!(after.iter().all(|r| r.outcome != "running"));
    // Due no more: a second runner that checked before this run finished gets the lease but,
    // re-checking under it, does not run the job again.
    assert!(jobs::run_if_due(db, job, "b", now + Duration::seconds(1)).await.unwrap().is_none());
    assert_eq!(runs(db.clone()).await.len(), 2);
    // Forced runs (`run-once --job`) still run.
    assert!(matches!(jobs::run_job(db, job, "b", now + Duration::seconds(2)).await.unwrap(), Some(Ok(_))));
    // A job whose only run was interrupted never did its work: it is due at once.
    let job2 = jobs::job("rollup_repair").unwrap();
    dead_run(job2.name, now, "interrupted").insert(db).await.unwrap();
    assert_eq!(jobs::next_due(db, job2).await.unwrap(), None);
});
