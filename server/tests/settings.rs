//! Account settings over real HTTP, on SQLite and PostgreSQL: invitations, roles, deactivation,
//! the last admin, password resets, programs, API keys, the audit log, one's own profile, and
//! another account trying all of it.

mod common;

use server::demo::DEMO_PASSWORD;
use backend::entities::{audit_entry, outbox_email, session, user};
use common::{sample_program_form, Backend, TestApp};
use models::{ApiKeyRow, AuditPage, CreatedKey, IssuedLink, MemberRow, Profile, ProgramsPage, SessionInfo};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

const ADMIN: &str = "admin@demo.trellis.dev";
const MANAGER: &str = "manager@demo.trellis.dev";
const ANALYST: &str = "analyst@demo.trellis.dev";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    user::Entity::find().filter(user::Column::Email.eq(email)).one(&app.db).await.unwrap().expect("user exists").id
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    audit_entry::Entity::find().order_by_asc(audit_entry::Column::Id).all(&app.db).await.unwrap().into_iter().map(|e| e.kind).collect()
}

async fn post_json(app: &TestApp, c: &reqwest::Client, endpoint: &str, body: Value) -> reqwest::Response {
    c.post(app.url(&format!("/api/{endpoint}"))).json(&body).send().await.unwrap()
}

async fn invite(app: &TestApp, admin: &reqwest::Client, email: &str, roles: &[&str]) -> IssuedLink {
    let res = post_json(app, admin, "settings/invite", json!({"email": email, "name": "", "roles": roles})).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

fn form(overrides: Value) -> Value {
    let mut f = sample_program_form();
    for (k, v) in overrides.as_object().unwrap() {
        f[k] = v.clone();
    }
    f
}

on_both!(an_invited_member_accepts_with_a_password_and_is_signed_in_with_the_roles_given, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let link = invite(&app, &admin, "Nia@Example.com", &["analytics_viewer", "finance_approver"]).await;
    assert!(link.url.starts_with(&app.base) && link.url.contains("/invite/"), "{}", link.url);
    // The link is in the outbox too, and only its hash is stored.
    let mail = outbox_email::Entity::find().filter(outbox_email::Column::Kind.eq("team_invitation")).one(&app.db).await.unwrap().unwrap();
    assert_eq!(mail.to_email, "nia@example.com");
    assert!(mail.body_text.contains(&link.url));
    let token = token_of(&link.url);
    let stored = backend::entities::user_token::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_ne!(stored.token_hash, token);
    let team: Vec<MemberRow> = app.call(&admin, "settings/team", &[]).await.json().await.unwrap();
    let nia = team.iter().find(|m| m.email == "nia@example.com").unwrap();
    assert_eq!(nia.status, "invited");
    // Not yet accepted: cannot sign in.
    let res = app.call(&app.client(), "login", &[("email", "nia@example.com"), ("password", "")]).await;
    assert_eq!(res.status(), 401);

    let visitor = app.client();
    let info: models::TokenInfo = app.call(&visitor, "public/token", &[("token", &token)]).await.json().await.unwrap();
    assert_eq!((info.kind.as_str(), info.email.as_str(), info.account_name.as_str()), ("invite", "nia@example.com", "Northwind Outfitters"));
    let short = app.call(&visitor, "public/set_password", &[("token", &token), ("name", "Nia"), ("password", "short")]).await;
    assert_eq!(short.status(), 422);
    let res = app.call(&visitor, "public/set_password", &[("token", &token), ("name", "Nia Okafor"), ("password", "a good password")]).await;
    assert_eq!(res.status(), 200);
    let me: SessionInfo = app.call(&visitor, "me", &[]).await.json().await.unwrap();
    assert_eq!(me.name, "Nia Okafor");
    assert_eq!(me.roles, vec![models::Role::AnalyticsViewer, models::Role::FinanceApprover]);
    assert_eq!(app.call(&visitor, "finance/queue", &[]).await.status(), 200, "the finance role works");
    assert_eq!(app.call(&visitor, "settings/team", &[]).await.status(), 403, "but no admin rights");
    // The link works once.
    let again = app.call(&app.client(), "public/set_password", &[("token", &token), ("name", "X"), ("password", "another password")]).await;
    assert_eq!(again.status(), 404);
    app.login_with("nia@example.com", "a good password").await;
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"member_invited".to_string()) && kinds.contains(&"member_joined".to_string()), "{kinds:?}");
    // Inviting an existing member is a conflict.
    let res = post_json(&app, &admin, "settings/invite", json!({"email": MANAGER, "name": "", "roles": ["admin"]})).await;
    assert_eq!(res.status(), 409);
    let res = post_json(&app, &admin, "settings/invite", json!({"email": "x@example.com", "name": "", "roles": []})).await;
    assert_eq!(res.status(), 422, "at least one role");
});

