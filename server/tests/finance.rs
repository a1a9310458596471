//! Finance over real HTTP on SQLite and PostgreSQL: approval rights and maker-checker, hold
//! periods, payout batches and their CSV, refunds after payout, and the ledger invariant under a
//! random mix of operations.

mod common;

use backend::entities::{ledger_entry, payout_batch, program};
use common::{Backend, TestApp};
use models::BulkResult;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Value};
use std::collections::HashMap;

const FINANCE: &str = "finance@demo.trellis.dev";
const ADMIN: &str = "admin@demo.trellis.dev";
const MANAGER: &str = "manager@demo.trellis.dev";

async fn setup(b: Backend) -> (TestApp, String) {
    let app = TestApp::with_demo(b).await;
    let mut p: program::ActiveModel = program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap().into();
    p.hold_days = Set(0);
    p.update(&app.db).await.unwrap();
    let key = backend::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    (app, key)
}

async fn convert(app: &TestApp, key: &str, external_id: &str, amount: &str, partner_id: i64) -> Value {
    let res = app
        .client()
        .post(app.url("/api/v1/conversions"))
        .bearer_auth(key)
        .json(&json!({"program_id": 1, "external_id": external_id, "amount": amount, "partner_id": partner_id}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    res.json().await.unwrap()
}

async fn refund(app: &TestApp, key: &str, id: i64, amount: Option<&str>) -> Value {
    let body = amount.map(|a| json!({"amount": a})).unwrap_or(json!({}));
    let res = app.client().post(app.url(&format!("/api/v1/conversions/{id}/refund"))).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn post_json(app: &TestApp, c: &reqwest::Client, endpoint: &str, body: Value) -> reqwest::Response {
    c.post(app.url(&format!("/api/{endpoint}"))).json(&body).send().await.unwrap()
}

async fn pending_ids(app: &TestApp) -> Vec<i64> {
    ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Status.eq("pending"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

async fn snapshot(app: &TestApp) -> Vec<ledger_entry::Model> {
    ledger_entry::Entity::find().all(&app.db).await.unwrap()
}

on_both!(only_finance_approvers_approve_and_nobody_approves_their_own_adjustment, |b: Backend| async move {
    let (app, key) = setup(b).await;
    convert(&app, &key, "a1", "100.00", 1).await;
    let ids = pending_ids(&app).await;
    for who in [MANAGER, "analyst@demo.trellis.dev", "owner@demo.trellis.dev", "ava.thompson@partners.example"] {
        let c = app.login(who).await;
        assert_eq!(post_json(&app, &c, "finance/approve", json!({"ids": ids})).await.status(), 403, "{who}");
        assert_eq!(post_json(&app, &c, "finance/void", json!({"ids": ids, "reason": "x"})).await.status(), 403, "{who}");
        assert_eq!(app.call(&c, "finance/create_batch", &[("program_id", "1")]).await.status(), 403, "{who}");
        assert_eq!(app.call(&c, "finance/queue", &[]).await.status(), 403, "{who}");
    }
    assert_eq!(pending_ids(&app).await, ids, "nothing changed");

    let finance = app.login(FINANCE).await;
    let adj: i64 = app
        .call(&finance, "finance/adjust", &[("partner_id", "1"), ("program_id", "1"), ("amount", "-2.50"), ("reason", "duplicate order")])
        .await
        .json()
        .await
        .unwrap();
    let r: BulkResult = post_json(&app, &finance, "finance/approve", json!({"ids": [adj]})).await.json().await.unwrap();
    assert_eq!(r.changed, 0);
    assert!(r.refused[0].1.contains("another approver"), "{r:?}");
    let admin = app.login(ADMIN).await;
    let r: BulkResult = post_json(&app, &admin, "finance/approve", json!({"ids": [adj]})).await.json().await.unwrap();
    assert_eq!(r.changed, 1);
    let e = ledger_entry::Entity::find_by_id(adj).one(&app.db).await.unwrap().unwrap();
    assert_eq!((e.status.as_str(), e.amount_minor), ("approved", -250));
    assert_eq!(e.approved_by.as_deref(), Some("Alex Admin <admin@demo.trellis.dev>"));
    let bad = app.call(&finance, "finance/adjust", &[("partner_id", "1"), ("program_id", "1"), ("amount", "1.234"), ("reason", "x")]).await;
    assert_eq!(bad.status(), 422);
});

on_both!(the_hold_period_keeps_fresh_commissions_from_approval, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let key = backend::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    convert(&app, &key, "h1", "100.00", 1).await;
    let finance = app.login(FINANCE).await;
    let ids = pending_ids(&app).await;
    let r: BulkResult = post_json(&app, &finance, "finance/approve", json!({"ids": ids})).await.json().await.unwrap();
    assert_eq!(r.changed, 0);
    assert!(r.refused[0].1.contains("30-day hold period"), "{r:?}");
    let q: models::ReviewQueue = app.call(&finance, "finance/queue", &[]).await.json().await.unwrap();
    assert_eq!(q.total, 1);
    assert!(q.rows[0].blocked.as_deref().unwrap().contains("hold period"));
});

on_both!(payout_batches_pay_approved_net_per_partner_and_refunds_after_payout_carry_over, |b: Backend| async move {
    let (app, key) = setup(b).await;
    // A partner whose name would be a formula in a spreadsheet.
    let mut p: backend::entities::partner::ActiveModel =
        backend::entities::partner::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap().into();
    p.name = Set("=HYPERLINK(\"http://evil.example\")".into());
    p.update(&app.db).await.unwrap();
    let c1 = convert(&app, &key, "p1", "200.00", 1).await; // 15% → 30.00
    let finance = app.login(FINANCE).await;
    let ids = pending_ids(&app).await;
    let r: BulkResult = post_json(&app, &finance, "finance/approve", json!({"ids": ids})).await.json().await.unwrap();
    assert_eq!(r.changed, 1);
    let batch: Option<i64> = app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await.json().await.unwrap();
    let batch = batch.expect("a batch");
    let again: Option<i64> = app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await.json().await.unwrap();
    assert_eq!(again, None, "nothing left to pay");

    let csv = finance.get(app.url(&format!("/finance/batches/{batch}/csv"))).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("batch_id,partner_id,partner_name,partner_email,company,amount,currency,payout_method,payout_account\r\n"));
    assert!(text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "formula neutralised and quoted: {text}");
    assert!(text.contains(",30.00,USD,,\r\n"), "no payout details given: {text}");
    let manager = app.login(MANAGER).await;
    assert_eq!(manager.get(app.url(&format!("/finance/batches/{batch}/csv"))).send().await.unwrap().status(), 403);
    assert_eq!(app.client().get(app.url(&format!("/finance/batches/{batch}/csv"))).send().await.unwrap().status(), 401);

    assert_eq!(app.call(&finance, "finance/mark_paid", &[("batch_id", &batch.to_string())]).await.status(), 200);
    let paid = snapshot(&app).await;
    assert!(paid.iter().all(|e| e.status == "paid"));
    assert_eq!(paid.iter().map(|e| e.amount_minor).sum::<i64>(), 0, "earned 30.00, paid 30.00");
    let b = payout_batch::Entity::find_by_id(batch).one(&app.db).await.unwrap().unwrap();
    assert_eq!((b.status.as_str(), b.total_minor), ("paid", 3000));

    // Refund after payout: a negative entry that the next batch nets against new earnings.
    let r = refund(&app, &key, c1["id"].as_i64().unwrap(), Some("100.00")).await;
    assert_eq!(r["clawback"]["amount"], "15.00");
    let r: BulkResult = post_json(&app, &finance, "finance/approve", json!({"ids": pending_ids(&app).await})).await.json().await.unwrap();
    assert_eq!(r.changed, 1);
    let none: Option<i64> = app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await.json().await.unwrap();
    assert_eq!(none, None, "a negative balance is carried, not paid");
    convert(&app, &key, "p2", "400.00", 1).await; // +60.00
    post_json(&app, &finance, "finance/approve", json!({"ids": pending_ids(&app).await})).await;
    let next: Option<i64> = app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await.json().await.unwrap();
    let b2 = payout_batch::Entity::find_by_id(next.unwrap()).one(&app.db).await.unwrap().unwrap();
    assert_eq!(b2.total_minor, 4500, "60.00 earned − 15.00 clawed back");
});

on_both!(the_ledger_invariant_holds_under_a_random_mix_of_operations, |b: Backend| async move {
    let (app, key) = setup(b).await;
    let finance = app.login(FINANCE).await;
    let admin = app.login(ADMIN).await;
    let active: Vec<i64> = backend::entities::enrollment::Entity::find()
        .filter(backend::entities::enrollment::Column::Status.eq("active"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.partner_id)
        .take(6)
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut conversions: Vec<i64> = Vec::new();
    let mut seen: HashMap<i64, i64> = HashMap::new();
    for step in 0..60 {
        match rng.random_range(0..10) {
            0..=3 => {
                let amount = format!("{}.{:02}", rng.random_range(0..500), rng.random_range(0..100));
                let partner = active[rng.random_range(0..active.len())];
                let v = convert(&app, &key, &format!("mix-{step}"), &amount, partner).await;
                conversions.push(v["id"].as_i64().unwrap());
            }
            4 if !conversions.is_empty() => {
                let id = conversions[rng.random_range(0..conversions.len())];
                let partial = rng.random_bool(0.5).then(|| "1.00");
                let res = app.client().post(app.url(&format!("/api/v1/conversions/{id}/refund"))).bearer_auth(&key).json(&partial.map(|a| json!({"amount": a})).unwrap_or(json!({}))).send().await.unwrap();
                assert!(res.status() == 200 || res.status() == 422, "refund: {}", res.status());
            }
            5 | 6 => {
                let ids = pending_ids(&app).await;
                if !ids.is_empty() {
                    post_json(&app, &finance, "finance/approve", json!({"ids": ids})).await;
                }
            }
            7 => {
                let ids: Vec<i64> = pending_ids(&app).await.into_iter().take(1).collect();
                if !ids.is_empty() {
                    post_json(&app, &admin, "finance/void", json!({"ids": ids, "reason": "test"})).await;
                }
            }
            8 => {
                app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await;
            }
            _ => {
                for b in payout_batch::Entity::find().filter(payout_batch::Column::Status.eq("open")).all(&app.db).await.unwrap() {
                    app.call(&finance, "finance/mark_paid", &[("batch_id", &b.id.to_string())]).await;
                }
            }
        }
        // Checkpoint: entries only ever appended, amounts never changed; Σ entries equals the
        // outstanding (unbatched) earnings; every batch's payouts equal its entries.
        let entries = snapshot(&app).await;
        for e in &entries {
            if let Some(amount) = seen.insert(e.id, e.amount_minor) {
                assert_eq!(amount, e.amount_minor, "entry {} changed its amount", e.id);
            }
        }
        assert_eq!(entries.len(), seen.len(), "no entry disappeared");
        let live: Vec<_> = entries.iter().filter(|e| e.status != "void").collect();
        let total: i64 = live.iter().map(|e| e.amount_minor).sum();
        let outstanding: i64 = live.iter().filter(|e| e.kind != "payout" && e.payout_batch_id.is_none()).map(|e| e.amount_minor).sum();
        assert_eq!(total, outstanding, "Σ entries = Σ balances at step {step}");
        for b in payout_batch::Entity::find().all(&app.db).await.unwrap() {
            let included: i64 = live.iter().filter(|e| e.payout_batch_id == Some(b.id) && e.kind != "payout").map(|e| e.amount_minor).sum();
            let paid: i64 = live.iter().filter(|e| e.payout_batch_id == Some(b.id) && e.kind == "payout").map(|e| e.amount_minor).sum();
            assert_eq!((included, -paid), (b.total_minor, b.total_minor));
        }
        for e in &live {
            if e.status == "paid" {
                assert!(e.payout_batch_id.is_some());
            }
        }
    }
    // The REST balances agree with the entries for every partner.
    for p in &active {
        let b = backend::ledger::balances(&app.db, 1, *p).await.unwrap();
        let mine: Vec<_> = snapshot(&app).await.into_iter().filter(|e| e.partner_id == *p && e.status != "void" && e.kind != "payout").collect();
        assert_eq!(b.pending + b.approved + b.paid, mine.iter().map(|e| e.amount_minor).sum::<i64>());
    }
});

on_both!(a_conversion_shows_its_click_path_and_entries_to_the_team_only, |b: Backend| async move {
    let (app, key) = setup(b).await;
    let code: Value = app.client().post(app.url("/api/v1/links")).bearer_auth(&key).json(&json!({"partner_id": 1, "program_id": 1})).send().await.unwrap().json().await.unwrap();
    let c = app.client();
    let res = c.get(app.url(&format!("/r/{}", code["code"].as_str().unwrap()))).header("user-agent", "Mozilla/5.0 Firefox/128.0").send().await.unwrap();
    let click = res.headers()["location"].to_str().unwrap().split('=').nth(1).unwrap().to_string();
    let res = c.post(app.url("/api/v1/conversions")).bearer_auth(&key).json(&json!({"program_id": 1, "external_id": "d1", "amount": "80.00", "click_id": click})).send().await.unwrap();
    let conv: Value = res.json().await.unwrap();
    let id = conv["id"].as_i64().unwrap().to_string();
    let manager = app.login(MANAGER).await;
    let d: models::ConversionDetail = app.call(&manager, "conversions/detail", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(d.click_path.len(), 1);
    assert!(d.click_path[0].attributed);
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.entries[0].amount, "12.00 USD");
    let html = manager.get(app.url(&format!("/conversions/{id}"))).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Click path") && html.contains("attributed click"));
    let partner = app.login("ava.thompson@partners.example").await;
    assert_eq!(app.call(&partner, "conversions/detail", &[("id", &id)]).await.status(), 403);
    let other = backend::accounts::ensure_account(&app.db, &app.clock, "other", None).await.unwrap();
    backend::accounts::create_user(&app.db, &app.clock, other.id, backend::accounts::NewUser { email: "o@other.example", name: None, password: backend::demo::DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None }).await.unwrap();
    let outsider = app.login("o@other.example").await;
    assert_eq!(app.call(&outsider, "conversions/detail", &[("id", &id)]).await.status(), 404);
    let r: reqwest::Response = post_json(&app, &outsider, "finance/approve", json!({"ids": pending_ids(&app).await})).await;
    let r: BulkResult = r.json().await.unwrap();
    assert_eq!(r.changed, 0, "another account's entries are not found");
});

on_both!(the_full_demo_has_a_living_ledger, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let entries = snapshot(&app).await;
    assert!(entries.len() > 500);
    for s in ["pending", "approved", "paid"] {
        assert!(entries.iter().any(|e| e.status == s), "demo has {s} entries");
    }
    assert!(entries.iter().any(|e| e.hold_reason.as_deref() == Some("self_referral")));
    let total: i64 = entries.iter().map(|e| e.amount_minor).sum();
    let outstanding: i64 = entries.iter().filter(|e| e.kind != "payout" && e.payout_batch_id.is_none()).map(|e| e.amount_minor).sum();
    assert_eq!(total, outstanding);
    let rollup_commission: i64 = backend::entities::daily_rollup::Entity::find().all(&app.db).await.unwrap().iter().map(|r| r.commission_minor).sum();
    let earned: i64 = entries.iter().filter(|e| e.kind == "earned").map(|e| e.amount_minor).sum();
    assert_eq!(rollup_commission, earned, "rollups agree with the ledger");
    let repaired = backend::scheduler::run_once(&app.db, Some("rollup_repair"), chrono::Utc::now(), "t").await.unwrap();
    assert_eq!(repaired[0].1.changed, 0, "the demo's rollups equal a recomputation from raw events");
});
