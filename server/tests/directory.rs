//! The partner directory and lifecycle over real HTTP on SQLite and PostgreSQL: filters, sorts,
//! pagination, status transitions, custom-field validation on every write path, segments, bulk
//! actions, CSV import (dry run, commit, re-import), export neutralisation and REST.

mod common;

use backend::entities::{audit_entry, enrollment, partner, timeline_event};
use common::{Backend, TestApp};
use models::{BulkReport, DirectoryPage, EnrollmentStatus, ImportKind, PartnerProfile, SegmentView};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const MANAGER: &str = "manager@demo.trellis.dev";
const OWNER: &str = "owner@demo.trellis.dev";
const ANALYST: &str = "analyst@demo.trellis.dev";

async fn page(app: &TestApp, c: &reqwest::Client, query: Value) -> DirectoryPage {
    let res = app.call_json(c, "directory", json!({ "query": query })).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn bulk(app: &TestApp, c: &reqwest::Client, target: Value, action: Value) -> reqwest::Response {
    app.call_json(c, "directory/bulk", json!({ "target": target, "action": action })).await
}

async fn api_key(app: &TestApp, account: i64) -> String {
    backend::access::auth::create_api_key(&app.db, &app.clock, account, "tests").await.unwrap().secret
}

on_both!(the_directory_filters_by_tier_status_source_owner_health_and_custom_fields, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let all = page(&app, &c, json!({})).await;
    // Give three enrollments performance and health so sorting and bands have something to do.
    let ids: Vec<i64> = all.list.items.iter().take(3).map(|r| r.enrollment_id).collect();
    for (i, id) in ids.iter().enumerate() {
        app.db
            .execute_unprepared(&format!(
                "UPDATE enrollments SET revenue_90d_minor = {}, conversions_90d = {}, clicks_90d = 40, health_score = {} WHERE id = {id}",
                (i as i64 + 1) * 100_00,
                i + 1,
                [20, 55, 90][i]
            ))
            .await
            .unwrap();
    }
    let top = page(&app, &c, json!({"sort": "revenue", "desc": true, "per_page": 3})).await;
    assert_eq!(top.list.items.iter().map(|r| r.enrollment_id).collect::<Vec<_>>(), ids.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(top.list.items[0].revenue_90d.display(), "300.00 USD");
    assert_eq!(top.list.items[0].conversion_rate_display(), "7.5%");
    let at_risk = page(&app, &c, json!({"health": "at_risk"})).await;
    assert_eq!(at_risk.list.items.iter().map(|r| r.enrollment_id).collect::<Vec<_>>(), vec![ids[0]]);
    assert_eq!(page(&app, &c, json!({"health": "watch"})).await.list.total, 1);
    assert_eq!(page(&app, &c, json!({"health": "healthy"})).await.list.total, 1);
    assert_eq!(page(&app, &c, json!({"health": "unscored"})).await.list.total, all.list.total - 3);
    let by_health = page(&app, &c, json!({"sort": "health", "desc": true, "per_page": 200})).await;
    assert_eq!(by_health.list.items[0].health, Some(90));
    assert_eq!(by_health.list.items.last().unwrap().health, None, "unscored partners sort last");

    // Tier + status: the same answer as counting in the database.
    let gold = page(&app, &c, json!({"tier": "Gold", "status": "active"})).await;
    let expected = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM enrollments e JOIN tiers t ON t.id = e.tier_id WHERE t.name = 'Gold' AND e.status = 'active'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(gold.list.total as i64, expected);
    assert!(gold.list.total > 0 && gold.list.items.iter().all(|r| r.tier == "Gold" && r.status == EnrollmentStatus::Active));
    assert_eq!(gold.counts.active, gold.list.total, "counts follow the other filters");

    // The source picker (a loose index scan) lists every distinct source once, in order.
    let distinct: Vec<String> = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT DISTINCT source FROM partners WHERE source IS NOT NULL ORDER BY source",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(distinct.len() > 1);
    assert_eq!(all.sources, distinct);
    // Tier + status sorted by revenue, deep page: rows in order and the same as a direct query.
    let gold_rev = page(&app, &c, json!({"tier": "Gold", "status": "active", "sort": "revenue", "desc": true, "per_page": 2, "page": 2})).await;
    let expected_ids: Vec<i64> = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT e.id FROM enrollments e JOIN tiers t ON t.id = e.tier_id WHERE t.name = 'Gold' AND e.status = 'active' \
             ORDER BY e.revenue_90d_minor DESC, e.id DESC LIMIT 2 OFFSET 2",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .collect();
    assert_eq!(gold_rev.list.items.iter().map(|r| r.enrollment_id).collect::<Vec<_>>(), expected_ids);
    let source = all.sources[0].clone();
    let by_source = page(&app, &c, json!({"source": source, "per_page": 200})).await;
    assert!(by_source.list.total > 0 && by_source.list.total < all.list.total);
    assert!(by_source.list.items.iter().all(|r| r.source.as_deref() == Some(source.as_str())));

    let owner_id = all.owners.iter().find(|o| o.name.contains("Owen") || o.name.contains("Owner")).map(|o| o.id).unwrap_or(all.owners[0].id);
    let owned = partner::Entity::find().filter(partner::Column::OwnerUserId.eq(owner_id)).count(&app.db).await.unwrap();
    assert_eq!(page(&app, &c, json!({"owner": owner_id})).await.list.total, owned);

    let outdoor = page(&app, &c, json!({"fields": [{"key": "niche", "value": "outdoor"}], "per_page": 200})).await;
    let expected = backend::entities::partner_field_values::Entity::find()
        .filter(backend::entities::partner_field_values::Column::Key.eq("niche"))
        .filter(backend::entities::partner_field_values::Column::Value.eq("Outdoor"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(outdoor.list.total, expected, "custom-field values compare in canonical form");
    let bad = app.call_json(&c, "directory", json!({"query": {"fields": [{"key": "niche", "value": "Underwater"}]}})).await;
    assert_eq!(bad.status(), 422);
    // A body that is not the function's JSON is the caller's mistake: 400 with a readable error.
    for body in ["{not json", r#"{"query": {"per_page": "many"}}"#] {
        let res = c.post(app.url("/api/directory")).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        assert!(res.text().await.unwrap().contains("could not be read"), "{body}");
    }

    // Pages do not overlap in any sort.
    let p1 = page(&app, &c, json!({"sort": "joined", "per_page": 20, "page": 1})).await;
    let p2 = page(&app, &c, json!({"sort": "joined", "per_page": 20, "page": 2})).await;
    assert!(p1.list.items.iter().all(|a| p2.list.items.iter().all(|b| a.enrollment_id != b.enrollment_id)));
    assert!(p1.list.items.windows(2).all(|w| w[0].joined <= w[1].joined));
});

on_both!(status_changes_follow_the_lifecycle_and_land_on_the_timeline_and_in_the_audit_log, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let pending = page(&app, &c, json!({"status": "pending", "per_page": 1})).await.list.items.remove(0);
    let (pid, prog) = (pending.partner_id.to_string(), pending.program_id.to_string());
    let change = |what: &'static str, value: &'static str| {
        let (pid, prog, c, app) = (pid.clone(), prog.clone(), c.clone(), &app);
        async move { app.call(&c, "partners/enrollment", &[("partner_id", &pid), ("program_id", &prog), ("what", what), ("value", value), ("reason", "checked the site")]).await }
    };
    let refused = change("status", "paused").await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("cannot go from pending to paused"));
    assert_eq!(change("status", "active").await.status(), 200);
    assert_eq!(change("status", "paused").await.status(), 200);
    let again: bool = change("status", "paused").await.json().await.unwrap();
    assert!(!again, "the same status again changes nothing");
    assert_eq!(change("status", "pending").await.status(), 422);
    let e = enrollment::Entity::find_by_id(pending.enrollment_id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(e.status, "paused");
    let events = timeline_event::Entity::find()
        .filter(timeline_event::Column::PartnerId.eq(pending.partner_id))
        .filter(timeline_event::Column::Kind.eq("status_changed"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.summary.contains("checked the site") && e.actor.contains("manager@demo.trellis.dev")));
    let audit = audit_entry::Entity::find().filter(audit_entry::Column::Kind.eq("partner_status_changed")).all(&app.db).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!((audit[0].before.as_deref(), audit[1].before.as_deref()), (Some("pending"), Some("active")));

    // Tier and commission by hand.
    assert_eq!(change("tier", "Gold").await.status(), 200);
    assert_eq!(change("tier", "Platinum").await.status(), 422);
    assert_eq!(change("commission", "12.5%").await.status(), 200);
    assert_eq!(change("commission", "1.234").await.status(), 422);
    let profile: PartnerProfile = app.call(&c, "partners/profile", &[("id", &pid)]).await.json().await.unwrap();
    assert_eq!(profile.enrollments[0].tier, "Gold");
    assert_eq!(profile.enrollments[0].custom_commission.as_deref(), Some("12.5%"));

    // Analytics viewers read but never change.
    let analyst = app.login(ANALYST).await;
    let res = app.call(&analyst, "partners/enrollment", &[("partner_id", &pid), ("program_id", &prog), ("what", "status"), ("value", "active")]).await;
    assert_eq!(res.status(), 403);
});

on_both!(custom_field_values_are_validated_on_every_write_path, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login("admin@demo.trellis.dev").await;
    let c = app.login(MANAGER).await;
    let def = json!({"field": {"key": "tier_goal", "label": "Tier goal", "kind": "number", "options": [], "required": false}});
    assert_eq!(app.call_json(&c, "fields/define", def.clone()).await.status(), 403, "only admins define fields");
    assert_eq!(app.call_json(&admin, "fields/define", def).await.status(), 200);

    // Form.
    let bad = app.call_json(&c, "partners/update", json!({"id": 1, "fields": {"custom": {"tier_goal": "lots"}}})).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("custom.tier_goal"));
    let ok = app.call_json(&c, "partners/update", json!({"id": 1, "fields": {"custom": {"tier_goal": "12.50", "niche": "travel"}}})).await;
    assert_eq!(ok.status(), 200);
    let p = partner::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap();
    let custom: Value = serde_json::from_str(&p.custom).unwrap();
    assert_eq!((custom["tier_goal"].as_str(), custom["niche"].as_str()), (Some("12.5"), Some("Travel")));

    // REST: a bad value stores nothing.
    let key = api_key(&app, 1).await;
    let http = reqwest::Client::new();
    let res = http
        .post(app.url("/api/v1/partners"))
        .bearer_auth(&key)
        .json(&json!({"email": "new@partners.example", "name": "New", "custom": {"niche": "Underwater"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(partner::Entity::find().filter(partner::Column::Email.eq("new@partners.example")).count(&app.db).await.unwrap(), 0);
    let res = http
        .post(app.url("/api/v1/partners"))
        .bearer_auth(&key)
        .json(&json!({"email": "new@partners.example", "name": "New", "custom": {"niche": "Tech", "audience_size": 1200}, "program_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["custom"]["audience_size"], "1200");
    assert_eq!(body["enrollments"][0]["tier"], "Bronze");
    assert_eq!(body["enrollments"][0]["status"], "pending");

    // A required field must be present everywhere from now on.
    let required = json!({"field": {"key": "region", "label": "Region", "kind": "select", "options": ["EMEA", "AMER"], "required": true}});
    assert_eq!(app.call_json(&admin, "fields/define", required).await.status(), 200);
    let res = http.post(app.url("/api/v1/partners")).bearer_auth(&key).json(&json!({"email": "r@partners.example", "name": "R"})).send().await.unwrap();
    assert_eq!(res.status(), 422);

    // Import: the row is refused with its line and the reason; nothing is written.
    let csv = "email,name,region\nok@partners.example,Ok,EMEA\nbad@partners.example,Bad,APAC\n";
    let actor = backend::access::auth::actor_for_user(&app.db, 2).await.unwrap();
    let report = import(&app, &actor, ImportKind::Partners, csv, &["email", "name", "custom.region"], false).await;
    assert_eq!((report.created, report.error_count), (1, 1));
    assert_eq!(report.errors[0].line, 3);
    assert!(report.errors[0].message.contains("custom.region"), "{:?}", report.errors);
    assert_eq!(partner::Entity::find().filter(partner::Column::Email.eq("bad@partners.example")).count(&app.db).await.unwrap(), 0);
});

async fn import(app: &TestApp, actor: &backend::Actor, kind: ImportKind, csv: &str, mapping: &[&str], dry_run: bool) -> models::ImportReport {
    let preview = backend::tracking::imports::upload(&app.db, app.clock.now(), actor, kind, "t.csv", csv).await.unwrap();
    let imp = backend::entities::import::Entity::find_by_id(preview.id).one(&app.db).await.unwrap().unwrap();
    let map: Vec<Option<String>> = mapping.iter().map(|m| Some(m.to_string()).filter(|m| !m.is_empty())).collect();
    backend::tracking::imports::run(&app.db, &app.clock, actor, &imp, kind, &map, dry_run).await.unwrap()
}

on_both!(an_import_dry_run_writes_nothing_the_commit_writes_it_and_a_reimport_changes_nothing, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let csv = "Email,Full name,Company,Program,Status,Tier,Niche,Invite\n\
               lena@partners.example,Lena Park,Park Media,Northwind Partner Program,active,Silver,Travel,yes\n\
               omar@partners.example,Omar Haddad,,Northwind Partner Program,pending,,Tech,no\n\
               ,No Email,,,,,,\n\
               ava.thompson@partners.example,Ava Thompson,,,,,,\n";
    // Upload through the real multipart route, as the browser does.
    let form = reqwest::multipart::Form::new()
        .text("kind", "partners")
        .part("file", reqwest::multipart::Part::text(csv).file_name("partners.csv"));
    let res = c.post(app.url("/directory/import")).multipart(form).header("origin", app.base.clone()).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/directory/import/"), "{location}");
    let id: String = location.rsplit('/').next().unwrap().to_string();
    let preview: models::ImportPreview = app.call(&c, "imports/preview", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(preview.rows, 4);
    assert_eq!(preview.suggested, vec!["email", "name", "company", "program", "status", "tier", "custom.niche", "invite"]);
    let before = partner::Entity::find().count(&app.db).await.unwrap();
    let id_n: i64 = id.parse().unwrap();
    let run = |dry: bool| {
        let (c, app, mapping) = (c.clone(), &app, preview.suggested.clone());
        async move {
            let res = app.call_json(&c, "imports/start", json!({"id": id_n, "mapping": mapping, "dry_run": dry})).await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
            for _ in 0..200 {
                let p: models::ImportProgress = app.call(&c, "imports/progress", &[("id", &id_n.to_string())]).await.json().await.unwrap();
                if let Some(r) = p.report.filter(|_| p.status != "running" && p.status != "checking") {
                    assert_eq!(p.done, 4);
                    return r;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the import never finished");
        }
    };
    let dry = run(true).await;
    assert!(!dry.committed);
    assert_eq!((dry.created, dry.updated, dry.unchanged, dry.error_count), (2, 0, 1, 1), "{dry:?}");
    assert_eq!(dry.errors[0].line, 4);
    assert_eq!(partner::Entity::find().count(&app.db).await.unwrap(), before, "a dry run writes nothing");

    let done = run(false).await;
    assert!(done.committed);
    assert_eq!((done.created, done.updated, done.unchanged, done.error_count), (2, 0, 1, 1));
    assert_eq!(partner::Entity::find().count(&app.db).await.unwrap(), before + 2);
    let lena = partner::Entity::find().filter(partner::Column::Email.eq("lena@partners.example")).one(&app.db).await.unwrap().unwrap();
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(lena.id)).one(&app.db).await.unwrap().unwrap();
    assert_eq!(e.status, "active");
    let kinds: Vec<String> = timeline_event::Entity::find().filter(timeline_event::Column::PartnerId.eq(lena.id)).all(&app.db).await.unwrap().into_iter().map(|t| t.kind).collect();
    for k in ["created", "enrolled", "tier_changed", "email", "import"] {
        assert!(kinds.contains(&k.to_string()), "{k} in {kinds:?}");
    }
    let invitations = backend::entities::outbox_email::Entity::find().filter(backend::entities::outbox_email::Column::Kind.eq("invitation")).count(&app.db).await.unwrap();
    assert_eq!(invitations, 1);
    assert_eq!(app.call_json(&c, "imports/start", json!({"id": id_n, "mapping": preview.suggested, "dry_run": false})).await.status(), 409);

    // The same file again: nothing changes.
    let events_before = timeline_event::Entity::find().count(&app.db).await.unwrap();
    let actor = backend::access::auth::actor_for_user(&app.db, 2).await.unwrap();
    let mapping: Vec<&str> = preview.suggested.iter().map(String::as_str).collect();
    let again = import(&app, &actor, ImportKind::Partners, csv, &mapping, false).await;
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3), "{again:?}");
    assert_eq!(timeline_event::Entity::find().count(&app.db).await.unwrap(), events_before);
    assert_eq!(backend::entities::outbox_email::Entity::find().filter(backend::entities::outbox_email::Column::Kind.eq("invitation")).count(&app.db).await.unwrap(), 1);

    // Links and historical conversions.
    let links = "email,program,destination\nlena@partners.example,Northwind Partner Program,https://shop.northwind.example/tents\nlena@partners.example,Northwind Partner Program,https://evil.example/\n";
    let r = import(&app, &actor, ImportKind::Links, links, &["email", "program", "destination"], false).await;
    assert_eq!((r.created, r.error_count), (1, 1));
    assert_eq!(import(&app, &actor, ImportKind::Links, links, &["email", "program", "destination"], false).await.unchanged, 1);
    let conv = "email,program,order,amount,date\nlena@partners.example,Northwind Partner Program,H-1,100.00,2026-01-05\nlena@partners.example,Northwind Partner Program,H-2,12.345,2026-01-06\n";
    let map = ["email", "program", "external_id", "amount", "occurred_at"];
    let r = import(&app, &actor, ImportKind::Conversions, conv, &map, false).await;
    assert_eq!((r.created, r.error_count), (1, 1), "{r:?}");
    assert_eq!(import(&app, &actor, ImportKind::Conversions, conv, &map, false).await.unchanged, 1);
    let entries = backend::entities::ledger_entry::Entity::find().filter(backend::entities::ledger_entry::Column::PartnerId.eq(lena.id)).all(&app.db).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].amount_minor, 15_00, "Silver earns 15% on 100.00");
    // A bad mapping is refused before anything runs.
    let res = app.call_json(&c, "imports/start", json!({"id": id_n, "mapping": ["email"], "dry_run": true})).await;
    assert!(res.status().is_client_error());
});

on_both!(bulk_actions_change_what_they_may_and_report_each_refusal, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let active = page(&app, &c, json!({"status": "active", "per_page": 5})).await;
    let pending = page(&app, &c, json!({"status": "pending", "per_page": 3})).await;
    let ids: Vec<i64> = active.list.items.iter().chain(&pending.list.items).map(|r| r.enrollment_id).collect();
    let res = bulk(&app, &c, json!({"by": "ids", "ids": ids}), json!({"action": "set_status", "status": "paused", "reason": "seasonal break"})).await;
    assert_eq!(res.status(), 200);
    let r: BulkReport = res.json().await.unwrap();
    assert_eq!((r.selected, r.changed, r.refused.len()), (8, 5, 3));
    assert!(r.refused.iter().all(|(_, why)| why.contains("cannot go from pending to paused")));
    let paused_events = timeline_event::Entity::find()
        .filter(timeline_event::Column::Kind.eq("status_changed"))
        .filter(timeline_event::Column::Summary.contains("seasonal break"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(paused_events, 5);

    // Every enrollment matching a filter, with a note.
    let gold = page(&app, &c, json!({"tier": "Gold"})).await.list.total;
    let r: BulkReport = bulk(&app, &c, json!({"by": "filter", "query": {"tier": "Gold"}}), json!({"action": "add_note", "text": "Gold review call"})).await.json().await.unwrap();
    assert_eq!((r.selected, r.changed), (gold, gold));
    assert_eq!(timeline_event::Entity::find().filter(timeline_event::Column::Summary.eq("Gold review call")).count(&app.db).await.unwrap(), gold);

    // Relationship owners change only their own partners.
    let owner = app.login(OWNER).await;
    let all = page(&app, &owner, json!({"per_page": 10})).await;
    let ids: Vec<i64> = all.list.items.iter().map(|r| r.enrollment_id).collect();
    let r: BulkReport = bulk(&app, &owner, json!({"by": "ids", "ids": ids}), json!({"action": "set_commission", "commission": "18%"})).await.json().await.unwrap();
    let own = all.list.items.iter().filter(|r| r.owner.is_some() && r.owner == all.owners.iter().find(|o| o.id == all.me).map(|o| o.name.clone())).count() as u64;
    assert_eq!(r.changed, own);
    assert_eq!(r.refused.len() as u64, 10 - own);
    assert!(r.refused.iter().all(|(_, why)| why == "not one of your partners"));
    assert_eq!(bulk(&app, &owner, json!({"by": "ids", "ids": [1]}), json!({"action": "set_owner", "owner": null})).await.status(), 403);
    // An unknown tier is refused per row, with nothing half-done.
    let r: BulkReport = bulk(&app, &c, json!({"by": "ids", "ids": [1, 2]}), json!({"action": "set_tier", "tier": "Diamond"})).await.json().await.unwrap();
    assert_eq!((r.changed, r.refused.len()), (0, 2));
});

on_both!(segments_keep_live_counts_and_belong_to_their_account, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let pending_now = page(&app, &c, json!({"status": "pending"})).await.list.total;
    let res = app.call_json(&c, "segments/save", json!({"name": "Pending check", "query": {"status": "pending", "page": 3}})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.call_json(&c, "segments/save", json!({"name": "Pending check", "query": {}})).await.status(), 409);
    let find = |list: Vec<SegmentView>| list.into_iter().find(|s| s.name == "Pending check").unwrap();
    let seg = find(app.call(&c, "segments/list", &[]).await.json().await.unwrap());
    assert_eq!(seg.count, pending_now);
    assert_eq!(seg.query.page, 0, "paging is not part of a segment");
    assert_eq!(seg.description, "pending");
    // Approve one pending partner: the count follows.
    let one = page(&app, &c, json!({"status": "pending", "per_page": 1})).await.list.items.remove(0);
    let res = app.call(&c, "partners/enrollment", &[("partner_id", &one.partner_id.to_string()), ("program_id", &one.program_id.to_string()), ("what", "status"), ("value", "active")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(find(app.call(&c, "segments/list", &[]).await.json().await.unwrap()).count, pending_now - 1);
    assert_eq!(backend::partners::segments::members(&app.db, &backend::access::auth::actor_for_user(&app.db, 2).await.unwrap(), seg.id).await.unwrap().len() as u64, pending_now - 1);
    // Another account sees none of them.
    let other = backend::access::accounts::ensure_account(&app.db, &app.clock, "other", None).await.unwrap();
    backend::access::accounts::create_user(&app.db, &app.clock, other.id, backend::access::accounts::NewUser { email: "o@other.example", name: None, password: server::demo::DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None }).await.unwrap();
    let outsider = app.login("o@other.example").await;
    let theirs: Vec<SegmentView> = app.call(&outsider, "segments/list", &[]).await.json().await.unwrap();
    assert!(theirs.is_empty());
    assert_eq!(app.call(&outsider, "segments/delete", &[("id", &seg.id.to_string())]).await.status(), 404);
    assert_eq!(app.call(&outsider, "partners/note", &[("id", "1"), ("text", "hi")]).await.status(), 404);
    assert_eq!(page(&app, &outsider, json!({})).await.list.total, 0);
});

on_both!(exports_neutralise_formulas_and_notes_reach_the_timeline, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let res = app.call_json(&c, "partners/update", json!({"id": 1, "fields": {"company": "=HYPERLINK(\"http://x\")"}})).await;
    assert_eq!(res.status(), 200);
    let csv = c.get(app.url("/directory/export.csv?q=thompson")).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    assert!(body.starts_with("partner_id,name,email,company"));
    assert!(body.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{body}");
    assert!(body.ends_with("\r\n"));

    assert_eq!(app.call(&c, "partners/note", &[("id", "1"), ("text", "  ")]).await.status(), 422);
    assert_eq!(app.call(&c, "partners/note", &[("id", "1"), ("text", "+1 called about Q3")]).await.status(), 200);
    let t: models::TimelinePage = app.call(&c, "partners/timeline", &[("id", "1"), ("q", "q3"), ("page", "1")]).await.json().await.unwrap();
    assert_eq!(t.list.total, 1);
    assert_eq!(t.list.items[0].kind, "note");
    let t: models::TimelinePage = app.call(&c, "partners/timeline", &[("id", "1"), ("kind", "profile_updated"), ("page", "1")]).await.json().await.unwrap();
    assert_eq!(t.list.total, 1);
    let timeline = c.get(app.url("/partners/1/timeline.csv")).send().await.unwrap().text().await.unwrap();
    assert!(timeline.contains(",note,") && timeline.contains("'+1 called about Q3"), "{timeline}");
    let visitor = app.client();
    assert_eq!(visitor.get(app.url("/directory/export.csv")).send().await.unwrap().status(), 401);
});

on_both!(the_partner_rest_routes_create_list_read_patch_and_isolate_accounts, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let key = api_key(&app, 1).await;
    let http = reqwest::Client::new();
    let post = |body: Value| http.post(app.url("/api/v1/partners")).bearer_auth(&key).json(&body).send();
    let res = post(json!({"email": "Maya@Partners.example", "name": "Maya Ito", "source": "Podcast", "program_id": 1, "status": "active"})).await.unwrap();
    assert_eq!(res.status(), 201);
    let maya: Value = res.json().await.unwrap();
    let id = maya["id"].as_i64().unwrap();
    assert_eq!(maya["email"], "maya@partners.example");
    assert_eq!(maya["enrollments"][0]["commission"]["percent"], "10");
    assert_eq!(post(json!({"email": "maya@partners.example", "name": "Again"})).await.unwrap().status(), 409);
    assert_eq!(post(json!({"email": "not-an-email", "name": "X"})).await.unwrap().status(), 422);

    let list: Value = http.get(app.url("/api/v1/partners?source=Podcast&status=active&per_page=200")).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert!(list["items"].as_array().unwrap().iter().any(|r| r["partner_id"] == id));
    assert!(list["counts"]["active"].as_u64().unwrap() >= 1);
    assert_eq!(http.get(app.url("/api/v1/partners?per_page=500")).bearer_auth(&key).send().await.unwrap().status(), 422);

    let patch = |body: Value| http.patch(app.url(&format!("/api/v1/partners/{id}"))).bearer_auth(&key).json(&body).send();
    let res = patch(json!({"company": "Ito Studio", "program_id": 1, "status": "paused", "reason": "on leave"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!((after["company"].as_str(), after["enrollments"][0]["status"].as_str()), (Some("Ito Studio"), Some("paused")));
    let res = patch(json!({"company": "Half Applied", "program_id": 1, "status": "rejected"})).await.unwrap();
    assert_eq!(res.status(), 422);
    let unchanged: Value = http.get(app.url(&format!("/api/v1/partners/{id}"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(unchanged["company"], "Ito Studio", "a refused transition leaves the field edit of the same PATCH unapplied");
    assert_eq!(patch(json!({"program_id": 1, "tier": "Gold"})).await.unwrap().status(), 200);
    assert_eq!(patch(json!({"status": "active"})).await.unwrap().status(), 422, "a status change names its program");

    let t: Value = http.get(app.url(&format!("/api/v1/partners/{id}/timeline?per_page=2"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(t["items"].as_array().unwrap().len(), 2);
    assert!(t["total"].as_u64().unwrap() >= 5);
    assert_eq!(t["items"][0]["kind"], "tier_changed");
    assert_eq!(t["items"][0]["actor"], "api");
    let only: Value = http.get(app.url(&format!("/api/v1/partners/{id}/timeline?kind=status_changed"))).bearer_auth(&key).send().await.unwrap().json().await.unwrap();
    assert_eq!(only["total"], 1);
    assert!(only["items"][0]["summary"].as_str().unwrap().contains("on leave"));

    // Another account's key sees none of it.
    let other = backend::access::accounts::ensure_account(&app.db, &app.clock, "other", None).await.unwrap();
    let other_key = api_key(&app, other.id).await;
    for url in [format!("/api/v1/partners/{id}"), format!("/api/v1/partners/{id}/timeline")] {
        assert_eq!(http.get(app.url(&url)).bearer_auth(&other_key).send().await.unwrap().status(), 404, "{url}");
    }
    assert_eq!(http.patch(app.url(&format!("/api/v1/partners/{id}"))).bearer_auth(&other_key).json(&json!({"name": "Stolen"})).send().await.unwrap().status(), 404);
    let theirs: Value = http.get(app.url("/api/v1/partners")).bearer_auth(&other_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["total"], 0);
    assert_eq!(http.get(app.url("/api/v1/partners")).send().await.unwrap().status(), 401);
    let doc: Value = http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/partners/{id}/timeline"]["get"].is_object());
});

on_both!(the_partner_stats_job_sums_the_last_90_days_of_rollups, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let now = app.clock.now();
    backend::tracking::partner_stats::refresh(&app.db, now).await.unwrap();
    let from = (now.date_naive() - chrono::Duration::days(89)).format("%Y-%m-%d").to_string();
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT e.id AS id, e.revenue_90d_minor AS stored, e.conversions_90d AS conv, \
                 CAST(COALESCE((SELECT SUM(r.revenue_minor) FROM daily_rollups r WHERE r.enrollment_id = e.id AND r.day >= '{from}'), 0) AS BIGINT) AS expected, \
                 CAST(COALESCE((SELECT SUM(r.conversions) FROM daily_rollups r WHERE r.enrollment_id = e.id AND r.day >= '{from}'), 0) AS BIGINT) AS expected_conv \
                 FROM enrollments e"
            ),
        ))
        .await
        .unwrap();
    let mut with_revenue = 0;
    for r in rows {
        let stored: i64 = r.try_get("", "stored").unwrap();
        let expected: i64 = r.try_get("", "expected").unwrap();
        assert_eq!(stored, expected);
        assert_eq!(i64::from(r.try_get::<i32>("", "conv").unwrap()), r.try_get::<i64>("", "expected_conv").unwrap());
        with_revenue += i32::from(stored > 0);
    }
    assert!(with_revenue > 20, "the demo has active partners with revenue");
    let last = enrollment::Entity::find().filter(enrollment::Column::LastConversionAt.is_not_null()).count(&app.db).await.unwrap();
    assert!(last as i32 >= with_revenue);
});

on_both!(an_import_interrupted_by_a_stopped_server_reports_failure_and_can_be_started_again, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let actor = backend::access::auth::actor_for_user(&app.db, 2).await.unwrap();
    let csv = "email,name\nkim@partners.example,Kim\n";
    let preview = backend::tracking::imports::upload(&app.db, app.clock.now(), &actor, ImportKind::Partners, "k.csv", csv).await.unwrap();
    let now = app.clock.now();
    // What a server that stopped mid-import leaves behind: `running`, last touched 11 minutes ago.
    use sea_orm::{ActiveModelTrait, Set};
    let imp = backend::entities::import::Entity::find_by_id(preview.id).one(&app.db).await.unwrap().unwrap();
    let mut a: backend::entities::import::ActiveModel = imp.into();
    a.status = Set("running".into());
    a.updated_at = Set(now - chrono::TimeDelta::minutes(5));
    a.update(&app.db).await.unwrap();
    let mapping = vec!["email".to_string(), "name".to_string()];
    // Five minutes quiet: still counts as running.
    assert_eq!(backend::tracking::imports::progress(&app.db, now, &actor, preview.id).await.unwrap().status, "running");
    assert!(matches!(backend::tracking::imports::start(&app.db, &app.clock, &actor, preview.id, &mapping, false).await, Err(backend::Error::Conflict(_))));
    let later = now + chrono::TimeDelta::minutes(6);
    let p = backend::tracking::imports::progress(&app.db, later, &actor, preview.id).await.unwrap();
    assert_eq!(p.status, "failed");
    assert!(p.report.unwrap().errors[0].message.contains("interrupted"));
    // Started again, it runs to the end.
    let clock = backend::Clock::fixed(later);
    backend::tracking::imports::start(&app.db, &clock, &actor, preview.id, &mapping, false).await.unwrap();
    let mut status = String::new();
    for _ in 0..100 {
        status = backend::tracking::imports::progress(&app.db, later, &actor, preview.id).await.unwrap().status;
        if status == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "done");
    assert_eq!(partner::Entity::find().filter(partner::Column::Email.eq("kim@partners.example")).count(&app.db).await.unwrap(), 1);
});

on_both!(the_profile_shows_how_each_health_score_is_made, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    backend::partners::health::refresh(&app.db, app.clock.now()).await.unwrap();
    let row = backend::entities::health_score::Entity::find().one(&app.db).await.unwrap().expect("the daily job scored enrollments");
    let e = enrollment::Entity::find_by_id(row.enrollment_id).one(&app.db).await.unwrap().unwrap();
    let c = app.login(MANAGER).await;
    let profile: PartnerProfile = app.call(&c, "partners/profile", &[("id", &e.partner_id.to_string())]).await.json().await.unwrap();
    let shown = profile.enrollments.iter().find(|x| x.id == e.id).unwrap();
    let stored: Vec<models::HealthPart> = serde_json::from_str(&row.parts).unwrap();
    assert_eq!(shown.health_parts, stored);
    assert_eq!(shown.health_parts.len(), 5);
    assert_eq!(shown.health_day.as_deref(), Some(row.day.to_string().as_str()));
    // The contributions add up to the score (each is rounded to one decimal).
    let sum: f64 = shown.health_parts.iter().filter_map(|p| p.contribution.parse::<f64>().ok()).sum();
    assert!((sum - row.score as f64).abs() <= 1.0, "{sum} vs {}", row.score);
    // And the page renders them.
    let html = c.get(app.url(&format!("/partners/{}", e.partner_id))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Health in ") && html.contains(&stored[0].label), "health breakdown on the page");
});

on_both!(the_sidebar_offers_only_what_the_role_may_open, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let html = |c: reqwest::Client| {
        let url = app.url("/directory");
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let analyst = html(app.login(ANALYST).await).await;
    assert!(analyst.contains(r#"href="/directory""#) && !analyst.contains(r#"href="/finance""#));
    let finance = html(app.login("finance@demo.trellis.dev").await).await;
    assert!(finance.contains(r#"href="/finance""#));
    let admin = html(app.login("admin@demo.trellis.dev").await).await;
    assert!(admin.contains(r#"href="/finance""#));
});

// An import file with a NUL (PostgreSQL text cannot hold it) is refused as a whole, naming its
// line, before anything is stored; on both engines.
on_both!(an_import_file_with_a_nul_is_refused_naming_its_line, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let imports_before = backend::entities::import::Entity::find().count(&app.db).await.unwrap();
    let csv = "Email,Full name\nlena@partners.example,Lena Park\nomar@partners.example,Omar\u{0}Haddad\n";
    let form = reqwest::multipart::Form::new().text("kind", "partners").part("file", reqwest::multipart::Part::text(csv).file_name("partners.csv"));
    let res = c.post(app.url("/directory/import")).multipart(form).header("origin", app.base.clone()).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/directory/import?error=") && location.contains("line%203"), "{location}");
    assert_eq!(backend::entities::import::Entity::find().count(&app.db).await.unwrap(), imports_before, "nothing stored");
});