on_both!(an_expired_invitation_is_refused, |b: Backend| async move {
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let link = invite(&app, &admin, "late@example.com", &["analytics_viewer"]).await;
    let t = backend::entities::user_token::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut a: backend::entities::user_token::ActiveModel = t.into();
    a.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    a.update(&app.db).await.unwrap();
    let res = app.call(&app.client(), "public/set_password", &[("token", &token_of(&link.url)), ("name", ""), ("password", "a good password")]).await;
    assert_eq!(res.status(), 404);
});

on_both!(a_role_change_takes_effect_on_the_members_next_request, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let analyst = app.login(ANALYST).await;
    assert_eq!(app.call(&analyst, "finance/queue", &[]).await.status(), 403);
    let id = user_id(&app, ANALYST).await;
    let res = post_json(&app, &admin, "settings/set_roles", json!({"user_id": id, "roles": ["finance_approver", "analytics_viewer"]})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.call(&analyst, "finance/queue", &[]).await.status(), 200, "same session, new rights");
    let res = post_json(&app, &admin, "settings/set_roles", json!({"user_id": id, "roles": ["analytics_viewer"]})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.call(&analyst, "finance/queue", &[]).await.status(), 403, "and rights taken away at once");
    let e = audit_entry::Entity::find().filter(audit_entry::Column::Kind.eq("member_roles_changed")).order_by_asc(audit_entry::Column::Id).all(&app.db).await.unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].before.as_deref(), e[0].after.as_deref()), (Some("analytics_viewer"), Some("analytics_viewer,finance_approver")));
    assert!(e[0].actor.contains(ADMIN) && e[0].subject.contains(ANALYST));
    let res = post_json(&app, &admin, "settings/set_roles", json!({"user_id": id, "roles": ["owner"]})).await;
    assert!(!res.status().is_success(), "an unknown role does not even deserialise");
    assert_eq!(user::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap().roles, "analytics_viewer");
});

on_both!(deactivating_a_member_ends_their_sessions_at_once, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let manager = app.login(MANAGER).await;
    let manager2 = app.login(MANAGER).await;
    let id = user_id(&app, MANAGER).await;
    assert_eq!(app.call_json(&manager, "directory", serde_json::json!({"query": {}})).await.status(), 200);
    assert_eq!(app.call(&admin, "settings/deactivate", &[("user_id", &id.to_string())]).await.status(), 200);
    assert_eq!(app.call_json(&manager, "directory", serde_json::json!({"query": {}})).await.status(), 401);
    assert_eq!(app.call(&manager2, "me", &[]).await.status(), 401);
    assert_eq!(session::Entity::find().filter(session::Column::UserId.eq(id)).count(&app.db).await.unwrap(), 0);
    let res = app.call(&app.client(), "login", &[("email", MANAGER), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(res.status(), 401, "a deactivated member cannot sign in");
    let team: Vec<MemberRow> = app.call(&admin, "settings/team", &[]).await.json().await.unwrap();
    assert_eq!(team.iter().find(|m| m.id == id).unwrap().status, "deactivated");
    assert_eq!(app.call(&admin, "settings/reactivate", &[("user_id", &id.to_string())]).await.status(), 200);
    app.login(MANAGER).await;
    let admin_id = user_id(&app, ADMIN).await;
    assert_eq!(app.call(&admin, "settings/deactivate", &[("user_id", &admin_id.to_string())]).await.status(), 409, "nobody deactivates themselves");
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"member_deactivated".to_string()) && kinds.contains(&"member_reactivated".to_string()));
});

