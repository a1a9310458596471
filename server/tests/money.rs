//! Tracking and money over real HTTP on SQLite and PostgreSQL: links, the redirect, the
//! conversion and refund API, attribution, commissions, the ledger and rollups.

mod common;

use backend::entities::{click, conversion, daily_rollup, enrollment, ledger_entry};
use common::{Backend, TestApp};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};

struct Api {
    app: TestApp,
    key: String,
    http: reqwest::Client,
    program: i64,
}

impl Api {
    async fn new(b: Backend) -> Self {
        let app = TestApp::with_demo(b).await;
        let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "tests").await.unwrap().secret;
        let http = app.client();
        Api { app, key, http, program: 1 }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self.http.post(self.app.url(path)).bearer_auth(&self.key).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            assert_eq!(ct, "application/problem+json", "errors are problem+json: {v}");
            assert!(v["code"].is_string() && v["detail"].is_string() && v["title"].is_string());
        }
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.http.get(self.app.url(path)).bearer_auth(&self.key).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    async fn link(&self, partner_id: i64) -> String {
        let (s, v) = self.post("/api/v1/links", json!({"partner_id": partner_id, "program_id": self.program})).await;
        assert_eq!(s, 201, "{v}");
        v["code"].as_str().unwrap().to_string()
    }

    async fn click(&self, code: &str, ua: &str) -> String {
        let res = self.http.get(self.app.url(&format!("/r/{code}"))).header("user-agent", ua).send().await.unwrap();
        assert_eq!(res.status(), 302);
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        loc.split("trellis_click=").nth(1).unwrap().to_string()
    }

    async fn conversions(&self) -> u64 {
        conversion::Entity::find().count(&self.app.db).await.unwrap()
    }

    async fn entries(&self) -> u64 {
        ledger_entry::Entity::find().count(&self.app.db).await.unwrap()
    }
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

on_both!(links_accept_only_allowed_http_destinations, |b: Backend| async move {
    let api = Api::new(b).await;
    let (s, v) = api.post("/api/v1/links", json!({"partner_id": 1, "program_id": 1})).await;
    assert_eq!(s, 201);
    assert_eq!(v["destination"], "https://northwind.example/");
    assert!(v["url"].as_str().unwrap().ends_with(&format!("/r/{}", v["code"].as_str().unwrap())));
    for ok in ["https://shop.northwind.example/a?b=c", "http://deep.shop.northwind.example/"] {
        let (s, v) = api.post("/api/v1/links", json!({"partner_id": 1, "program_id": 1, "destination": ok})).await;
        assert_eq!(s, 201, "{ok}: {v}");
    }
    for bad in ["https://evil.example/", "https://northwind.example.evil.com/", "javascript:alert(1)", "ftp://northwind.example/", "//evil.example", "https://user:pw@northwind.example/"] {
        let (s, v) = api.post("/api/v1/links", json!({"partner_id": 1, "program_id": 1, "destination": bad})).await;
        assert_eq!(s, 422, "{bad}: {v}");
        assert_eq!(v["code"], "invalid_destination");
    }
    let (s, _) = api.post("/api/v1/links", json!({"partner_id": 1, "program_id": 999})).await;
    assert_eq!(s, 404);
    let (s, _) = api.post("/api/v1/links", json!({"partner_id": 99999, "program_id": 1})).await;
    assert_eq!(s, 404);
});

on_both!(the_redirect_sends_only_the_stored_destination_and_records_every_click_once, |b: Backend| async move {
    let api = Api::new(b).await;
    let code = api.link(1).await;
    let mut ids = Vec::new();
    for _ in 0..25 {
        let res = api
            .http
            .get(api.app.url(&format!("/r/{code}?next=https://evil.example&url=//evil.example")))
            .header("user-agent", BROWSER)
            .header("referer", "https://blog.example/post")
            .header("host", "evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        let loc = res.headers()["location"].to_str().unwrap();
        assert!(loc.starts_with("https://northwind.example/?trellis_click="), "{loc}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("trellis_vid="));
        ids.push(loc.split('=').nth(1).unwrap().to_string());
    }
    let bot = api.click(&code, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").await;
    let missing = api.http.get(api.app.url("/r/doesnotexist")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    api.app.clicks.flush().await.unwrap();
    let stored = click::Entity::find().count(&api.app.db).await.unwrap();
    assert_eq!(stored, 26, "every click stored exactly once");
    let one = click::Entity::find_by_id(ids[0].clone()).one(&api.app.db).await.unwrap().unwrap();
    assert_eq!(one.referrer.as_deref(), Some("https://blog.example/post"));
    assert!(!one.is_bot && one.ip_hash.len() == 64 && one.ip_hash != "127.0.0.1");
    let all_same_visitor = click::Entity::find().filter(click::Column::VisitorId.eq(one.visitor_id.clone())).count(&api.app.db).await.unwrap();
    assert_eq!(all_same_visitor, 26, "the visitor cookie is kept across clicks");
    let bot_row = click::Entity::find_by_id(bot).one(&api.app.db).await.unwrap().unwrap();
    assert!(bot_row.is_bot && bot_row.flag.as_deref() == Some("bot"));
    let rolled: i64 = daily_rollup::Entity::find().all(&api.app.db).await.unwrap().iter().map(|r| r.clicks).sum();
    assert_eq!(rolled, 26, "rollups count the clicks in the same write");
});

on_both!(a_replayed_conversion_answers_the_first_answer_and_a_changed_one_conflicts, |b: Backend| async move {
    let api = Api::new(b).await;
    let body = json!({"program_id": 1, "external_id": "order-1", "amount": "100.00", "partner_id": 1});
    let (s1, first) = api.post("/api/v1/conversions", body.clone()).await;
    assert_eq!(s1, 201, "{first}");
    // Same JSON value with keys in another order is the same request.
    let reordered = json!({"partner_id": 1, "amount": "100.00", "external_id": "order-1", "program_id": 1});
    let (s2, second) = api.post("/api/v1/conversions", reordered).await;
    assert_eq!(s2, 200);
    assert_eq!(first, second);
    let (s3, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "order-1", "amount": "100.01", "partner_id": 1})).await;
    assert_eq!(s3, 409);
    assert_eq!(v["code"], "conflict");
    assert_eq!(api.conversions().await, 1);
    assert_eq!(api.entries().await, 1);
});

on_both!(concurrent_duplicates_store_one_conversion_and_answer_alike, |b: Backend| async move {
    let api = std::sync::Arc::new(Api::new(b).await);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "race", "amount": "50.00", "partner_id": 1})).await
        }));
    }
    let mut created = 0;
    let mut answers = Vec::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert!(s == 201 || s == 200, "{s} {v}");
        created += (s == 201) as u32;
        answers.push(v);
    }
    assert_eq!(created, 1);
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(api.conversions().await, 1);
    assert_eq!(api.entries().await, 1);
});

