//! Analytics on SQLite and PostgreSQL: cohorts and KPIs against recomputations from raw events,
//! the rollup rebuild, health scores (parts, weights, threshold, history), the at-risk list,
//! custom dashboards, downloads and who may see them.

mod common;

use backend::entities::{conversion, enrollment, health_score, ledger_entry, program};
use chrono::{Datelike, Duration, Utc};
use common::{Backend, TestApp};
use models::{Dashboard, HealthPart, RenderedDashboard};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const MANAGER: &str = "manager@demo.trellis.dev";
const ANALYST: &str = "analyst@demo.trellis.dev";
const FINANCE: &str = "finance@demo.trellis.dev";
const PARTNER: &str = "ava.thompson@partners.example";

/// Week → tier → (revenue, conversions, partners), straight from conversions and their earned
/// ledger entries.
async fn raw_cohorts(db: &sea_orm::DatabaseConnection, weeks: i64) -> BTreeMap<(String, String), (i64, i64, i64)> {
    let now = Utc::now();
    let monday = now.date_naive() - Duration::days(now.weekday().num_days_from_monday() as i64);
    let first = (monday - Duration::weeks(weeks - 1)).and_hms_opt(0, 0, 0).unwrap().and_utc();
    let convs = conversion::Entity::find()
        .filter(conversion::Column::Status.eq("attributed"))
        .filter(conversion::Column::OccurredAt.gte(first))
        .filter(conversion::Column::OccurredAt.lte(now))
        .all(db)
        .await
        .unwrap();
    let tiers: HashMap<i64, String> = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Kind.eq("earned"))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.conversion_id.map(|c| (c, e.tier)))
        .collect();
    let mut acc: BTreeMap<(String, String), (i64, i64, BTreeSet<i64>)> = BTreeMap::new();
    for c in convs {
        let day = c.occurred_at.date_naive();
        let week = (day - Duration::days(day.weekday().num_days_from_monday() as i64)).to_string();
        let e = acc.entry((week, tiers[&c.id].clone())).or_default();
        e.0 += c.amount_minor - c.refunded_minor;
        e.1 += 1;
        e.2.insert(c.partner_id.unwrap());
    }
    acc.into_iter().map(|(k, (r, n, p))| (k, (r, n, p.len() as i64))).collect()
}

fn api_cohorts(items: &Value) -> BTreeMap<(String, String), (i64, i64, i64)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let revenue = models::Money::parse(i["revenue"].as_str().unwrap(), models::Currency::parse("USD").unwrap()).unwrap().minor;
            (
                (i["week_start"].as_str().unwrap().to_string(), i["tier"].as_str().unwrap().to_string()),
                (revenue, i["conversions"].as_i64().unwrap(), i["partners"].as_i64().unwrap()),
            )
        })
        .collect()
}

on_both!(cohorts_and_rebuilt_rollups_equal_a_recomputation_from_raw_events, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let http = app.client();
    // A refund and a conversion in another tier this week move the figures to the cent.
    let post = |path: &str, body: Value| http.post(app.url(path)).bearer_auth(&key).json(&body).send();
    let res = post("/api/v1/conversions", json!({"program_id": 1, "external_id": "an-1", "amount": "80.00", "partner_id": 1})).await.unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(post(&format!("/api/v1/conversions/{id}/refund"), json!({"amount": "12.34"})).await.unwrap().status(), 200);
    let get = || http.get(app.url("/api/v1/analytics/cohorts?program_id=1&weeks=12")).bearer_auth(&key).send();
    let answer: Value = get().await.unwrap().json().await.unwrap();
    let raw = raw_cohorts(&app.db, 12).await;
    assert!(raw.len() > 12, "the demo has weeks of data in several tiers: {raw:?}");
    assert_eq!(api_cohorts(&answer["items"]), raw);

    // The backfill that rebuilds every rollup from raw rows gives the same answers.
    let summary = || http.get(app.url("/api/v1/analytics/summary?program_id=1&from=2020-01-01&to=2030-01-01")).bearer_auth(&key).send();
    let before: Value = summary().await.unwrap().json().await.unwrap();
    backend::rollups::rebuild(&app.db).await.unwrap();
    let after: Value = summary().await.unwrap().json().await.unwrap();
    assert_eq!(before, after);
    let answer: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(api_cohorts(&answer["items"]), raw);
});