on_both!(the_last_admin_can_neither_drop_the_role_nor_be_deactivated, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let admin_id = user_id(&app, ADMIN).await;
    let manager_id = user_id(&app, MANAGER).await;
    let res = post_json(&app, &admin, "settings/set_roles", json!({"user_id": admin_id, "roles": ["program_manager"]})).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("at least one active admin"));
    // With a second admin, the first may step down; the second is then the last.
    let res = post_json(&app, &admin, "settings/set_roles", json!({"user_id": manager_id, "roles": ["admin", "program_manager"]})).await;
    assert_eq!(res.status(), 200);
    let res = post_json(&app, &admin, "settings/set_roles", json!({"user_id": admin_id, "roles": ["analytics_viewer"]})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.call(&admin, "settings/team", &[]).await.status(), 403, "no longer an admin");
    let manager = app.login(MANAGER).await;
    let res = post_json(&app, &manager, "settings/set_roles", json!({"user_id": manager_id, "roles": ["program_manager"]})).await;
    assert_eq!(res.status(), 409);
    // A deactivated admin does not count.
    let res = post_json(&app, &manager, "settings/set_roles", json!({"user_id": admin_id, "roles": ["admin"]})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.call(&manager, "settings/deactivate", &[("user_id", &admin_id.to_string())]).await.status(), 200);
    let res = post_json(&app, &manager, "settings/set_roles", json!({"user_id": manager_id, "roles": ["program_manager"]})).await;
    assert_eq!(res.status(), 409);
    let admins = user::Entity::find().filter(user::Column::Active.eq(true)).all(&app.db).await.unwrap()
        .into_iter().filter(|u| u.roles.split(',').any(|r| r == "admin")).count();
    assert_eq!(admins, 1);
});

on_both!(a_password_reset_link_sets_a_new_password_and_ends_old_sessions, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let analyst = app.login(ANALYST).await;
    let id = user_id(&app, ANALYST).await;
    let res = app.call(&admin, "settings/reset_password", &[("user_id", &id.to_string())]).await;
    assert_eq!(res.status(), 200);
    let link: IssuedLink = res.json().await.unwrap();
    let mail = outbox_email::Entity::find().filter(outbox_email::Column::Kind.eq("password_reset")).one(&app.db).await.unwrap().unwrap();
    assert!(mail.body_text.contains(&link.url));
    assert_eq!(app.call(&analyst, "me", &[]).await.status(), 200, "the old password and sessions still work until the link is used");
    let visitor = app.client();
    let res = app.call(&visitor, "public/set_password", &[("token", &token_of(&link.url)), ("name", ""), ("password", "fresh password")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.call(&analyst, "me", &[]).await.status(), 401);
    app.login_with(ANALYST, "fresh password").await;
    let res = app.call(&app.client(), "login", &[("email", ANALYST), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(res.status(), 401);
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"member_password_reset".to_string()) && kinds.contains(&"password_reset".to_string()));
});