on_both!(attribution_follows_click_then_link_then_partner, |b: Backend| async move {
    let api = Api::new(b).await;
    let code = api.link(1).await;
    let c1 = api.click(&code, BROWSER).await;
    let c2 = api.click(&code, BROWSER).await;
    // Another partner's link: an explicit click id wins over link and partner.
    let other = enrollment::Entity::find()
        .filter(enrollment::Column::Status.eq("active"))
        .filter(enrollment::Column::PartnerId.ne(1))
        .one(&api.app.db)
        .await
        .unwrap()
        .unwrap();
    let other_code = api.link(other.partner_id).await;
    let (s, v) = api
        .post("/api/v1/conversions", json!({"program_id": 1, "external_id": "c", "amount": "10.00", "click_id": c2, "link_code": other_code, "partner_id": other.partner_id}))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["attributed_via"], "click_id");
    assert_eq!(v["partner_id"], 1);
    assert_eq!(v["click_path"], json!([c1, c2].iter().collect::<Vec<_>>()), "the visitor's whole path, oldest first");

    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "l", "amount": "10.00", "link_code": other_code, "partner_id": 1})).await;
    assert_eq!(v["attributed_via"], "link_code");
    assert_eq!(v["partner_id"], other.partner_id);
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "p", "amount": "10.00", "partner_id": other.partner_id})).await;
    assert_eq!(v["attributed_via"], "partner_id");
    let (s, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "n", "amount": "10.00"})).await;
    assert_eq!(s, 201);
    assert_eq!(v["status"], "unattributed");
    assert_eq!(v["partner_id"], Value::Null);
    assert_eq!(v["commission"]["amount"], "0.00");

    for (field, value) in [("click_id", json!("nosuchclick")), ("link_code", json!("nosuch")), ("partner_id", json!(999_999))] {
        let (s, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": format!("bad-{field}"), "amount": "1.00", field: value})).await;
        assert_eq!(s, 422, "{field}: {v}");
        assert_eq!(v["code"], format!("invalid_{field}"));
    }

    let bot = api.click(&code, "curl/8.0 (compatible; bingbot/2.0)").await;
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "b", "amount": "10.00", "click_id": bot})).await;
    assert_eq!(v["status"], "unattributed", "bot clicks never attribute: {v}");
    assert_eq!(api.conversions().await, 5);
});

on_both!(the_cookie_window_includes_its_last_second_and_nothing_after, |b: Backend| async move {
    let api = Api::new(b).await;
    let code = api.link(1).await;
    let link = backend::entities::link::Entity::find().filter(backend::entities::link::Column::Code.eq(code)).one(&api.app.db).await.unwrap().unwrap();
    use chrono::SubsecRound;
    let occurred = (chrono::Utc::now() - chrono::Duration::hours(1)).trunc_subsecs(0);
    let insert = |id: &str, age: chrono::Duration| click::ActiveModel {
        id: Set(id.to_string()),
        account_id: Set(1),
        program_id: Set(1),
        link_id: Set(link.id),
        enrollment_id: Set(link.enrollment_id),
        visitor_id: Set(format!("v-{id}")),
        at: Set(occurred - age),
        referrer: Set(None),
        user_agent: Set(Some(BROWSER.into())),
        ip_hash: Set("x".repeat(64)),
        is_bot: Set(false),
        flag: Set(None),
    };
    insert("edge", chrono::Duration::days(30)).insert(&api.app.db).await.unwrap();
    insert("late", chrono::Duration::days(30) + chrono::Duration::seconds(1)).insert(&api.app.db).await.unwrap();
    let at = occurred.to_rfc3339();
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "edge", "amount": "10.00", "click_id": "edge", "occurred_at": at})).await;
    assert_eq!(v["status"], "attributed", "{v}");
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "late", "amount": "10.00", "click_id": "late", "occurred_at": at})).await;
    assert_eq!(v["status"], "unattributed");
    assert!(v["reason"].as_str().unwrap().contains("30-day cookie window"));
});

on_both!(commissions_follow_the_tier_or_the_override_and_inactive_partners_earn_nothing, |b: Backend| async move {
    let api = Api::new(b).await;
    // Partner 1 is Silver at 15%: 123.45 × 15% = 18.5175 → 18.52.
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "t1", "amount": "123.45", "partner_id": 1})).await;
    assert_eq!(v["commission"], json!({"amount": "18.52", "rate": {"percent": "15"}, "tier": "Silver"}));
    // 0.10 × 15% = 0.015 → 0.02 (half away from zero).
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "t2", "amount": "0.10", "partner_id": 1})).await;
    assert_eq!(v["commission"]["amount"], "0.02");
    // A custom commission for a top partner overrides the tier.
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(1)).one(&api.app.db).await.unwrap().unwrap();
    let mut a: enrollment::ActiveModel = e.into();
    a.commission_kind = Set(Some("flat".into()));
    a.commission_value = Set(Some("7.50".into()));
    a.update(&api.app.db).await.unwrap();
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "t3", "amount": "0", "partner_id": 1})).await;
    assert_eq!(v["commission"]["amount"], "7.50", "a zero-amount sign-up earns a flat commission");
    let paused = enrollment::Entity::find().filter(enrollment::Column::Status.eq("paused")).one(&api.app.db).await.unwrap().unwrap();
    let before = api.entries().await;
    let (s, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "t4", "amount": "10.00", "partner_id": paused.partner_id})).await;
    assert_eq!(s, 201);
    assert_eq!(v["status"], "ineligible");
    assert_eq!(v["reason"], "the enrollment is paused");
    assert_eq!(api.entries().await, before, "no ledger entry for a paused partner");
});