on_both!(the_kpi_dashboard_compares_whole_day_windows_from_the_rollups, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let c = app.login(ANALYST).await;
    let res = app.call(&c, "analytics/dashboard", &[("program_id", "1"), ("days", "30")]).await;
    assert_eq!(res.status(), 200);
    let d: Dashboard = res.json().await.unwrap();
    let now = Utc::now();
    let to = (now.date_naive() + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap().and_utc();
    for (kpi, (from, to)) in [("now", (to - Duration::days(30), to)), ("before", (to - Duration::days(60), to - Duration::days(30)))] {
        let convs = conversion::Entity::find()
            .filter(conversion::Column::EnrollmentId.is_not_null())
            .filter(conversion::Column::OccurredAt.gte(from))
            .filter(conversion::Column::OccurredAt.lt(to))
            .all(&app.db)
            .await
            .unwrap();
        let k = d.kpis.iter().find(|k| k.key == "conversions").unwrap();
        let shown = if kpi == "now" { &k.value } else { &k.previous };
        assert_eq!(shown, &convs.len().to_string(), "{kpi}");
        let partners: BTreeSet<i64> = convs.iter().filter_map(|c| c.enrollment_id).collect();
        let k = d.kpis.iter().find(|k| k.key == "active_partners").unwrap();
        assert_eq!(if kpi == "now" { &k.value } else { &k.previous }, &partners.len().to_string());
        let revenue: i64 = convs.iter().map(|c| c.amount_minor - c.refunded_minor).sum();
        let k = d.kpis.iter().find(|k| k.key == "revenue").unwrap();
        assert_eq!(
            if kpi == "now" { &k.value } else { &k.previous },
            &models::Money::from_minor(revenue, models::Currency::parse("USD").unwrap()).display()
        );
    }
    assert_eq!(d.cohort.rows.len(), 12);
    assert_eq!(d.cohort.tiers, vec!["Bronze", "Silver", "Gold"]);
    for svg in [&d.cohort_svg, &d.revenue_svg, &d.tier_mix_svg] {
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "a chart: {}", &svg[..svg.len().min(80)]);
    }
    assert!(d.health.iter().any(|h| h.average.is_some()), "the demo is scored: {:?}", d.health);
    assert!(!d.top.is_empty());
    assert_eq!(app.call(&c, "analytics/dashboard", &[("days", "0")]).await.status(), 422);
    assert_eq!(app.call(&c, "analytics/dashboard", &[("program_id", "999")]).await.status(), 404);
});