on_both!(programs_are_validated_and_managers_edit_only_the_programs_they_manage, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let create = |f: Value| {
        let admin = admin.clone();
        let app = &app;
        async move { post_json(app, &admin, "settings/create_program", json!({"form": f})).await }
    };
    for (bad, field) in [
        (json!({"currency": "usd1"}), "currency"),
        (json!({"currency": "XYZ"}), "currency"),
        (json!({"website": "ftp://shop.example"}), "website"),
        (json!({"allowed_domains": "good.example, bad_host!"}), "allowed_domains"),
        (json!({"cookie_days": "0"}), "cookie_days"),
        (json!({"cookie_days": "366"}), "cookie_days"),
        (json!({"hold_days": "-1"}), "hold_days"),
        (json!({"dormant_days": "0"}), "dormant_days"),
        (json!({"commission_value": "101"}), "default_commission"),
        (json!({"brand_color": "red"}), "brand_color"),
        (json!({"logo_url": "javascript:alert(1)"}), "logo_url"),
        (json!({"sender_email": "not an email"}), "sender_email"),
        (json!({"name": " "}), "name"),
    ] {
        let res = create(form(bad.clone())).await;
        assert_eq!(res.status(), 422, "{bad}");
        assert!(res.text().await.unwrap().contains(field), "{bad} names {field}");
    }
    let programs_before = backend::entities::program::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(programs_before, 1, "nothing stored by refused forms");

    let res = create(form(json!({"name": "Creators", "currency": "eur", "website": "https://creators.example", "allowed_domains": "shop.creators.example",
        "hold_days": "14", "auto_approve": true, "brand_color": "#AA3366", "logo_url": "https://creators.example/logo.svg",
        "sender_name": "Creators Team", "sender_email": "team@creators.example", "dormant_days": "60"}))).await;
    assert_eq!(res.status(), 200);
    let id: i64 = res.json().await.unwrap();
    let p = backend::entities::program::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert_eq!((p.currency.as_str(), p.hold_days, p.auto_approve, p.brand_color.as_str(), p.dormant_days), ("EUR", 14, true, "#aa3366", 60));
    assert_eq!(p.logo_url.as_deref(), Some("https://creators.example/logo.svg"));
    assert_eq!(backend::programs::tiers(&app.db, id).await.unwrap().len(), 1, "one Standard tier");

    // The demo manager manages the demo program, not this one.
    let manager = app.login(MANAGER).await;
    let page: ProgramsPage = app.call(&manager, "settings/programs", &[]).await.json().await.unwrap();
    assert!(!page.is_admin);
    assert_eq!(page.programs.iter().map(|p| (p.id, p.editable)).collect::<Vec<_>>(), vec![(1, true), (id, false)]);
    let mut edit = page.programs[1].form.clone();
    edit.hold_days = "7".into();
    let res = post_json(&app, &manager, "settings/update_program", json!({"program_id": id, "form": edit})).await;
    assert_eq!(res.status(), 403);
    let manager_id = user_id(&app, MANAGER).await;
    let mut assign = edit.clone();
    assign.managers = vec![manager_id];
    assign.hold_days = "14".into();
    let res = post_json(&app, &admin, "settings/update_program", json!({"program_id": id, "form": assign})).await;
    assert_eq!(res.status(), 200);
    let mut unassign = edit_json(&edit);
    unassign.insert("managers".into(), json!([]));
    let res = post_json(&app, &manager, "settings/update_program", json!({"program_id": id, "form": unassign})).await;
    assert_eq!(res.status(), 200, "now they manage it");
    assert_eq!(backend::programs::settings::managers_of(&app.db, id).await.unwrap(), vec![manager_id], "a manager cannot unassign anyone");
    let mut wrong = edit.clone();
    wrong.currency = "USD".into();
    let res = post_json(&app, &manager, "settings/update_program", json!({"program_id": id, "form": wrong})).await;
    assert_eq!(res.status(), 422, "the currency is fixed");
    let analyst_id = user_id(&app, ANALYST).await;
    let mut bad_manager = edit.clone();
    bad_manager.managers = vec![analyst_id];
    let res = post_json(&app, &admin, "settings/update_program", json!({"program_id": id, "form": bad_manager})).await;
    assert_eq!(res.status(), 422, "only program managers manage programs");

    let e = audit_entry::Entity::find().filter(audit_entry::Column::Kind.eq("program_updated")).order_by_asc(audit_entry::Column::Id).all(&app.db).await.unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].before.as_deref(), Some(r#"{"hold_days":"14"}"#));
    assert_eq!(e[1].after.as_deref(), Some(r#"{"hold_days":"7"}"#));
    assert!(audit_kinds(&app).await.contains(&"program_created".to_string()));
});

fn edit_json(f: &models::ProgramForm) -> serde_json::Map<String, Value> {
    serde_json::to_value(f).unwrap().as_object().unwrap().clone()
}

on_both!(an_archived_program_takes_no_new_conversions_or_links_but_keeps_its_data, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let post = |external: &'static str| {
        let key = key.clone();
        let app = &app;
        async move {
            app.client().post(app.url("/api/v1/conversions")).bearer_auth(key)
                .json(&json!({"program_id": 1, "external_id": external, "amount": "10.00", "partner_id": 1})).send().await.unwrap()
        }
    };
    assert_eq!(post("before").await.status(), 201);
    let manager = app.login(MANAGER).await;
    assert_eq!(app.call(&manager, "settings/archive_program", &[("program_id", "1"), ("archived", "true")]).await.status(), 403);
    assert_eq!(app.call(&admin, "settings/archive_program", &[("program_id", "1"), ("archived", "true")]).await.status(), 200);
    let res = post("after").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("archived"));
    assert_eq!(post("before").await.status(), 200, "a replay still answers");
    let res = app.client().post(app.url("/api/v1/links")).bearer_auth(&key).json(&json!({"partner_id": 1, "program_id": 1})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(backend::entities::conversion::Entity::find().count(&app.db).await.unwrap(), 1);
    let page: ProgramsPage = app.call(&admin, "settings/programs", &[]).await.json().await.unwrap();
    assert!(page.programs[0].archived.is_some());
    assert_eq!(app.call(&admin, "settings/archive_program", &[("program_id", "1"), ("archived", "false")]).await.status(), 200);
    assert_eq!(post("after").await.status(), 201);
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"program_archived".to_string()) && kinds.contains(&"program_restored".to_string()));
});