on_both!(refunds_claw_back_exactly_the_refunded_share_once, |b: Backend| async move {
    let api = Api::new(b).await;
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "r", "amount": "123.45", "partner_id": 1})).await;
    let id = v["id"].as_i64().unwrap();
    let (s, v) = api.post(&format!("/api/v1/conversions/{id}/refund"), json!({"amount": "23.45"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["clawback"]["amount"], "3.52"); // 18.52 × 23.45 / 123.45 = 3.518
    let (s, v) = api.post(&format!("/api/v1/conversions/{id}/refund"), json!({"amount": "100.01"})).await;
    assert_eq!(s, 422, "more than remains: {v}");
    let (_, v) = api.post(&format!("/api/v1/conversions/{id}/refund"), json!({})).await;
    assert_eq!(v["clawback"]["amount"], "15.00", "the rest, so the total is exactly the commission");
    assert_eq!(v["conversion"]["refunded"], "123.45");
    assert_eq!(v["conversion"]["commission_net"], "0.00");
    let (s, v) = api.post(&format!("/api/v1/conversions/{id}/refund"), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(v["clawback"]["amount"], "0.00", "a second full refund is a no-op");
    let (_, list) = api.get("/api/v1/commissions?partner_id=1").await;
    let sum: f64 = list["items"].as_array().unwrap().iter().map(|e| e["amount"].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert!(sum.abs() < 1e-9, "net zero after a full refund: {list}");
    assert_eq!(list["total"], 3);
    let (s, _) = api.post("/api/v1/conversions/999999/refund", json!({})).await;
    assert_eq!(s, 404);
    let rollup_revenue: i64 = daily_rollup::Entity::find().all(&api.app.db).await.unwrap().iter().map(|r| r.revenue_minor).sum();
    assert_eq!(rollup_revenue, 0, "revenue net of refunds");
});

on_both!(bad_input_gets_a_clear_problem_and_writes_nothing, |b: Backend| async move {
    let api = Api::new(b).await;
    let cases = [
        (json!({"program_id": 1, "external_id": "x", "amount": "-1.00"}), 422, "invalid_amount"),
        (json!({"program_id": 1, "external_id": "x", "amount": "1000000000000"}), 422, "invalid_amount"),
        (json!({"program_id": 1, "external_id": "x", "amount": "1.001"}), 422, "invalid_amount"),
        (json!({"program_id": 1, "external_id": "x", "amount": "ten"}), 422, "invalid_amount"),
        (json!({"program_id": 1, "external_id": "x", "amount": "1.00", "currency": "EUR"}), 422, "invalid_currency"),
        (json!({"program_id": 1, "external_id": "", "amount": "1.00"}), 422, "invalid_external_id"),
        (json!({"program_id": 1, "external_id": "x", "amount": "1.00", "occurred_at": "yesterday"}), 422, "invalid_occurred_at"),
        (json!({"program_id": 1, "external_id": "x", "amount": 1.5}), 422, "invalid_body"),
        (json!({"program_id": 1, "external_id": "x", "amount": "1.00", "extra": true}), 422, "invalid_body"),
        (json!({"program_id": 424242, "external_id": "x", "amount": "1.00"}), 404, "not_found"),
    ];
    for (body, status, code) in cases {
        let (s, v) = api.post("/api/v1/conversions", body.clone()).await;
        assert_eq!((s, v["code"].as_str().unwrap()), (status, code), "{body} → {v}");
    }
    let res = api.http.post(api.app.url("/api/v1/conversions")).bearer_auth(&api.key).header("content-type", "application/json").body("{\"program_id\": 1,").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let big = format!("{{\"program_id\":1,\"external_id\":\"{}\",\"amount\":\"1.00\"}}", "x".repeat(70 * 1024));
    let res = api.http.post(api.app.url("/api/v1/conversions")).bearer_auth(&api.key).header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(api.conversions().await, 0, "no partial rows");
    assert_eq!(api.entries().await, 0);
});

on_both!(keys_act_for_their_own_account_only, |b: Backend| async move {
    let api = Api::new(b).await;
    let res = api.http.post(api.app.url("/api/v1/conversions")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = api.http.get(api.app.url("/api/v1/commissions")).bearer_auth("trl_000000000000_nope").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let (_, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "mine", "amount": "10.00", "partner_id": 1})).await;
    let conv = v["id"].as_i64().unwrap();
    // Another account's key sees none of it.
    let other = backend::access::accounts::ensure_account(&api.app.db, &api.app.clock, "other", None).await.unwrap();
    let other_key = backend::access::auth::create_api_key(&api.app.db, &api.app.clock, other.id, "o").await.unwrap().secret;
    let c = &api.http;
    let r = c.get(api.app.url("/api/v1/programs/1")).bearer_auth(&other_key).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.post(api.app.url(&format!("/api/v1/conversions/{conv}/refund"))).bearer_auth(&other_key).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.post(api.app.url("/api/v1/conversions")).bearer_auth(&other_key).json(&json!({"program_id": 1, "external_id": "theirs", "amount": "1.00"})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.post(api.app.url("/api/v1/links")).bearer_auth(&other_key).json(&json!({"program_id": 1, "partner_id": 1})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let list: Value = c.get(api.app.url("/api/v1/commissions")).bearer_auth(&other_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 0);
    for path in ["/api/v1/analytics/summary?program_id=1&from=2026-01-01&to=2026-12-31", "/api/v1/analytics/cohorts?program_id=1"] {
        let r = c.get(api.app.url(path)).bearer_auth(&other_key).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    assert_eq!(api.conversions().await, 1);
});

on_both!(programs_are_created_with_checked_tiers, |b: Backend| async move {
    let api = Api::new(b).await;
    let body = json!({
        "name": "Content affiliates", "currency": "eur", "website": "https://shop.example", "allowed_domains": ["Blog.Example"],
        "cookie_days": 45, "default_commission": {"percent": "8"},
        "tiers": [
            {"name": "Gold", "rank": 3, "commission": {"percent": "15"}, "rule": {"min_conversions": 50, "min_revenue": "10000.00", "window_days": 90}, "retroactive": true},
            {"name": "Bronze", "rank": 1, "commission": {"percent": "8"}},
            {"name": "Silver", "rank": 2, "commission": {"flat": "5.00"}, "rule": {"min_conversions": 20, "window_days": 60}}
        ]
    });
    let (s, v) = api.post("/api/v1/programs", body).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["allowed_domains"], json!(["blog.example"]));
    let names: Vec<_> = v["tiers"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["Bronze", "Silver", "Gold"]);
    assert_eq!(v["tiers"][1]["commission"], json!({"flat": "5.00"}));
    let (s, got) = api.get(&format!("/api/v1/programs/{}", v["id"])).await;
    assert_eq!(s, 200);
    assert_eq!(got, v);
    for (patch, code) in [
        (json!({"currency": "XXX"}), "invalid_currency"),
        (json!({"website": "ftp://x.example"}), "invalid_website"),
        (json!({"cookie_days": 0}), "invalid_cookie_days"),
        (json!({"default_commission": {"percent": "101"}}), "invalid_default_commission"),
        (json!({"default_commission": {"percent": "1", "flat": "1.00"}}), "invalid_default_commission"),
        (json!({"allowed_domains": ["bad host"]}), "invalid_allowed_domains"),
        (json!({"tiers": [{"name": "A", "rank": 1, "commission": {"percent": "1"}}, {"name": "B", "rank": 2, "commission": {"percent": "2"}}]}), "invalid_tiers"),
    ] {
        let mut body = json!({"name": "P", "currency": "USD", "website": "https://x.example", "cookie_days": 30, "default_commission": {"percent": "10"}});
        for (k, val) in patch.as_object().unwrap() {
            body[k] = val.clone();
        }
        let (s, v) = api.post("/api/v1/programs", body).await;
        assert_eq!((s, v["code"].as_str().unwrap()), (422, code), "{v}");
    }
});

on_both!(the_openapi_document_describes_every_v1_route, |b: Backend| async move {
    let app = TestApp::spawn(b).await;
    let res = app.client().get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/programs", "post"),
        ("/api/v1/programs/{id}", "get"),
        ("/api/v1/links", "post"),
        ("/api/v1/conversions", "post"),
        ("/api/v1/conversions/{id}/refund", "post"),
        ("/api/v1/commissions", "get"),
        ("/api/v1/analytics/summary", "get"),
        ("/api/v1/analytics/cohorts", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} documented");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["ConversionInput", "Conversion", "ProgramInput", "Program", "Refund", "Entry", "Partner", "PartnerListItem", "ProblemDoc"] {
        assert!(schemas.contains_key(s), "schema {s}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
});

on_both!(metrics_count_clicks_conversions_and_requests, |b: Backend| async move {
    let api = Api::new(b).await;
    let code = api.link(1).await;
    api.click(&code, BROWSER).await;
    api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "m", "amount": "1.00", "partner_id": 1})).await;
    api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "m", "amount": "1.00", "partner_id": 1})).await;
    let res = api.http.get(api.app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();
    for needle in [
        "trellis_clicks_total 1",
        "trellis_conversions_total{outcome=\"created\"} 1",
        "trellis_conversions_total{outcome=\"replayed\"} 1",
        "trellis_http_requests_total{route=\"/r/{code}\",status=\"302\"} 1",
        "trellis_click_buffer_pending",
        "trellis_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
});