on_both!(health_scores_show_their_parts_follow_the_weights_and_keep_one_row_a_day, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let now = Utc::now();
    let active = enrollment::Entity::find().filter(enrollment::Column::Status.eq("active")).all(&app.db).await.unwrap();
    assert!(active.len() > 50);
    // The demo load scored them already.
    assert!(active.iter().all(|e| e.health_score.is_some_and(|s| (0..=100).contains(&s))));
    let rows = health_score::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), active.len());
    let scores: BTreeSet<i32> = rows.iter().map(|r| r.score).collect();
    assert!(scores.len() > 5, "scores spread: {scores:?}");
    for r in &rows {
        let parts: Vec<HealthPart> = serde_json::from_str(&r.parts).unwrap();
        assert_eq!(parts.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(), ["trend", "recency", "email", "compliance", "activity"]);
        let email = &parts[2];
        assert_eq!((email.score, email.contribution.as_str()), (None, "—"), "no email is sent yet: excluded");
        let points: f64 = parts.iter().filter_map(|p| p.contribution.parse::<f64>().ok()).sum();
        assert!((points - r.score as f64).abs() <= 0.6, "parts add up to the score: {points} vs {}", r.score);
    }
    // Same day again: no new row; the next day: one more each.
    backend::partners::health::refresh(&app.db, now).await.unwrap();
    assert_eq!(health_score::Entity::find().count(&app.db).await.unwrap(), active.len() as u64);
    backend::partners::health::refresh(&app.db, now + Duration::days(1)).await.unwrap();
    assert_eq!(health_score::Entity::find().count(&app.db).await.unwrap(), 2 * active.len() as u64);

    // Only compliance counts: every score is 100, or 50 with one open fraud flag.
    let manager = app.login(MANAGER).await;
    let weights = json!({"trend": 0, "recency": 0, "email": 0, "compliance": 10, "activity": 0});
    let res = app.call_json(&manager, "analytics/save_health_settings", json!({"program_id": 1, "weights": weights, "threshold": 60})).await;
    assert_eq!(res.status(), 200);
    backend::partners::health::refresh(&app.db, now + Duration::days(1)).await.unwrap();
    let held: BTreeSet<i64> = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::HoldReason.is_not_null())
        .filter(ledger_entry::Column::Status.eq("pending"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.enrollment_id)
        .collect();
    let active = enrollment::Entity::find().filter(enrollment::Column::Status.eq("active")).all(&app.db).await.unwrap();
    for e in &active {
        assert_eq!(e.health_score, Some(if held.contains(&e.id) { 50 } else { 100 }), "enrollment {}", e.id);
    }
    // At risk is score < threshold: exactly the flagged ones at 60.
    let at_risk = backend::analytics::dashboards::at_risk(&app.db, 1, Some(1), 1000).await.unwrap();
    let flagged_active = active.iter().filter(|e| held.contains(&e.id)).count();
    assert!(flagged_active > 0, "the demo holds self-referrals");
    assert_eq!(at_risk.len(), flagged_active);
    assert!(at_risk.iter().all(|r| r.reason.contains("open fraud flag")), "{at_risk:?}");
    // Analysts read but do not change settings; bad weights are refused.
    let analyst = app.login(ANALYST).await;
    assert_eq!(app.call_json(&analyst, "analytics/save_health_settings", json!({"program_id": 1, "weights": weights, "threshold": 40})).await.status(), 403);
    let zero = json!({"trend": 0, "recency": 0, "email": 0, "compliance": 0, "activity": 0});
    assert_eq!(app.call_json(&manager, "analytics/save_health_settings", json!({"program_id": 1, "weights": zero, "threshold": 40})).await.status(), 422);
    let p = program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap();
    assert_eq!(p.at_risk_threshold, 60);
    // The change is audited with what it replaced.
    let audit = backend::entities::audit_entry::Entity::find()
        .filter(backend::entities::audit_entry::Column::Kind.eq("health_settings_changed"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].after.as_deref().unwrap().contains("at-risk below 60"), "{:?}", audit[0]);
    assert!(audit[0].before.as_deref().is_some_and(|b| b.contains("at-risk below")), "{:?}", audit[0]);
    // A manager of another program cannot change this one's.
    let mut other: program::ActiveModel = p.clone().into();
    other.id = sea_orm::ActiveValue::NotSet;
    other.name = Set("Another program".into());
    let other = other.insert(&app.db).await.unwrap();
    let res = app.call_json(&manager, "analytics/save_health_settings", json!({"program_id": other.id, "weights": weights, "threshold": 10})).await;
    assert_eq!(res.status(), 403, "the demo manager does not manage it");
});

on_both!(the_at_risk_list_names_the_reason_and_follows_the_threshold, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let scored = enrollment::Entity::find().filter(enrollment::Column::Status.eq("active")).all(&app.db).await.unwrap();
    for threshold in [0, 40, 70, 100] {
        let mut p: program::ActiveModel = program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap().into();
        p.at_risk_threshold = Set(threshold);
        p.update(&app.db).await.unwrap();
        let list = backend::analytics::dashboards::at_risk(&app.db, 1, None, 10_000).await.unwrap();
        let want = scored.iter().filter(|e| e.health_score.unwrap() < threshold).count();
        assert_eq!(list.len(), want, "threshold {threshold}");
        assert!(list.windows(2).all(|w| w[0].score <= w[1].score), "worst first");
        assert!(list.iter().all(|r| !r.reason.is_empty() && r.parts.len() == 5));
    }
});