on_both!(api_keys_are_stored_hashed_shown_once_and_refused_after_revocation, |b: Backend| async move {
    use sha2::{Digest, Sha256};
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    assert_eq!(app.call(&admin, "settings/create_key", &[("name", " ")]).await.status(), 422);
    let res = app.call(&admin, "settings/create_key", &[("name", "Shop backend")]).await;
    assert_eq!(res.status(), 200);
    let key: CreatedKey = res.json().await.unwrap();
    assert!(key.secret.starts_with("trl_"));
    let row = backend::entities::api_key::Entity::find_by_id(key.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.key_hash, hex::encode(Sha256::digest(key.secret.as_bytes())));
    assert!(!format!("{row:?}").contains(&key.secret[8..]), "the secret is stored nowhere");
    let list = app.call(&admin, "settings/keys", &[]).await.text().await.unwrap();
    assert!(!list.contains(&key.secret) && list.contains("Shop backend"));
    let rest = |k: String| {
        let app = &app;
        async move { app.client().get(app.url("/api/v1/commissions")).bearer_auth(k).send().await.unwrap().status() }
    };
    assert_eq!(rest(key.secret.clone()).await, 200);
    let keys: Vec<ApiKeyRow> = app.call(&admin, "settings/keys", &[]).await.json().await.unwrap();
    assert!(keys[0].last_used.is_some(), "last used is recorded");
    assert_eq!(app.call(&admin, "settings/revoke_key", &[("id", &key.id.to_string())]).await.status(), 200);
    assert_eq!(rest(key.secret.clone()).await, 401);
    let keys: Vec<ApiKeyRow> = app.call(&admin, "settings/keys", &[]).await.json().await.unwrap();
    assert!(keys[0].revoked.is_some());
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"api_key_created".to_string()) && kinds.contains(&"api_key_revoked".to_string()));
});

on_both!(members_change_their_own_name_email_and_password, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let analyst = app.login(ANALYST).await;
    let other_session = app.login(ANALYST).await;
    assert_eq!(app.call(&analyst, "profile/rename", &[("name", "Ana Lyst")]).await.status(), 200);
    let p: Profile = app.call(&analyst, "profile/get", &[]).await.json().await.unwrap();
    assert_eq!(p.name, "Ana Lyst");

    let wrong = app.call(&analyst, "profile/change_password", &[("current_password", "wrong"), ("new_password", "brand new pass")]).await;
    assert_eq!(wrong.status(), 422);
    let res = app.call(&analyst, "profile/change_password", &[("current_password", DEMO_PASSWORD), ("new_password", "brand new pass")]).await;
    assert_eq!(res.status(), 200);
    let ended: u64 = res.json().await.unwrap();
    assert_eq!(ended, 1);
    assert_eq!(app.call(&analyst, "me", &[]).await.status(), 200, "this session stays");
    assert_eq!(app.call(&other_session, "me", &[]).await.status(), 401, "the other one ends");

    let res = app.call(&analyst, "profile/change_email", &[("email", "ana@new.example"), ("current_password", DEMO_PASSWORD)]).await;
    assert_eq!(res.status(), 422, "the current password is required");
    let res = app.call(&analyst, "profile/change_email", &[("email", MANAGER), ("current_password", "brand new pass")]).await;
    assert_eq!(res.status(), 409);
    let res = app.call(&analyst, "profile/change_email", &[("email", "ana@new.example"), ("current_password", "brand new pass")]).await;
    assert_eq!(res.status(), 200);
    let p: Profile = app.call(&analyst, "profile/get", &[]).await.json().await.unwrap();
    assert_eq!((p.email.as_str(), p.pending_email.as_deref()), (ANALYST, Some("ana@new.example")), "not changed before confirmation");
    let mail = outbox_email::Entity::find().filter(outbox_email::Column::Kind.eq("email_change")).one(&app.db).await.unwrap().unwrap();
    assert_eq!(mail.to_email, "ana@new.example");
    let url = mail.body_text.lines().find(|l| l.contains("/verify-email/")).unwrap().trim().to_string();
    let res = app.call(&app.client(), "public/confirm_email", &[("token", &token_of(&url))]).await;
    assert_eq!(res.status(), 200);
    app.login_with("ana@new.example", "brand new pass").await;
    let res = app.call(&app.client(), "public/confirm_email", &[("token", &token_of(&url))]).await;
    assert_eq!(res.status(), 404, "used once");
    let kinds = audit_kinds(&app).await;
    for k in ["profile_name_changed", "password_changed", "email_change_requested", "email_changed"] {
        assert!(kinds.contains(&k.to_string()), "{k} in {kinds:?}");
    }
});