on_both!(a_click_flush_cancelled_half_way_loses_no_click, |b: Backend| async move {
    let api = Api::new(b).await;
    let code = api.link(1).await;
    for _ in 0..40 {
        api.click(&code, BROWSER).await;
    }
    // Cancel flushes at their first await point, as a dropped request would.
    for _ in 0..5 {
        let _ = tokio::time::timeout(std::time::Duration::from_nanos(1), api.app.clicks.flush()).await;
    }
    api.app.clicks.flush().await.unwrap();
    assert_eq!(api.app.clicks.pending(), 0);
    assert_eq!(click::Entity::find().count(&api.app.db).await.unwrap(), 40, "every click written exactly once");
});

on_both!(the_analytics_summary_equals_a_recomputation_from_raw_events, |b: Backend| async move {
    use backend::entities::conversion;
    let app = TestApp::with_full_demo(b).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let now = chrono::Utc::now();
    // Whole days, and a window with partial days at both edges.
    for (from, to) in [
        ((now - chrono::Duration::days(30)).format("%Y-%m-%d").to_string(), now.format("%Y-%m-%d").to_string()),
        ((now - chrono::Duration::hours(24 * 45 + 7)).to_rfc3339(), (now - chrono::Duration::hours(5)).to_rfc3339()),
    ] {
        let res = app.client().get(app.url("/api/v1/analytics/summary")).bearer_auth(&key).query(&[("program_id", "1"), ("from", &from), ("to", &to)]).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let s: Value = res.json().await.unwrap();
        let (f, t) = (backend::clock::parse_bound("from", &from).unwrap(), backend::clock::parse_bound("to", &to).unwrap());
        let convs: Vec<_> = conversion::Entity::find()
            .filter(conversion::Column::EnrollmentId.is_not_null())
            .filter(conversion::Column::OccurredAt.gte(f))
            .filter(conversion::Column::OccurredAt.lt(t))
            .all(&app.db)
            .await
            .unwrap();
        let clicks = click::Entity::find().filter(click::Column::At.gte(f)).filter(click::Column::At.lt(t)).count(&app.db).await.unwrap();
        let revenue: i64 = convs.iter().map(|c| c.amount_minor - c.refunded_minor).sum();
        let ids: Vec<i64> = convs.iter().map(|c| c.id).collect();
        let commission: i64 = ledger_entry::Entity::find().filter(ledger_entry::Column::ConversionId.is_in(ids)).all(&app.db).await.unwrap().iter().map(|e| e.amount_minor).sum();
        assert!(convs.len() > 10, "the window has data");
        assert_eq!(s["conversions"], convs.len() as i64, "{s}");
        assert_eq!(s["clicks"], clicks as i64);
        assert_eq!(s["revenue"], models::Money::from_minor(revenue, models::Currency::parse("USD").unwrap()).amount_string());
        assert_eq!(s["commission"], models::Money::from_minor(commission, models::Currency::parse("USD").unwrap()).amount_string());
    }
    let res = app.client().get(app.url("/api/v1/analytics/summary")).bearer_auth(&key).query(&[("from", "yesterday"), ("to", "2026-01-01")]).send().await.unwrap();
    assert_eq!(res.status(), 422);
});

on_both!(cohorts_count_each_conversion_in_the_tier_it_was_earned_in, |b: Backend| async move {
    let api = Api::new(b).await;
    // Partner 1 earns at Silver; then becomes Gold by hand; the next conversion earns at Gold.
    api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "c1", "amount": "100.00", "partner_id": 1})).await;
    let gold = backend::programs::tiers(&api.app.db, 1).await.unwrap().into_iter().find(|t| t.name == "Gold").unwrap();
    let e = backend::entities::enrollment::Entity::find().filter(backend::entities::enrollment::Column::PartnerId.eq(1)).one(&api.app.db).await.unwrap().unwrap();
    let mut a: backend::entities::enrollment::ActiveModel = e.into();
    a.tier_id = Set(gold.id);
    a.update(&api.app.db).await.unwrap();
    api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "c2", "amount": "50.00", "partner_id": 1})).await;
    api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "c3", "amount": "25.00", "partner_id": 1})).await;
    let (s, v) = api.get("/api/v1/analytics/cohorts?program_id=1&weeks=2").await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    let find = |tier: &str| items.iter().find(|i| i["tier"] == tier).cloned().unwrap();
    assert_eq!((find("Silver")["conversions"].as_i64(), find("Silver")["revenue"].as_str()), (Some(1), Some("100.00")));
    assert_eq!((find("Gold")["conversions"].as_i64(), find("Gold")["revenue"].as_str(), find("Gold")["partners"].as_i64()), (Some(2), Some("75.00"), Some(1)));
    let (s, _) = api.get("/api/v1/analytics/cohorts?program_id=1&weeks=0").await;
    assert_eq!(s, 422);
    let (s, _) = api.get("/api/v1/analytics/cohorts?program_id=999").await;
    assert_eq!(s, 404);
});