on_both!(downloads_and_dashboards_are_for_the_team_and_shared_by_role, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let visitor = app.client();
    assert_eq!(visitor.get(app.url("/analytics/charts/cohort.svg")).send().await.unwrap().status(), 401);
    let partner = app.login(PARTNER).await;
    assert_eq!(partner.get(app.url("/analytics/tables/cohorts.csv")).send().await.unwrap().status(), 403);
    assert_eq!(app.call(&partner, "analytics/custom", &[]).await.status(), 403);
    let analyst = app.login(ANALYST).await;
    for chart in ["cohort", "revenue", "tier_mix"] {
        let res = analyst.get(app.url(&format!("/analytics/charts/{chart}.svg?program_id=1"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        assert!(res.text().await.unwrap().starts_with("<svg"));
    }
    for table in ["kpis", "cohorts", "health", "at_risk", "dormant", "top"] {
        let res = analyst.get(app.url(&format!("/analytics/tables/{table}.csv?program_id=1&days=90"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "{table}");
        let lines = res.text().await.unwrap().lines().count();
        assert!(lines >= if table == "dormant" { 1 } else { 2 }, "{table} has rows");
    }
    assert_eq!(analyst.get(app.url("/analytics/charts/other.svg")).send().await.unwrap().status(), 404);

    // Leadership lands on its default; saving its own dashboard is fine, sharing is not.
    let d: RenderedDashboard = app.call(&analyst, "analytics/custom", &[]).await.json().await.unwrap();
    assert_eq!(d.def.name, "Leadership");
    assert!(d.widgets.iter().any(|w| w.svg.starts_with("<svg")));
    let def = |role: Option<&str>| json!({"def": {"id": 0, "name": "Gold watch", "shared_role": role, "mine": true,
        "widgets": [{"kind": "cohort_chart", "program_id": 1, "days": 56}, {"kind": "at_risk", "program_id": null, "days": 30}]}});
    assert_eq!(app.call_json(&analyst, "analytics/save_dashboard", def(Some("finance_approver"))).await.status(), 403);
    let own: i64 = app.call_json(&analyst, "analytics/save_dashboard", def(None)).await.json().await.unwrap();
    let manager = app.login(MANAGER).await;
    let shared: i64 = app.call_json(&manager, "analytics/save_dashboard", def(Some("finance_approver"))).await.json().await.unwrap();
    let finance = app.login(FINANCE).await;
    let seen: RenderedDashboard = app.call(&finance, "analytics/custom", &[("id", &shared.to_string())]).await.json().await.unwrap();
    assert_eq!(seen.widgets.len(), 2);
    assert!(!seen.def.mine);
    assert_eq!(app.call(&finance, "analytics/custom", &[("id", &own.to_string())]).await.status(), 404, "not shared with finance");
    assert_eq!(app.call(&finance, "analytics/delete_dashboard", &[("id", &shared.to_string())]).await.status(), 404, "only its owner deletes it");
    assert_eq!(app.call(&manager, "analytics/delete_dashboard", &[("id", &shared.to_string())]).await.status(), 200);
    let bad = json!({"def": {"id": 0, "name": "x", "shared_role": null, "mine": true, "widgets": [{"kind": "pie", "program_id": null, "days": 30}]}});
    assert_eq!(app.call_json(&analyst, "analytics/save_dashboard", bad).await.status(), 422);
});

/// (clicks, conversions, revenue, commission) of account 1 over `[from, to)`, straight from raw
/// clicks, conversions and their ledger entries (program 1, or every program).
async fn raw_summary(db: &sea_orm::DatabaseConnection, program: Option<i64>, from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>) -> [i64; 4] {
    use backend::entities::click;
    let mut clicks = click::Entity::find().filter(click::Column::AccountId.eq(1)).filter(click::Column::At.gte(from)).filter(click::Column::At.lt(to));
    let mut convs = conversion::Entity::find()
        .filter(conversion::Column::AccountId.eq(1))
        .filter(conversion::Column::EnrollmentId.is_not_null())
        .filter(conversion::Column::OccurredAt.gte(from))
        .filter(conversion::Column::OccurredAt.lt(to));
    if let Some(p) = program {
        clicks = clicks.filter(click::Column::ProgramId.eq(p));
        convs = convs.filter(conversion::Column::ProgramId.eq(p));
    }
    let convs = convs.all(db).await.unwrap();
    let ids: BTreeSet<i64> = convs.iter().map(|c| c.id).collect();
    let commission = ledger_entry::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.conversion_id.is_some_and(|c| ids.contains(&c)) && ["earned", "adjustment", "clawback"].contains(&e.kind.as_str()))
        .map(|e| e.amount_minor)
        .sum();
    [clicks.count(db).await.unwrap() as i64, convs.len() as i64, convs.iter().map(|c| c.amount_minor - c.refunded_minor).sum(), commission]
}

on_both!(summaries_over_any_range_equal_the_raw_computation, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let http = app.client();
    let now = Utc::now();
    let midnight = |days_ago: i64| (now.date_naive() - Duration::days(days_ago)).and_hms_opt(0, 0, 0).unwrap().and_utc();
    let rfc = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // Conversions at the edges of the windows below, one refunded in part and one in full (its
    // commission clawed back), one a second before midnight and one at midnight.
    let post = |path: String, body: Value| http.post(app.url(&path)).bearer_auth(&key).json(&body).send();
    let at = [
        midnight(5) + Duration::minutes(13 * 60 + 20),
        midnight(5) + Duration::minutes(13 * 60 + 40),
        midnight(2) + Duration::minutes(9 * 60 + 10),
        midnight(3) - Duration::seconds(1),
        midnight(3),
    ];
    let mut ids = Vec::new();
    for (i, t) in at.iter().enumerate() {
        let res = post(
            "/api/v1/conversions".into(),
            json!({"program_id": 1, "external_id": format!("edge-{i}"), "amount": "100.00", "partner_id": 1, "occurred_at": rfc(*t)}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let res = post(format!("/api/v1/conversions/{}/refund", ids[0]), json!({"amount": "30.00"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = post(format!("/api/v1/conversions/{}/refund", ids[2]), json!({})).await.unwrap();
    assert_eq!(res.status(), 200);
    let clawed = ledger_entry::Entity::find().filter(ledger_entry::Column::Kind.eq("clawback")).count(&app.db).await.unwrap();
    assert!(clawed >= 2, "both refunds claw back commission");

    let hm = |h: i64, m: i64| Duration::minutes(h * 60 + m);
    let windows = [
        ("mid-day to mid-day over a year", midnight(365) + hm(13, 0), midnight(2) + hm(9, 30)),
        ("mid-day to mid-day, days apart", midnight(9) + hm(7, 45), midnight(2) + hm(9, 15)),
        ("inside one hour", midnight(5) + hm(13, 17), midnight(5) + hm(13, 45)),
        ("mid-hour across midnight", midnight(4) - hm(0, 30), midnight(3) + hm(0, 30)),
        ("midnight to midnight", midnight(6), midnight(3)),
        ("midnight to mid-day", midnight(6), midnight(2) + hm(9, 11)),
        ("mid-day to midnight", midnight(5) + hm(13, 30), midnight(3)),
        ("one second", midnight(3) - Duration::seconds(1), midnight(3)),
        ("up to now", midnight(30) + hm(4, 4), now),
    ];
    // Bounds whose day arithmetic would overflow are refused, not a crash.
    for (from, to) in [("9999-12-31T01:00:00Z", "9999-12-31T02:00:00Z"), ("0001-01-01", "2026-01-01"), ("-0001-01-01", "2026-01-01")] {
        let res = http.get(app.url(&format!("/api/v1/analytics/summary?from={from}&to={to}"))).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status(), 422, "{from} → {to}");
    }
    for (name, from, to) in windows {
        for program in [Some(1), None] {
            let mut url = format!("/api/v1/analytics/summary?from={}&to={}", rfc(from), rfc(to));
            if let Some(p) = program {
                url.push_str(&format!("&program_id={p}"));
            }
            let res = http.get(app.url(&url)).bearer_auth(&key).send().await.unwrap();
            assert_eq!(res.status(), 200, "{name}");
            let s: Value = res.json().await.unwrap();
            let usd = models::Currency::parse("USD").unwrap();
            let minor = |v: &Value| models::Money::parse(v.as_str().unwrap(), usd).unwrap().minor;
            let api = [s["clicks"].as_i64().unwrap(), s["conversions"].as_i64().unwrap(), minor(&s["revenue"]), minor(&s["commission"])];
            let raw = raw_summary(&app.db, program, from, to).await;
            assert_eq!(api, raw, "{name} (program {program:?}): clicks, conversions, revenue, commission");
            if name == "mid-day to mid-day over a year" {
                assert!(raw.iter().all(|v| *v > 0), "the window holds every kind of figure: {raw:?}");
            }
        }
    }
});