on_both!(another_accounts_admin_reaches_nothing_of_this_account, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let key: CreatedKey = app.call(&admin, "settings/create_key", &[("name", "demo key")]).await.json().await.unwrap();
    let other = backend::access::accounts::ensure_account(&app.db, &app.clock, "other", Some("Other Co")).await.unwrap();
    backend::access::accounts::create_user(&app.db, &app.clock, other.id, backend::access::accounts::NewUser {
        email: "admin@other.example", name: None, password: DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None,
    }).await.unwrap();
    let outsider = app.login("admin@other.example").await;
    let before = audit_kinds(&app).await;
    let manager_id = user_id(&app, MANAGER).await.to_string();
    for (endpoint, args) in [
        ("settings/deactivate", vec![("user_id", manager_id.as_str())]),
        ("settings/reactivate", vec![("user_id", manager_id.as_str())]),
        ("settings/reset_password", vec![("user_id", manager_id.as_str())]),
        ("settings/revoke_key", vec![("id", &*key.id.to_string())]),
        ("settings/archive_program", vec![("program_id", "1"), ("archived", "true")]),
    ] {
        assert_eq!(app.call(&outsider, endpoint, &args).await.status(), 404, "{endpoint}");
    }
    let res = post_json(&app, &outsider, "settings/set_roles", json!({"user_id": manager_id.parse::<i64>().unwrap(), "roles": ["admin"]})).await;
    assert_eq!(res.status(), 404);
    let res = post_json(&app, &outsider, "settings/update_program", json!({"program_id": 1, "form": sample_program_form()})).await;
    assert_eq!(res.status(), 404);
    let team: Vec<MemberRow> = app.call(&outsider, "settings/team", &[]).await.json().await.unwrap();
    assert_eq!(team.iter().map(|m| m.email.as_str()).collect::<Vec<_>>(), vec!["admin@other.example"]);
    let keys: Vec<ApiKeyRow> = app.call(&outsider, "settings/keys", &[]).await.json().await.unwrap();
    assert!(keys.is_empty());
    let programs: ProgramsPage = app.call(&outsider, "settings/programs", &[]).await.json().await.unwrap();
    assert!(programs.programs.is_empty());
    let audit: AuditPage = post_json(&app, &outsider, "settings/audit", json!({"query": {"q": null, "actor": null, "kind": null, "from": null, "to": null, "page": 1}})).await.json().await.unwrap();
    assert_eq!(audit.list.total, 0, "none of this account's audit log");
    let csv = outsider.get(app.url("/settings/audit.csv")).send().await.unwrap().text().await.unwrap();
    assert_eq!(csv.lines().count(), 1, "header only");
    assert_eq!(audit_kinds(&app).await, before, "nothing changed");
    // Jobs run over every account: another account's admin sees no runs and starts none.
    backend::jobs::run_once(&app.db, Some("tier_evaluation"), app.clock.now(), "test").await.unwrap();
    let (jobs, runs): (Vec<models::JobStatus>, Vec<models::JobRunView>) = app.call(&outsider, "settings/jobs", &[]).await.json().await.unwrap();
    assert!(jobs.is_empty() && runs.is_empty(), "no job runs, errors or runners of the instance");
    assert_eq!(app.call(&outsider, "settings/run_job", &[("name", "tier_evaluation")]).await.status(), 403);
    let (jobs, runs): (Vec<models::JobStatus>, Vec<models::JobRunView>) = app.call(&admin, "settings/jobs", &[]).await.json().await.unwrap();
    assert!(!jobs.is_empty() && !runs.is_empty(), "the installation's own admin operates the jobs");
    let (u, k) = (user::Entity::find_by_id(manager_id.parse::<i64>().unwrap()).one(&app.db).await.unwrap().unwrap(),
        backend::entities::api_key::Entity::find_by_id(key.id).one(&app.db).await.unwrap().unwrap());
    assert!(u.active && u.roles == "program_manager" && k.revoked_at.is_none());
});