/// Storage faults (issue 28, targets.md R21): a database that fills up, and PostgreSQL backends
/// killed mid-transaction. What was answered 2xx is stored; nothing else is half-stored; writes
/// resume without a restart.
mod storage_faults {
    use super::*;
    use common::Spawn;
    use sea_orm::ConnectionTrait;
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    /// Answer status, body and `Retry-After` of a POST.
    async fn post(app: &TestApp, http: &reqwest::Client, key: &str, path: &str, body: &Value) -> (u16, Value, Option<String>) {
        let res = http.post(app.url(path)).bearer_auth(key).json(body).send().await.unwrap();
        let status = res.status().as_u16();
        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (status, res.json().await.unwrap_or(Value::Null), retry)
    }

    fn conversion_body(external_id: &str) -> Value {
        json!({"program_id": 1, "external_id": external_id, "amount": "120.00", "partner_id": 1})
    }

    async fn stored_external_ids(db: &sea_orm::DatabaseConnection) -> HashMap<String, conversion::Model> {
        conversion::Entity::find().all(db).await.unwrap().into_iter().map(|c| (c.external_id.clone(), c)).collect()
    }

    async fn until<F, Fut>(what: &str, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !f().await {
            assert!(Instant::now() < deadline, "{what} did not happen within a minute");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_sqlite_database_answers_503_storage_full_keeps_every_acknowledged_write_and_recovers_without_restart() {
        let limit = backend::db::PageLimit::default();
        let app = TestApp::spawn_with(Backend::Sqlite, Spawn { page_limit: Some(limit.clone()), ..Default::default() }).await;
        server::demo::load_with(&app.db, &app.clock, false).await.unwrap();
        let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "tests").await.unwrap().secret;
        let http = app.client();
        let pages = app.db.query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA page_count")).await.unwrap().unwrap();
        let pages: i64 = pages.try_get_by_index(0).unwrap();
        // Room for a few dozen conversions, then the file cannot grow.
        limit.set(pages as u32 + 40);

        let mut acked: Vec<(String, Value)> = Vec::new();
        let mut refused: Vec<String> = Vec::new();
        let mut refunds_acked: HashMap<i64, u32> = HashMap::new();
        for i in 0..5000 {
            let id = format!("fill-{i}");
            let (status, v, retry) = post(&app, &http, &key, "/api/v1/conversions", &conversion_body(&id)).await;
            match status {
                201 => {
                    let conversion_id = v["id"].as_i64().unwrap();
                    acked.push((id, v));
                    // Every third acknowledged conversion gets a partial refund while the disk fills.
                    if acked.len().is_multiple_of(3) {
                        let (s, r, retry) = post(&app, &http, &key, &format!("/api/v1/conversions/{conversion_id}/refund"), &json!({"amount": "10.00"})).await;
                        match s {
                            200 => *refunds_acked.entry(conversion_id).or_default() += 1,
                            503 => assert_eq!((r["code"].as_str(), retry.as_deref()), (Some("storage_full"), Some("5")), "{r}"),
                            other => panic!("a refund while filling answered {other}: {r}"),
                        }
                    }
                }
                503 => {
                    assert_eq!(v["code"], "storage_full", "{v}");
                    assert_eq!(retry.as_deref(), Some("5"), "a 503 says when to retry");
                    refused.push(id);
                    if refused.len() >= 25 {
                        break;
                    }
                }
                other => panic!("conversion {i} answered {other} (only 201 or 503 storage_full are right): {v}"),
            }
        }
        assert!(acked.len() >= 5, "some conversions fit before the disk filled ({})", acked.len());
        assert!(refused.len() >= 25, "the database filled up: {} acknowledged, {} refused", acked.len(), refused.len());
        let ready = http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503, "not ready while writes fail");

        // Every acknowledged conversion and refund is stored, nothing refused is.
        let stored = stored_external_ids(&app.db).await;
        for (id, answer) in &acked {
            let row = stored.get(id).unwrap_or_else(|| panic!("{id} was answered 201 but is not stored"));
            let refunds = refunds_acked.get(&answer["id"].as_i64().unwrap()).copied().unwrap_or(0);
            assert_eq!(row.refunded_minor, i64::from(refunds) * 1000, "{id}: every acknowledged refund is stored, no other");
        }
        for id in &refused {
            assert!(!stored.contains_key(id), "{id} was refused but is stored");
        }
        let metrics = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("trellis_storage_faults_total{kind=\"full\"}"), "{metrics}");
        assert!(metrics.contains("trellis_storage_failing 1"), "{metrics}");

