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
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
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
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    convert(&app, &key, "h1", "100.00", 1).await;
    let finance = app.login(FINANCE).await;
    let ids = pending_ids(&app).await;
    let r: BulkResult = post_json(&app, &finance, "finance/approve", json!({"ids": ids})).await.json().await.unwrap();
    assert_eq!(r.changed, 0);
    assert!(r.refused[0].1.contains("30-day hold period"), "{r:?}");
    let q: models::ReviewQueue = app.call(&finance, "finance/queue", &[]).await.json().await.unwrap();
    assert_eq!(q.total, 1);
    assert!(q.rows[0].blocked.as_deref().unwrap().contains("hold period"));
    // An age no date arithmetic can hold is refused, not a crash.
    for days in ["-1", "3651", "9223372036854775807"] {
        assert_eq!(app.call(&finance, "finance/queue", &[("min_age_days", days)]).await.status(), 422, "{days}");
    }
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
    // Details given after the batch was made do not change where it pays.
    let mut p: backend::entities::partner::ActiveModel =
        backend::entities::partner::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap().into();
    p.payout_method = Set(Some("paypal".into()));
    p.payout_account = Set(Some("someone.else@pay.example".into()));
    p.update(&app.db).await.unwrap();
    let again = finance.get(app.url(&format!("/finance/batches/{batch}/csv"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(again, text, "the batch keeps the payout details it was made with");
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
        let b = backend::money::ledger::balances(&app.db, 1, *p).await.unwrap();
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
    let other = backend::access::accounts::ensure_account(&app.db, &app.clock, "other", None).await.unwrap();
    backend::access::accounts::create_user(&app.db, &app.clock, other.id, backend::access::accounts::NewUser { email: "o@other.example", name: None, password: server::demo::DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None }).await.unwrap();
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
    let repaired = backend::jobs::run_once(&app.db, Some("rollup_repair"), chrono::Utc::now(), "t").await.unwrap();
    assert_eq!(repaired[0].1.changed, 0, "the demo's rollups equal a recomputation from raw events");
});

/// Runs `n` copies of `call` at once, each on its own connection, and returns their answers.
async fn at_once<F, Fut, T>(n: usize, call: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (b, fut) = (barrier.clone(), call(i));
            tokio::spawn(async move {
                b.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

on_both!(concurrent_payout_runs_approvals_voids_and_refunds_move_money_once, |b: Backend| async move {
    let (app, key) = setup(b).await;
    let finance = app.login(FINANCE).await;
    for i in 0..6 {
        convert(&app, &key, &format!("cc-{i}"), "100.00", 1).await;
    }
    let ids = pending_ids(&app).await;
    assert_eq!(ids.len(), 6);

    // Approvals of the same entries at once: each entry is approved once, with one event.
    let base = app.url("/api/");
    let bulk = |path: &'static str, body: Value| {
        let (c, base) = (finance.clone(), base.clone());
        async move { c.post(format!("{base}{path}")).json(&body).send().await.unwrap().json::<BulkResult>().await.unwrap() }
    };
    // Half of them list the entries the other way round (they must not deadlock each other).
    let reversed: Vec<i64> = ids.iter().rev().copied().collect();
    let answers = at_once(8, |i| bulk("finance/approve", json!({"ids": if i % 2 == 0 { &ids } else { &reversed }}))).await;
    assert_eq!(answers.iter().map(|r| r.changed).sum::<u64>(), 6, "every entry approved exactly once: {answers:?}");
    // Voids of two of them at once: each voided once.
    let answers = at_once(8, |_| bulk("finance/void", json!({"ids": &ids[..2], "reason": "race"}))).await;
    assert_eq!(answers.iter().map(|r| r.changed).sum::<u64>(), 2, "every entry voided exactly once: {answers:?}");
    let events = |kind: &'static str| {
        let db = app.db.clone();
        async move {
            backend::entities::timeline_event::Entity::find()
                .filter(backend::entities::timeline_event::Column::Kind.eq(kind))
                .all(&db)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!((events("commission_approved").await, events("commission_voided").await), (6, 2), "one timeline event per change");
    let approved = snapshot(&app).await.iter().filter(|e| e.status == "approved").count();
    assert_eq!(approved, 4);

    // Payout runs at once: the approved entries are batched and paid once.
    let runs = at_once(6, |_| {
        let (c, base) = (finance.clone(), base.clone());
        async move {
            let res = c.post(format!("{base}finance/create_batch")).form(&[("program_id", "1")]).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    })
    .await;
    let made: Vec<i64> = runs.iter().filter_map(|(s, t)| (*s == 200).then(|| serde_json::from_str::<Option<i64>>(t).unwrap()).flatten()).collect();
    assert!(runs.iter().all(|(s, _)| *s == 200 || *s == 409), "a run either batches, finds nothing, or is refused: {runs:?}");
    assert_eq!(made.len(), 1, "one batch: {runs:?}");
    let entries = snapshot(&app).await;
    let earned_approved: i64 = entries.iter().filter(|e| e.kind == "earned" && e.status == "approved").map(|e| e.amount_minor).sum();
    let payouts: i64 = -entries.iter().filter(|e| e.kind == "payout").map(|e| e.amount_minor).sum::<i64>();
    assert_eq!(payouts, earned_approved, "paid out exactly what was approved, once");
    assert_eq!(payout_batch::Entity::find().all(&app.db).await.unwrap().len(), made.len());
    if let Some(batch) = made.first() {
        let paid = at_once(4, |_| {
            let (c, base, batch) = (finance.clone(), base.clone(), batch.to_string());
            async move { c.post(format!("{base}finance/mark_paid")).form(&[("batch_id", batch.as_str())]).send().await.unwrap().status().as_u16() }
        })
        .await;
        assert!(paid.iter().all(|s| *s == 200), "{paid:?}");
        let payouts = backend::entities::timeline_event::Entity::find()
            .filter(backend::entities::timeline_event::Column::Kind.eq("payout"))
            .all(&app.db)
            .await
            .unwrap();
        let partners: std::collections::BTreeSet<i64> = entries.iter().filter(|e| e.kind == "payout").map(|e| e.partner_id).collect();
        assert_eq!(payouts.len(), partners.len(), "one payout event per partner, however many clicks on 'paid'");
    }

    // Full refunds of one conversion at once: one clawback of the whole commission.
    let c = convert(&app, &key, "cc-refund", "200.00", 1).await;
    let id = c["id"].as_i64().unwrap();
    let answers = at_once(8, |_| {
        let (http, url, key) = (app.client(), app.url(&format!("/api/v1/conversions/{id}/refund")), key.clone());
        async move { http.post(url).bearer_auth(key).json(&json!({})).send().await.unwrap().json::<Value>().await.unwrap() }
    })
    .await;
    let clawed: Vec<&str> = answers.iter().map(|a| a["clawback"]["amount"].as_str().unwrap()).filter(|a| *a != "0.00").collect();
    assert_eq!(clawed, vec!["30.00"], "one refund claws back, the others find nothing left: {answers:?}");
    let clawbacks = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ConversionId.eq(id))
        .filter(ledger_entry::Column::Kind.eq("clawback"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(clawbacks.iter().map(|e| e.amount_minor).collect::<Vec<_>>(), vec![-3000]);
});

on_both!(renaming_yourself_does_not_let_you_approve_your_own_adjustment, |b: Backend| async move {
    let (app, _key) = setup(b).await;
    let finance = app.login(FINANCE).await;
    let res = app.call(&finance, "finance/adjust", &[("partner_id", "1"), ("program_id", "1"), ("amount", "12.00"), ("reason", "bonus")]).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let id = ledger_entry::Entity::find().filter(ledger_entry::Column::Kind.eq("adjustment")).one(&app.db).await.unwrap().unwrap().id;
    // The maker renames themselves: the label on the entry no longer matches theirs.
    let res = app.call(&finance, "profile/rename", &[("name", "Someone Else")]).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let r: BulkResult = post_json(&app, &finance, "finance/approve", json!({"ids": [id]})).await.json().await.unwrap();
    assert_eq!(r.changed, 0, "still the maker: {r:?}");
    assert!(r.refused[0].1.contains("another approver"), "{r:?}");
    let admin = app.login(ADMIN).await;
    let r: BulkResult = post_json(&app, &admin, "finance/approve", json!({"ids": [id]})).await.json().await.unwrap();
    assert_eq!(r.changed, 1, "{r:?}");
});

on_both!(a_retried_partial_refund_with_its_refund_id_is_applied_once, |b: Backend| async move {
    let (app, key) = setup(b).await;
    let c = convert(&app, &key, "rid-1", "200.00", 1).await; // 15% → 30.00
    let id = c["id"].as_i64().unwrap();
    let http = app.client();
    let url = app.url(&format!("/api/v1/conversions/{id}/refund"));
    let send = |body: Value| http.post(&url).bearer_auth(&key).json(&body).send();
    // The first try and its retries (some at once) apply one refund of 50.00.
    let first: Value = send(json!({"amount": "50.00", "refund_id": "re_1"})).await.unwrap().json().await.unwrap();
    assert_eq!((first["conversion"]["refunded"].as_str(), first["clawback"]["amount"].as_str()), (Some("50.00"), Some("7.50")), "{first}");
    let retries = at_once(4, |_| {
        let (http, url, key) = (app.client(), url.clone(), key.clone());
        async move { http.post(url).bearer_auth(key).json(&json!({"amount": "50.00", "refund_id": "re_1"})).send().await.unwrap().json::<Value>().await.unwrap() }
    })
    .await;
    for r in &retries {
        assert_eq!((r["conversion"]["refunded"].as_str(), r["clawback"]["amount"].as_str()), (Some("50.00"), Some("7.50")), "a retry answers like the first: {r}");
    }
    let clawbacks: Vec<i64> = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ConversionId.eq(id))
        .filter(ledger_entry::Column::Kind.eq("clawback"))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.amount_minor)
        .collect();
    assert_eq!(clawbacks, vec![-750]);
    // The same key with another amount is a conflict; more than what remains is refused.
    let res = send(json!({"amount": "60.00", "refund_id": "re_1"})).await.unwrap();
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap_or_default().contains("50.00"), "{p}");
    let res = send(json!({"amount": "150.01", "refund_id": "re_2"})).await.unwrap();
    assert_eq!(res.status(), 422);
    // A second refund with its own key applies; the conversion keeps every refund.
    let second: Value = send(json!({"amount": "150.00", "refund_id": "re_2"})).await.unwrap().json().await.unwrap();
    assert_eq!((second["conversion"]["refunded"].as_str(), second["clawback"]["amount"].as_str()), (Some("200.00"), Some("22.50")), "{second}");
    let rows = backend::entities::refund::Entity::find().filter(backend::entities::refund::Column::ConversionId.eq(id)).all(&app.db).await.unwrap();
    assert_eq!(rows.iter().map(|r| (r.refund_id.clone(), r.amount_minor, r.clawback_minor)).collect::<Vec<_>>(), vec![
        (Some("re_1".to_string()), 5000, 750),
        (Some("re_2".to_string()), 15000, 2250)
    ]);
    let res = send(json!({"refund_id": "bad\u{0}key"})).await.unwrap();
    assert_eq!(res.status(), 422);
});