on_both!(the_audit_log_filters_searches_pages_and_exports_safe_csv, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    invite(&app, &admin, "formula@example.com", &["analytics_viewer"]).await;
    let res = post_json(&app, &admin, "settings/invite", json!({"email": "eq@example.com", "name": "=HYPERLINK(\"x\")", "roles": ["analytics_viewer"]})).await;
    assert_eq!(res.status(), 200);
    app.call(&admin, "settings/create_key", &[("name", "k1")]).await;
    let query = |q: Value| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let mut base = json!({"q": null, "actor": null, "kind": null, "from": null, "to": null, "page": 1});
            for (k, v) in q.as_object().unwrap() {
                base[k] = v.clone();
            }
            let res = post_json(app, &admin, "settings/audit", json!({"query": base})).await;
            assert_eq!(res.status(), 200);
            res.json::<AuditPage>().await.unwrap()
        }
    };
    let all = query(json!({})).await;
    assert_eq!(all.list.total, 3);
    assert_eq!(all.list.items[0].kind, "api_key_created", "newest first");
    assert!(all.kinds.contains(&"member_invited".to_string()));
    assert_eq!(all.actors.len(), 1);
    assert_eq!(query(json!({"kind": "member_invited"})).await.list.total, 2);
    assert_eq!(query(json!({"actor": all.actors[0]})).await.list.total, 3);
    assert_eq!(query(json!({"actor": "someone else"})).await.list.total, 0);
    assert_eq!(query(json!({"q": "FORMULA@"})).await.list.total, 1);
    assert_eq!(query(json!({"q": "%"})).await.list.total, 0, "wildcards are literal");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(query(json!({"from": today, "to": today})).await.list.total, 3);
    assert_eq!(query(json!({"to": "2000-01-01"})).await.list.total, 0);
    let res = post_json(&app, &admin, "settings/audit", json!({"query": {"q": null, "actor": null, "kind": null, "from": "yesterday", "to": null, "page": 1}})).await;
    assert_eq!(res.status(), 422);

    let res = admin.get(app.url("/settings/audit.csv?kind=member_invited")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "at,actor,kind,subject,before,after");
    assert_eq!(lines.len(), 3);
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\") <eq@example.com>\""), "formula neutralised and quoted: {csv}");
    let analyst = app.login(ANALYST).await;
    assert_eq!(analyst.get(app.url("/settings/audit.csv")).send().await.unwrap().status(), 403);
    assert_eq!(app.client().get(app.url("/settings/audit.csv")).send().await.unwrap().status(), 401);
});

on_both!(the_settings_pages_render_on_the_server_for_the_roles_that_may_see_them, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let html = |c: reqwest::Client, path: &'static str| {
        let app = &app;
        async move { c.get(app.url(path)).header("accept", "text/html").send().await.unwrap() }
    };
    let res = html(admin.clone(), "/settings").await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/settings?tab=team");
    for (path, text) in [
        ("/settings?tab=team", "Invite a team member"),
        ("/settings?tab=programs", "Northwind Partner Program"),
        ("/settings?tab=keys", "Create an API key"),
        ("/settings?tab=audit", "Export CSV"),
        ("/settings?tab=profile", "Change password"),
        ("/settings?tab=jobs", "tier_evaluation"),
    ] {
        let body = html(admin.clone(), path).await.text().await.unwrap();
        assert!(body.contains(text), "{path} shows {text}");
        assert!(body.contains("<tbody>") || !body.contains("<table"), "{path}: tables have a tbody");
    }
    let analyst = app.login(ANALYST).await;
    let res = html(analyst.clone(), "/settings").await;
    assert_eq!(res.headers()["location"], "/settings?tab=profile");
    let body = html(analyst, "/settings?tab=profile").await.text().await.unwrap();
    assert!(body.contains("Change password") && !body.contains("tab=team"), "no admin tabs for an analyst");
    let res = html(app.client(), "/invite/not-a-token").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("not found"));
});

on_both!(financial_changes_are_in_the_audit_log_too, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let finance = app.login("finance@demo.trellis.dev").await;
    let adjust = |amount: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let res = app.call(&admin, "finance/adjust", &[("partner_id", "1"), ("program_id", "1"), ("amount", amount), ("reason", "goodwill")]).await;
            assert_eq!(res.status(), 200);
            res.json::<i64>().await.unwrap()
        }
    };
    let first = adjust("5.00").await;
    let second = adjust("7.00").await;
    let res = post_json(&app, &finance, "finance/approve", json!({"ids": [first]})).await;
    assert_eq!(res.json::<models::BulkResult>().await.unwrap().changed, 1);
    let res = post_json(&app, &finance, "finance/void", json!({"ids": [second], "reason": "duplicate"})).await;
    assert_eq!(res.json::<models::BulkResult>().await.unwrap().changed, 1);
    let batch: Option<i64> = app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await.json().await.unwrap();
    let batch = batch.expect("a batch of the approved adjustment");
    assert_eq!(app.call(&finance, "finance/mark_paid", &[("batch_id", &batch.to_string())]).await.status(), 200);
    let entries = audit_entry::Entity::find().order_by_asc(audit_entry::Column::Id).all(&app.db).await.unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["commission_adjusted", "commission_adjusted", "commissions_approved", "commissions_voided", "payout_batch_created", "payout_batch_paid"]);
    assert_eq!(entries[2].subject, format!("1 commission entry: #{first}"));
    assert_eq!(entries[3].after.as_deref(), Some("void: duplicate"));
    assert!(entries[4].after.as_deref().unwrap().contains("5.00"));
    assert!(entries[2].actor.contains("finance@demo.trellis.dev"));
});