        // Space returns: writes resume without a restart.
        limit.set(pages as u32 + 100_000);
        let mut n = 0;
        until("a write after space returned", || {
            n += 1;
            let body = conversion_body(&format!("after-{n}"));
            let (app, http, key) = (&app, &http, &key);
            async move { post(app, http, key, "/api/v1/conversions", &body).await.0 == 201 }
        })
        .await;
        until("/readyz 200 again", || async { http.get(app.url("/readyz")).send().await.unwrap().status() == 200 }).await;
        // Re-sending an acknowledged conversion answers its stored answer; a refused one is new.
        for (id, answer) in &acked {
            let (status, v, _) = post(&app, &http, &key, "/api/v1/conversions", &conversion_body(id)).await;
            assert_eq!(status, 200, "{id}: {v}");
            assert_eq!(&v, answer, "{id}: the replay is the first answer");
        }
        for id in &refused {
            let (status, v, _) = post(&app, &http, &key, "/api/v1/conversions", &conversion_body(id)).await;
            assert_eq!(status, 201, "{id} was never stored, so it is new now: {v}");
        }
        let stored = stored_external_ids(&app.db).await;
        assert_eq!(stored.len() as u64, conversion::Entity::find().count(&app.db).await.unwrap(), "no duplicate");
        let metrics = http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("trellis_storage_failing 0"), "{metrics}");
        assert!(metrics.contains("trellis_database_disk_free_bytes "), "{metrics}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_backends_killed_mid_transaction_lose_nothing_acknowledged_and_writes_continue() {
        let app = TestApp::with_demo(Backend::Postgres).await;
        let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "tests").await.unwrap().secret;
        let name: String = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, "SELECT current_database()"))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        let admin = sea_orm::Database::connect(common::pg_admin_url()).await.unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let killer = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut killed = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let sql = format!(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid() AND state <> 'idle'"
                    );
                    if let Ok(Some(row)) = admin.query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql)).await {
                        killed += row.try_get_by_index::<i64>(0).unwrap_or(0) as u64;
                    }
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
                killed
            })
        };
        // Two clients post conversions and refunds while backends die under them.
        let mut clients = Vec::new();
        for c in 0..2 {
            let (base, key, http) = (app.base.clone(), key.clone(), app.client());
            clients.push(tokio::spawn(async move {
                let mut answers: Vec<(String, u16, Value)> = Vec::new();
                for i in 0..120 {
                    let id = format!("kill-{c}-{i}");
                    let res = http.post(format!("{base}/api/v1/conversions")).bearer_auth(&key).json(&conversion_body(&id)).send().await.unwrap();
                    let status = res.status().as_u16();
                    answers.push((id, status, res.json().await.unwrap_or(Value::Null)));
                }
                answers
            }));
        }
        let mut answers = Vec::new();
        for c in clients {
            answers.extend(c.await.unwrap());
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let killed = killer.await.unwrap();
        assert!(killed > 0, "the drill killed backends");
        for (id, status, v) in &answers {
            assert!(matches!(status, 201 | 503), "{id} answered {status} (201, or 503 to retry): {v}");
        }
        let stored = stored_external_ids(&app.db).await;
        for (id, status, v) in &answers {
            if *status == 201 {
                let row = stored.get(id).unwrap_or_else(|| panic!("{id} was answered 201 but is not stored"));
                assert_eq!(row.id, v["id"].as_i64().unwrap());
            }
        }
        // Writes continue: clients retry what was refused and end with every conversion once.
        let http = app.client();
        for (id, status, first) in &answers {
            let (s, v, _) = post(&app, &http, &key, "/api/v1/conversions", &conversion_body(id)).await;
            match status {
                201 => assert_eq!((s, &v), (200, first), "{id}: the replay answers the stored answer"),
                _ => assert!(matches!(s, 200 | 201), "{id} after the drill answered {s}: {v}"),
            }
        }
        let stored = stored_external_ids(&app.db).await;
        for (id, _, _) in &answers {
            assert!(stored.contains_key(id), "{id} is stored after its retry");
        }
        let total = conversion::Entity::find().filter(conversion::Column::ExternalId.starts_with("kill-")).count(&app.db).await.unwrap();
        assert_eq!(total, answers.len() as u64, "every conversion exactly once");
    }
}

/// The OpenAPI document made strict for checking answers: every object schema refuses
/// properties it does not list (unless it declares `additionalProperties` itself).
fn strict(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// Checks REST answers against the response schemas of the server's own OpenAPI document.
struct Conformance {
    doc: Value,
    checked: std::cell::Cell<usize>,
}

impl Conformance {
    async fn load(api: &Api) -> Self {
        let (s, doc) = api.get("/api/v1/openapi.json").await;
        assert_eq!(s, 200);
        Conformance { doc: strict(doc), checked: 0.into() }
    }

    /// Validates `body`, answered with `status` by `method path` (the documented path template).
    fn check(&self, method: &str, path: &str, status: u16, body: &Value) {
        let errors = self.errors(method, path, status, body);
        assert!(errors.is_empty(), "{method} {path} {status} breaks its schema:\n{}\n{body:#}", errors.join("\n"));
        assert_values_not_display_text(&format!("{method} {path}"), body);
        self.checked.set(self.checked.get() + 1);
    }

    /// What is wrong with `body` as an answer of `method path` with `status`.
    fn errors(&self, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{method} {path} documents status {status}: {body}");
        let content = response["content"].as_object().unwrap_or_else(|| panic!("{method} {path} {status} has a body schema"));
        let schema = content.values().next().unwrap()["schema"].clone();
        let mut root = schema.as_object().cloned().unwrap_or_default();
        root.insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("schema of {method} {path} {status}: {e}"));
        validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }
}

/// No currency suffix, thousands separator or percent sign in a value, and no `""` for an
/// absent one (the timeline's `summary` line and `data` are for people and free-form).
fn assert_values_not_display_text(route: &str, v: &Value) {
    fn walk(route: &str, key: &str, v: &Value) {
        match v {
            Value::String(s) => {
                if ["summary", "detail", "title", "reason", "hold_reason", "name", "company", "program", "actor"].contains(&key) {
                    return;
                }
                assert!(!s.is_empty(), "{route}: '{key}' is \"\" (an absent value is null)");
                assert!(!s.ends_with('%'), "{route}: '{key}' = {s:?} is display text");
                let numeric_with_suffix = s.split_once(' ').is_some_and(|(a, b)| a.replace(',', "").parse::<f64>().is_ok() && b.len() == 3);
                assert!(!numeric_with_suffix, "{route}: '{key}' = {s:?} has a currency suffix");
                let grouped = s.contains(',') && s.replace(',', "").parse::<f64>().is_ok();
                assert!(!grouped, "{route}: '{key}' = {s:?} has thousands separators");
            }
            Value::Array(items) => items.iter().for_each(|i| walk(route, key, i)),
            Value::Object(map) => {
                for (k, item) in map {
                    if k != "data" && k != "custom" {
                        walk(route, k, item);
                    }
                }
            }
            _ => {}
        }
    }
    walk(route, "", v)
}