on_both!(admins_see_the_free_space_under_the_embedded_database, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let res = app.call(&admin, "settings/storage", &[]).await;
    assert_eq!(res.status(), 200);
    let space: Option<models::StorageSpace> = res.json().await.unwrap();
    match b {
        Backend::Sqlite => {
            let s = space.expect("SQLite: the filesystem of the database file");
            assert!(s.total_bytes > 0 && s.free_bytes <= s.total_bytes, "{s:?}");
            assert_eq!(s.low, s.free_bytes < 1024 * 1024 * 1024 || s.free_bytes * 10 < s.total_bytes);
            assert!(s.summary.contains(" free of "), "{}", s.summary);
        }
        Backend::Postgres => assert!(space.is_none(), "the database server's disk is not ours to measure"),
    }
    let manager = app.login("manager@demo.trellis.dev").await;
    let res = app.call(&manager, "settings/storage", &[]).await;
    assert_eq!(res.status(), 200, "the page asks for every team member: no error in their console");
    let space: Option<models::StorageSpace> = res.json().await.unwrap();
    assert!(space.is_none(), "only admins see the figure: {space:?}");
    let metrics = app.client().get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(metrics.contains("trellis_database_disk_free_bytes "), b == Backend::Sqlite, "{metrics}");
});

on_both!(an_active_members_session_slides_its_idle_expiry, |b: Backend| async move {
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::with_demo(b).await;
    let manager = app.login("manager@demo.trellis.dev").await;
    assert_eq!(app.call(&manager, "me", &[]).await.status(), 200);
    let id = backend::entities::user::Entity::find()
        .filter(backend::entities::user::Column::Email.eq("manager@demo.trellis.dev"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // Eleven hours and fifty-nine minutes later, the member is still at work: the session has a
    // minute of idle time left and was last saved long ago.
    let row = session::Entity::find().filter(session::Column::UserId.eq(id)).one(&app.db).await.unwrap().unwrap();
    // (Edited as text: the record's id is a 128-bit number that a JSON value would round.)
    let now = chrono::Utc::now();
    let key = format!("\"{}\":", backend::access::session_store::SEEN_AT_KEY);
    let at = row.data.find(&key).expect("the session remembers when it was last seen") + key.len();
    let end = at + row.data[at..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let data = format!("{}{}{}", &row.data[..at], now.timestamp() - 12 * 3600 + 60, &row.data[end..]);
    let mut a: session::ActiveModel = row.into();
    a.data = Set(data);
    a.expiry_date = Set(now + chrono::Duration::minutes(1));
    a.update(&app.db).await.unwrap();
    let res = app.call(&manager, "me", &[]).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let row = session::Entity::find().filter(session::Column::UserId.eq(id)).one(&app.db).await.unwrap().unwrap();
    assert!(row.expiry_date > now + chrono::Duration::hours(11), "the idle expiry moved forward: {}", row.expiry_date);
    // Requests in quick succession do not rewrite the session each time.
    let saved = row.data.clone();
    assert_eq!(app.call(&manager, "me", &[]).await.status(), 200);
    let row = session::Entity::find().filter(session::Column::UserId.eq(id)).one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.data, saved);
});

on_both!(behind_a_trusted_proxy_one_users_failed_sign_ins_do_not_lock_out_another, |b: Backend| async move {
    let app = TestApp::spawn_with(b, common::Spawn { env: vec![("TRELLIS_TRUSTED_PROXIES", "127.0.0.1, ::1".into())], ..Default::default() }).await;
    server::demo::load_with(&app.db, &app.clock, false).await.unwrap();
    // Every request comes from the proxy (127.0.0.1); the client is in X-Forwarded-For.
    let via = |client: &'static str, email: &'static str, password: &'static str| {
        let c = app.client();
        let url = app.url("/api/login");
        async move {
            c.post(url)
                .header("x-forwarded-for", format!("6.6.6.6, {client}"))
                .form(&[("email", email), ("password", password)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..6 {
        assert_ne!(via("203.0.113.1", ANALYST, "wrong password").await, 200);
    }
    assert_eq!(via("203.0.113.2", MANAGER, DEMO_PASSWORD).await, 200, "another user behind the same proxy signs in");
    // The forged left-most entry is not believed: the attacker's own address stays throttled.
    assert_ne!(via("203.0.113.1", ADMIN, DEMO_PASSWORD).await, 200, "the throttled client stays throttled, whatever it puts first");
});