on_both!(every_rest_answer_matches_its_openapi_schema, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "conformance").await.unwrap().secret;
    let api = Api { http: app.client(), app, key, program: 1 };
    let c = Conformance::load(&api).await;
    let get = |path: String| {
        let api = &api;
        async move { api.get(&path).await }
    };

    // Reads.
    let (s, v) = get("/api/v1/programs/1".into()).await;
    c.check("get", "/api/v1/programs/{id}", s, &v);
    let (s, list) = get("/api/v1/partners?per_page=200".into()).await;
    c.check("get", "/api/v1/partners", s, &list);
    assert!(list["items"].as_array().unwrap().iter().any(|i| i["revenue_90d"] != "0.00" && i["conversion_rate"].is_string()), "the demo has earning partners");
    for q in ["status=active&sort=revenue&desc=1", "tier=Gold", "health=at_risk", "q=ava", "program_id=1&page=2&per_page=5"] {
        let (s, v) = get(format!("/api/v1/partners?{q}")).await;
        c.check("get", "/api/v1/partners", s, &v);
    }
    // The check has teeth: display text, an unlisted field, a wrong time or a missing field fail.
    for (field, bad) in [("revenue_90d", json!("1,187.64 USD")), ("conversion_rate", json!("20.0%")), ("joined", json!("yesterday")), ("extra", json!(1)), ("status", json!("gone"))] {
        let mut wrong = list.clone();
        wrong["items"][0][field] = bad.clone();
        assert!(!c.errors("get", "/api/v1/partners", 200, &wrong).is_empty(), "{field} = {bad} is refused by the schema");
    }
    let mut wrong = list.clone();
    wrong["items"][0].as_object_mut().unwrap().remove("currency");
    assert!(!c.errors("get", "/api/v1/partners", 200, &wrong).is_empty(), "a missing field is refused");
    let partner = list["items"][0]["partner_id"].as_i64().unwrap();
    let (s, v) = get(format!("/api/v1/partners/{partner}")).await;
    c.check("get", "/api/v1/partners/{id}", s, &v);
    let (s, v) = get(format!("/api/v1/partners/{partner}/timeline?per_page=200")).await;
    c.check("get", "/api/v1/partners/{id}/timeline", s, &v);
    for q in ["", "?status=paid", "?status=pending", "?status=approved", "?status=void", "?per_page=200&page=2"] {
        let (s, v) = get(format!("/api/v1/commissions{q}")).await;
        c.check("get", "/api/v1/commissions", s, &v);
    }
    let (_, paid) = get("/api/v1/commissions?status=paid&per_page=200".into()).await;
    assert!(paid["items"].as_array().unwrap().iter().any(|e| e["kind"] == "payout" && e["rate"].is_null()), "payout entries carry no rate: {paid}");
    assert!(paid["items"].as_array().unwrap().iter().any(|e| e["kind"] == "earned" && e["rate"].is_object()), "earned entries carry their rate object");
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::days(90)).format("%Y-%m-%d").to_string();
    for q in [format!("from={from}&to={}", now.format("%Y-%m-%d")), format!("program_id=1&from={from}T13:00:00Z&to={}", now.to_rfc3339()), "program_id=1&from=2001-01-01&to=2001-01-02".into()] {
        let (s, v) = get(format!("/api/v1/analytics/summary?{q}")).await;
        c.check("get", "/api/v1/analytics/summary", s, &v);
    }
    let (s, v) = get("/api/v1/analytics/cohorts?program_id=1".into()).await;
    c.check("get", "/api/v1/analytics/cohorts", s, &v);
    let (s, v) = get("/api/v1/openapi.json".into()).await;
    assert_eq!(s, 200);
    assert_eq!(v["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));

    // Writes, with valid bodies, then the documented refusals.
    let (s, v) = api.post("/api/v1/programs", json!({"name": "Conformance", "currency": "EUR", "website": "https://c.example", "cookie_days": 30,
        "default_commission": {"percent": "10"}, "tiers": [{"name": "Base", "rank": 1, "commission": {"percent": "10"}},
        {"name": "Top", "rank": 2, "commission": {"flat": "5.00"}, "rule": {"min_revenue": "1000.00", "window_days": 30}, "retroactive": true}]})).await;
    c.check("post", "/api/v1/programs", s, &v);
    let (s, v) = api.post("/api/v1/partners", json!({"email": "conf@partners.example", "name": "Conformance Partner", "program_id": 1, "status": "active"})).await;
    c.check("post", "/api/v1/partners", s, &v);
    let new_partner = v["id"].as_i64().unwrap();
    let res = api.http.patch(api.app.url(&format!("/api/v1/partners/{new_partner}"))).bearer_auth(&api.key).json(&json!({"company": "Conf Ltd", "program_id": 1, "status": "paused", "reason": "checking"})).send().await.unwrap();
    let (s, v) = (res.status().as_u16(), res.json::<Value>().await.unwrap());
    c.check("patch", "/api/v1/partners/{id}", s, &v);
    let (s, v) = api.post("/api/v1/links", json!({"partner_id": partner, "program_id": 1})).await;
    c.check("post", "/api/v1/links", s, &v);
    let code = v["code"].as_str().unwrap().to_string();
    let click = api.click(&code, BROWSER).await;
    let body = json!({"program_id": 1, "external_id": "conf-1", "amount": "123.45", "click_id": click});
    let (s, v) = api.post("/api/v1/conversions", body.clone()).await;
    c.check("post", "/api/v1/conversions", s, &v);
    assert_eq!(s, 201);
    assert!(v["commission"]["rate"].is_object(), "the rate is a commission object: {v}");
    let conversion = v["id"].as_i64().unwrap();
    let (s, v) = api.post("/api/v1/conversions", body).await;
    assert_eq!(s, 200);
    c.check("post", "/api/v1/conversions", s, &v);
    let (s, v) = api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "conf-2", "amount": "10.00"})).await;
    c.check("post", "/api/v1/conversions", s, &v);
    assert_eq!(v["status"], "unattributed");
    assert!(v["commission"]["rate"].is_null() && v["attributed_via"].is_null());
    let (s, v) = api.post(&format!("/api/v1/conversions/{conversion}/refund"), json!({"amount": "23.45"})).await;
    c.check("post", "/api/v1/conversions/{id}/refund", s, &v);
    let (s, v) = api.post(&format!("/api/v1/conversions/{conversion}/refund"), json!({})).await;
    c.check("post", "/api/v1/conversions/{id}/refund", s, &v);
    for (method, path, status, v) in [
        ("post", "/api/v1/conversions", 409, api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "conf-1", "amount": "1.00"})).await.1),
        ("post", "/api/v1/conversions", 422, api.post("/api/v1/conversions", json!({"program_id": 1, "external_id": "conf-3", "amount": "-1"})).await.1),
        ("post", "/api/v1/partners", 409, api.post("/api/v1/partners", json!({"email": "conf@partners.example", "name": "Again"})).await.1),
        ("get", "/api/v1/partners/{id}", 404, get("/api/v1/partners/999999".into()).await.1),
        ("get", "/api/v1/programs/{id}", 404, get("/api/v1/programs/999999".into()).await.1),
    ] {
        c.check(method, path, status, &v);
    }
    assert!(c.checked.get() >= 30, "checked {} answers", c.checked.get());
});

// Every REST write with a NUL or another control character in a text field: 422 naming the
// field on both engines, nothing stored; a body that is not JSON: 415.
on_both!(rest_writes_refuse_unstorable_text_and_non_json, |b: Backend| async move {
    let api = Api::new(b).await;
    let (before_partners, before_conversions) = (backend::entities::partner::Entity::find().count(&api.app.db).await.unwrap(), api.conversions().await);
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("post", "/api/v1/partners", json!({"email": "nul@partners.example", "name": "A\u{0}B"}), "name"),
        ("post", "/api/v1/partners", json!({"email": "nul@partners.example", "name": "Tab\tName"}), "name"),
        ("post", "/api/v1/partners", json!({"email": "nul@partners.example", "name": "N", "custom": {"niche": "x\u{1}"}}), "custom.niche"),
        ("post", "/api/v1/conversions", json!({"program_id": 1, "external_id": "nul\u{0}", "amount": "1.00", "partner_id": 1}), "external_id"),
        ("post", "/api/v1/conversions", json!({"program_id": 1, "external_id": "ok", "amount": "1.00", "customer_id": "c\u{0}"}), "customer_id"),
        ("post", "/api/v1/conversions", json!({"program_id": 1, "external_id": "ok", "amount": "1.00", "link_code": "\u{0}"}), "link_code"),
        ("post", "/api/v1/programs", json!({"name": "P\u{0}", "currency": "USD", "website": "https://p.example", "cookie_days": 30, "default_commission": {"percent": "10"}}), "name"),
        ("post", "/api/v1/programs", json!({"name": "P", "currency": "USD", "website": "https://p.example", "cookie_days": 30, "default_commission": {"percent": "10"}, "tiers": [{"name": "T\u{0}", "rank": 1, "commission": {"percent": "1"}}]}), "tiers[0].name"),
        ("post", "/api/v1/links", json!({"partner_id": 1, "program_id": 1, "destination": "https://northwind.example/\u{0}"}), "destination"),
        ("post", "/api/v1/conversions/1/refund", json!({"amount": "1\u{0}"}), "amount"),
        ("patch", "/api/v1/partners/1", json!({"company": "C\u{0}"}), "company"),
        ("patch", "/api/v1/partners/1", json!({"program_id": 1, "status": "paused", "reason": "r\u{0}"}), "reason"),
    ];
    for (method, path, body, field) in cases {
        let req = if method == "post" { api.http.post(api.app.url(path)) } else { api.http.patch(api.app.url(path)) };
        let res = req.bearer_auth(&api.key).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, 422, "{method} {path} {body}: {v}");
        assert!(v["detail"].as_str().unwrap().starts_with(&format!("{field}: ")), "{path}: names {field}: {v}");
    }
    let pages = api.post("/api/v1/partners", json!({"email": "ok@partners.example", "name": "Two\nLines"})).await;
    assert_eq!(pages.0, 422, "a name is one line: {}", pages.1);
    assert_eq!(backend::entities::partner::Entity::find().count(&api.app.db).await.unwrap(), before_partners, "nothing stored");
    assert_eq!(api.conversions().await, before_conversions, "nothing stored");
    for (path, ct) in [("/api/v1/conversions", Some("text/plain")), ("/api/v1/partners", None), ("/api/v1/partners", Some("application/x-www-form-urlencoded"))] {
        let mut req = api.http.post(api.app.url(path)).bearer_auth(&api.key).body(r#"{"email":"x@y.example","name":"X"}"#);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 415, "{path} with {ct:?}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "unsupported_media_type");
    }
    for q in ["/api/v1/partners?q=a%00b", "/api/v1/commissions?status=%01", "/api/v1/partners/1/timeline?kind=%00"] {
        let (s, v) = api.get(q).await;
        assert_eq!(s, 422, "{q}: {v}");
    }
    let res = api.http.post(api.app.url("/api/v1/partners")).bearer_auth(&api.key).header("content-type", "application/json; charset=utf-8").body(r#"{"email":"x@y.example","name":"X"}"#).send().await.unwrap();
    assert_eq!(res.status(), 201, "JSON with a charset parameter is JSON");
});

on_both!(every_error_under_the_rest_api_is_problem_json, |b: Backend| async move {
    let api = Api::new(b).await;
    let before = api.conversions().await;
    let big = format!("{{\"program_id\": 1, \"external_id\": \"big\", \"amount\": \"1.00\", \"note\": \"{}\"}}", "x".repeat(server::rest::BODY_LIMIT));
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (api.http.delete(api.app.url("/api/v1/conversions")), 405, "method_not_allowed"),
        (api.http.put(api.app.url("/api/v1/analytics/summary")), 405, "method_not_allowed"),
        (api.http.post(api.app.url("/api/v1/conversions")).header("content-type", "application/json").body(big.clone()), 413, "payload_too_large"),
        (api.http.post(api.app.url("/api/v1/conversions/1/refund")).header("content-type", "application/json").body(big), 413, "payload_too_large"),
        (api.http.get(api.app.url("/api/v1/partners/%FF%FE")), 400, "bad_request"),
        (api.http.get(api.app.url("/api/v1/nowhere")), 404, "not_found"),
    ];
    for (req, status, code) in cases {
        let res = req.bearer_auth(&api.key).send().await.unwrap();
        let url = res.url().to_string();
        assert_eq!(res.status().as_u16(), status, "{url}");
        if status == 405 {
            assert!(res.headers().get("allow").is_some(), "405 says what is allowed: {url}");
        }
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{url}");
        let p: Value = res.json().await.unwrap();
        assert_eq!((p["status"].as_u64(), p["code"].as_str()), (Some(status as u64), Some(code)), "{url}: {p}");
        assert!(!p["detail"].as_str().unwrap_or_default().is_empty(), "{url}: {p}");
    }
    // Nothing was stored on the way.
    assert_eq!(api.conversions().await, before);
});

// Found by api-fuzz: a page number past i64 made the offset overflow (a panic, answered 500).
on_both!(a_page_far_past_the_end_is_empty_not_a_fault, |b: Backend| async move {
    let api = Api::new(b).await;
    for path in ["/api/v1/partners?page=9223372036854775808", "/api/v1/commissions?page=9223372036854775808", "/api/v1/partners?page=18446744073709551615&per_page=200"] {
        let (s, v) = api.get(path).await;
        assert_eq!(s, 200, "{path}: {v}");
        assert_eq!(v["items"].as_array().map(Vec::len), Some(0), "{path}: {v}");
    }
    let (s, v) = api.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    for (path, ops) in v["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                if status.as_str() >= "400" {
                    assert!(r["content"].get("application/problem+json").is_some(), "{method} {path} {status} is documented as problem+json");
                }
            }
        }
    }
});
