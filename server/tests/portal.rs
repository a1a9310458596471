//! The partner portal over real HTTP, on SQLite and PostgreSQL: applying to a program, email
//! verification, approval, password reset, and what partner users can and cannot reach.

mod common;

use backend::entities::{enrollment, outbox_email, partner, program, user};
use common::{Backend, TestApp};
use models::{ApplyOutcome, ApplyPage, EnrollmentStatus, PortalHome};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

const MANAGER: &str = "manager@demo.trellis.dev";
const ADMIN: &str = "admin@demo.trellis.dev";
const PARTNER: &str = "ava.thompson@partners.example";

fn application(email: &str, password: &str) -> serde_json::Value {
    json!({"application": {"program_id": 1, "name": "Mia Rivera", "email": email, "password": password,
        "company": "Trail Notes", "website": "https://trailnotes.example", "answers": {}}})
}

/// The emails of `kind` queued to `to`, oldest first.
async fn mails(app: &TestApp, kind: &str, to: &str) -> Vec<outbox_email::Model> {
    outbox_email::Entity::find()
        .filter(outbox_email::Column::Kind.eq(kind))
        .filter(outbox_email::Column::ToEmail.eq(to))
        .order_by_asc(outbox_email::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

/// The token of the last link to `path` in an email.
fn token_in(body: &str, path: &str) -> String {
    let at = body.rfind(path).unwrap_or_else(|| panic!("no {path} link in: {body}"));
    body[at + path.len()..].chars().take_while(|c| c.is_ascii_hexdigit()).collect()
}

async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        user::Entity::find().count(&app.db).await.unwrap(),
        partner::Entity::find().count(&app.db).await.unwrap(),
        enrollment::Entity::find().count(&app.db).await.unwrap(),
    )
}

on_both!(apply_verify_get_approved_and_sign_in, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let visitor = app.client();
    let page: ApplyPage = app.call(&visitor, "public/apply_page", &[("program_id", "1")]).await.json().await.unwrap();
    assert_eq!(page.program, "Northwind Partner Program");
    assert!(!page.auto_approve);
    assert_eq!(app.call(&visitor, "public/apply_page", &[("program_id", "424242")]).await.status(), 404);

    // Bad input is refused and writes nothing.
    let before = counts(&app).await;
    for (body, why) in [
        (application("mia@trailnotes.example", "short"), "short password"),
        (application("not-an-email", "long-enough-1"), "bad email"),
        (json!({"application": {"program_id": 1, "name": " ", "email": "mia@trailnotes.example", "password": "long-enough-1", "company": "", "website": "", "answers": {}}}), "no name"),
        (json!({"application": {"program_id": 1, "name": "Mia", "email": "mia@trailnotes.example", "password": "long-enough-1", "company": "", "website": "not a url", "answers": {}}}), "bad website"),
    ] {
        assert_eq!(app.call_json(&visitor, "public/apply", body).await.status(), 422, "{why}");
    }
    // An address the account knows already (a partner user) is a clear conflict.
    let dup = app.call_json(&visitor, "public/apply", application(PARTNER, "long-enough-1")).await;
    assert_eq!(dup.status(), 409);
    assert!(dup.text().await.unwrap().contains("already registered"));
    assert_eq!(counts(&app).await, before, "refused applications write nothing");

    let res = app.call_json(&visitor, "public/apply", application("Mia@TrailNotes.example", "long-enough-1")).await;
    assert_eq!(res.status(), 200);
    let out: ApplyOutcome = res.json().await.unwrap();
    assert!(!out.approved);
    let email = out.email.clone();
    assert_eq!(email, "mia@trailnotes.example");
    let after = counts(&app).await;
    assert_eq!((after.0, after.1, after.2), (before.0 + 1, before.1 + 1, before.2 + 1));
    let p = partner::Entity::find().filter(partner::Column::Email.eq(email.as_str())).one(&app.db).await.unwrap().unwrap();
    assert_eq!(p.source.as_deref(), Some("application"));
    assert_eq!(p.company.as_deref(), Some("Trail Notes"));
    // Applying twice is a conflict too.
    assert_eq!(app.call_json(&visitor, "public/apply", application(&email, "long-enough-1")).await.status(), 409);
    assert_eq!(counts(&app).await, after);

    assert_eq!(mails(&app, "application_received", &email).await.len(), 1);
    assert!(mails(&app, "application_approved", &email).await.is_empty());
    let verify = mails(&app, "partner_verify_email", &email).await;
    assert_eq!(verify.len(), 1);
    assert_eq!(verify[0].program_id, Some(1));
    assert_eq!(verify[0].partner_id, Some(p.id));
    let token = token_in(&verify[0].body_text, "/portal/verify/");
    assert_eq!(token.len(), 64);

    // Pending and unverified: the partner may sign in and sees both.
    let mia = app.login_with(&email, "long-enough-1").await;
    let home: PortalHome = app.call(&mia, "portal/home", &[]).await.json().await.unwrap();
    assert!(home.email_unverified);
    assert_eq!(home.enrollments.len(), 1);
    assert_eq!(home.enrollments[0].status, EnrollmentStatus::Pending);

    // A fresh link replaces the first one.
    assert_eq!(app.call(&mia, "portal/resend_verification", &[]).await.status(), 200);
    let verify = mails(&app, "partner_verify_email", &email).await;
    assert_eq!(verify.len(), 2);
    assert_eq!(app.call(&visitor, "public/verify_partner_email", &[("token", &token)]).await.status(), 404, "the older link no longer works");
    let token = token_in(&verify[1].body_text, "/portal/verify/");
    let res = app.call(&visitor, "public/verify_partner_email", &[("token", &token)]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<String>().await.unwrap(), email);
    assert_eq!(app.call(&visitor, "public/verify_partner_email", &[("token", &token)]).await.status(), 404, "a link works once");
    let home: PortalHome = app.call(&mia, "portal/home", &[]).await.json().await.unwrap();
    assert!(!home.email_unverified);
    assert_eq!(app.call(&mia, "portal/resend_verification", &[]).await.status(), 409);

    // The team approves; the partner gets the approval email and can work.
    let manager = app.login(MANAGER).await;
    let pid = p.id.to_string();
    let res = app.call(&manager, "partners/enrollment", &[("partner_id", &pid), ("program_id", "1"), ("what", "status"), ("value", "active")]).await;
    assert_eq!(res.status(), 200);
    let approved = mails(&app, "application_approved", &email).await;
    assert_eq!(approved.len(), 1);
    assert!(approved[0].subject.contains("Northwind Partner Program"));
    let mia = app.login_with(&email, "long-enough-1").await;
    let home: PortalHome = app.call(&mia, "portal/home", &[]).await.json().await.unwrap();
    assert_eq!(home.enrollments[0].status, EnrollmentStatus::Active);
    assert_eq!(app.call(&mia, "portal/create_link", &[("program_id", "1")]).await.status(), 200);
    // Still a partner user: team functions stay closed.
    assert_eq!(app.call_json(&mia, "directory", json!({"query": {}})).await.status(), 403);
});

on_both!(an_auto_approving_program_approves_at_once, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let prog = program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap();
    let mut a: program::ActiveModel = prog.into();
    a.auto_approve = Set(true);
    a.update(&app.db).await.unwrap();
    let visitor = app.client();
    let out: ApplyOutcome = app.call_json(&visitor, "public/apply", application("quick@apply.example", "long-enough-1")).await.json().await.unwrap();
    assert!(out.approved);
    assert_eq!(mails(&app, "application_approved", "quick@apply.example").await.len(), 1);
    let c = app.login_with("quick@apply.example", "long-enough-1").await;
    let home: PortalHome = app.call(&c, "portal/home", &[]).await.json().await.unwrap();
    assert_eq!(home.enrollments[0].status, EnrollmentStatus::Active);
});

on_both!(custom_questions_are_validated_like_every_write_path, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login(ADMIN).await;
    let res = app
        .call_json(&admin, "fields/define", json!({"field": {"key": "audience", "label": "Audience size", "kind": "select", "options": ["small", "large"], "required": true}}))
        .await;
    assert_eq!(res.status(), 200);
    let visitor = app.client();
    let page: ApplyPage = app.call(&visitor, "public/apply_page", &[("program_id", "1")]).await.json().await.unwrap();
    assert!(page.questions.iter().any(|q| q.key == "audience" && q.required));
    let before = counts(&app).await;
    let mut body = application("q@apply.example", "long-enough-1");
    assert_eq!(app.call_json(&visitor, "public/apply", body.clone()).await.status(), 422, "required question missing");
    body["application"]["answers"] = json!({"audience": "huge"});
    let res = app.call_json(&visitor, "public/apply", body.clone()).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("custom.audience"));
    body["application"]["answers"] = json!({"nope": "x", "audience": "small"});
    assert_eq!(app.call_json(&visitor, "public/apply", body.clone()).await.status(), 422, "unknown question");
    assert_eq!(counts(&app).await, before);
    body["application"]["answers"] = json!({"audience": "Large"});
    assert_eq!(app.call_json(&visitor, "public/apply", body).await.status(), 200);
    let p = partner::Entity::find().filter(partner::Column::Email.eq("q@apply.example")).one(&app.db).await.unwrap().unwrap();
    assert_eq!(backend::partners::custom_fields::parse_stored(&p.custom).get("audience").map(String::as_str), Some("large"));
});

on_both!(forgot_password_sends_a_reset_link_that_sets_a_new_password, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let visitor = app.client();
    // Unknown addresses get the same answer and no email.
    assert_eq!(app.call(&visitor, "public/forgot_password", &[("email", "nobody@nowhere.example")]).await.status(), 200);
    assert!(mails(&app, "password_reset", "nobody@nowhere.example").await.is_empty());
    assert_eq!(app.call(&visitor, "public/forgot_password", &[("email", "not an email")]).await.status(), 422);

    assert_eq!(app.call(&visitor, "public/forgot_password", &[("email", PARTNER)]).await.status(), 200);
    let sent = mails(&app, "password_reset", PARTNER).await;
    assert_eq!(sent.len(), 1);
    let token = token_in(&sent[0].body_text, "/invite/");
    let res = app.call(&visitor, "public/set_password", &[("token", &token), ("name", ""), ("password", "a-new-password")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<String>().await.unwrap(), "/");
    // The old password no longer works, the new one does, the link is used up.
    let res = app.call(&app.client(), "login", &[("email", PARTNER), ("password", server::demo::DEMO_PASSWORD)]).await;
    assert!(!res.status().is_success());
    let c = app.login_with(PARTNER, "a-new-password").await;
    assert_eq!(app.call(&c, "portal/home", &[]).await.status(), 200);
    assert_eq!(
        app.call(&visitor, "public/set_password", &[("token", &token), ("name", ""), ("password", "third-password")]).await.status(),
        404
    );
});

// R6: every portal server function and page, called by a partner user, reaches only its own
// partner's data; team pages, team functions and REST stay closed.
on_both!(a_partner_user_reaches_only_its_own_data, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let ava = app.login(PARTNER).await;
    let ava_id = user::Entity::find().filter(user::Column::Email.eq(PARTNER)).one(&app.db).await.unwrap().unwrap().partner_id.unwrap();
    // Another (active) partner of the same account, with a link of its own.
    let other_e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.ne(ava_id)).filter(enrollment::Column::Status.eq("active")).order_by_asc(enrollment::Column::PartnerId).one(&app.db).await.unwrap().unwrap();
    let other = partner::Entity::find_by_id(other_e.partner_id).one(&app.db).await.unwrap().unwrap();
    let manager = app.login(MANAGER).await;
    let res = app.call(&manager, "links/create", &[("partner_id", &other.id.to_string()), ("program_id", "1")]).await;
    assert_eq!(res.status(), 200);
    let other_url: String = res.json().await.unwrap();

    let home: PortalHome = app.call(&ava, "portal/home", &[]).await.json().await.unwrap();
    assert_eq!(home.partner_name, partner::Entity::find_by_id(ava_id).one(&app.db).await.unwrap().unwrap().name);
    let links: Vec<models::LinkRow> = app.call(&ava, "portal/links", &[]).await.json().await.unwrap();
    assert!(links.iter().all(|l| l.url != other_url), "another partner's link is not listed");
    // The portal functions take no partner id: extra ids in the request are ignored, never obeyed.
    let links_before = backend::entities::link::Entity::find().count(&app.db).await.unwrap();
    let res = app.call(&ava, "portal/create_link", &[("program_id", "1"), ("partner_id", &other.id.to_string())]).await;
    if res.status().is_success() {
        let n = backend::entities::link::Entity::find().filter(backend::entities::link::Column::PartnerId.eq(other.id)).count(&app.db).await.unwrap();
        assert_eq!(n, 1, "no link created for the other partner");
    }
    let _ = links_before;
    // Team server functions with the other partner's id: 403, nothing changed.
    let oid = other.id.to_string();
    for (endpoint, form) in [
        ("partners/profile", vec![("id", oid.as_str())]),
        ("links/list", vec![("partner_id", oid.as_str())]),
        ("partners/timeline", vec![("id", oid.as_str()), ("page", "1")]),
        ("partners/note", vec![("id", oid.as_str()), ("text", "x")]),
        ("partners/enrollment", vec![("partner_id", oid.as_str()), ("program_id", "1"), ("what", "status"), ("value", "suspended")]),
        ("links/create", vec![("partner_id", oid.as_str()), ("program_id", "1")]),
    ] {
        assert_eq!(app.call(&ava, endpoint, &form).await.status(), 403, "{endpoint}");
    }
    // Every portal server function (found automatically) answers only the caller's own data:
    // nothing of the other partner in any answer, none of its rows changed.
    let other_links = || async { backend::entities::link::Entity::find().filter(backend::entities::link::Column::PartnerId.eq(other.id)).count(&app.db).await.unwrap() };
    let other_links_before = other_links().await;
    let portal_fns: Vec<String> = common::server_fn_paths().into_iter().filter(|p| p.starts_with("/api/portal/")).collect();
    assert!(portal_fns.len() >= 5, "{portal_fns:?}");
    for path in &portal_fns {
        let body = app.call_sample(&ava, path).await.text().await.unwrap();
        assert!(!body.contains(&other.email) && !body.contains(&other_url), "{path} leaks another partner's data");
        // The same call by a team member is refused.
        assert_eq!(app.call_sample(&manager, path).await.status(), 403, "{path} is for partner users only");
    }
    assert_eq!(other_links().await, other_links_before);
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(other.id)).one(&app.db).await.unwrap().unwrap();
    assert_ne!(e.status, "suspended");
    // Team pages send a partner user away; REST wants an API key, not a session.
    for page in ["/directory", "/finance", "/settings", &format!("/partners/{}", other.id)] {
        let res = ava.get(app.url(page)).send().await.unwrap();
        let body = res.text().await.unwrap();
        assert!(!body.contains(&other.email), "{page} shows nothing of another partner");
    }
    let res = ava.get(app.url("/api/v1/programs/1")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // Portal pages render for the partner itself.
    let res = ava.get(app.url("/portal")).send().await.unwrap();
    assert_eq!(res.status(), 200);
});

on_both!(the_dashboard_shows_a_conversion_posted_through_the_api_with_its_pending_commission, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let ava = app.login(PARTNER).await;
    let ava_id = user::Entity::find().filter(user::Column::Email.eq(PARTNER)).one(&app.db).await.unwrap().unwrap().partner_id.unwrap();
    assert_eq!(app.call(&ava, "portal/dashboard", &[("days", "7")]).await.status(), 422, "only 30, 90 or 365 days");
    let before: models::PortalDashboard = app.call(&ava, "portal/dashboard", &[("days", "30")]).await.json().await.unwrap();
    let p1 = before.programs.iter().find(|p| p.program_id == 1).expect("ava is in program 1").clone();
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let res = app
        .client()
        .post(app.url("/api/v1/conversions"))
        .bearer_auth(&key)
        .json(&json!({"program_id": 1, "external_id": "portal-1", "amount": "200.00", "partner_id": ava_id}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let after: models::PortalDashboard = app.call(&ava, "portal/dashboard", &[("days", "30")]).await.json().await.unwrap();
    let p2 = after.programs.iter().find(|p| p.program_id == 1).unwrap();
    assert_eq!(p2.conversions, p1.conversions + 1);
    let commission = p2.minor[0] - p1.minor[0];
    assert!(commission > 0, "a pending commission appeared");
    assert_eq!(p2.minor[1..], p1.minor[1..], "approved and paid unchanged");
    let ledger: i64 = backend::entities::ledger_entry::Entity::find()
        .filter(backend::entities::ledger_entry::Column::PartnerId.eq(ava_id))
        .filter(backend::entities::ledger_entry::Column::Status.eq("pending"))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.amount_minor)
        .sum();
    assert_eq!(p2.minor[0], ledger, "pending equals the ledger's pending balance");
    let recent = &after.recent[0];
    assert_eq!(recent.status, "pending");
    assert_eq!(recent.amount, "200.00 USD");
    assert_eq!(recent.commission, models::Money::from_minor(commission, models::Currency::parse("USD").unwrap()).display());
    // Another partner sees none of it.
    let other = partner::Entity::find().filter(partner::Column::Id.ne(ava_id)).one(&app.db).await.unwrap().unwrap();
    let _ = other;
    let manager = app.login(MANAGER).await;
    assert_eq!(app.call(&manager, "portal/dashboard", &[("days", "30")]).await.status(), 403);
});

on_both!(tier_progress_says_exactly_what_is_missing, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let prog = program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap();
    let mut a: program::ActiveModel = prog.into();
    a.auto_approve = Set(true);
    a.update(&app.db).await.unwrap();
    let out: ApplyOutcome = app.call_json(&app.client(), "public/apply", application("tiers@apply.example", "long-enough-1")).await.json().await.unwrap();
    assert!(out.approved);
    let pid = partner::Entity::find().filter(partner::Column::Email.eq("tiers@apply.example")).one(&app.db).await.unwrap().unwrap().id;
    let c = app.login_with("tiers@apply.example", "long-enough-1").await;
    let dash = |c: reqwest::Client| {
        let app = &app;
        async move {
            let d: models::PortalDashboard = app.call(&c, "portal/dashboard", &[("days", "90")]).await.json().await.unwrap();
            d.programs.into_iter().find(|p| p.program_id == 1).unwrap().tier
        }
    };
    let t = dash(c.clone()).await;
    assert_eq!(t.current, "Bronze");
    assert_eq!(t.rate, "10%");
    assert_eq!(t.next.as_deref(), Some("Silver"));
    assert_eq!(t.next_rate.as_deref(), Some("15%"));
    assert_eq!(t.rule.as_deref(), Some("Silver: at least 5 conversions in the last 60 days"));
    assert_eq!(t.missing.as_deref(), Some("5 more conversions within the last 60 days to reach Silver"));
    assert_eq!((t.missing_conversions, t.percent), (5, 0));
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    for i in 0..2 {
        let res = app
            .client()
            .post(app.url("/api/v1/conversions"))
            .bearer_auth(&key)
            .json(&json!({"program_id": 1, "external_id": format!("tp-{i}"), "amount": "40.00", "partner_id": pid}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    let t = dash(c.clone()).await;
    assert_eq!(t.missing.as_deref(), Some("3 more conversions within the last 60 days to reach Silver"));
    assert_eq!((t.missing_conversions, t.percent), (3, 40));
});

/// A multipart upload of `bytes` as `name` to `/portal/documents`; returns the status and where it sends the browser.
async fn upload(app: &TestApp, c: &reqwest::Client, name: &str, bytes: Vec<u8>) -> (u16, String) {
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    let res = c.post(app.url("/portal/documents")).header("origin", &app.base).multipart(form).send().await.unwrap();
    let to = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), to)
}

on_both!(profile_payout_details_and_tax_documents_make_a_partner_compliant_within_the_limits, |b: Backend| async move {
    use backend::entities::partner_document;
    let app = TestApp::with_demo(b).await;
    let ava = app.login(PARTNER).await;
    let ava_id = user::Entity::find().filter(user::Column::Email.eq(PARTNER)).one(&app.db).await.unwrap().unwrap().partner_id.unwrap();
    let profile: models::PortalProfile = app.call(&ava, "portal/profile", &[]).await.json().await.unwrap();
    assert!(!profile.compliance.complete);
    let mut details = profile.details.clone();

    // Bad details are refused, naming the field, and nothing changes.
    for (field, value) in [("payout_account", "not-an-email"), ("country", "Germany"), ("website", "trailnotes")] {
        let mut bad = details.clone();
        bad.payout_method = "paypal".into();
        bad.payout_account = "ava@pay.example".into();
        match field {
            "payout_account" => bad.payout_account = value.into(),
            "country" => bad.country = value.into(),
            _ => bad.website = value.into(),
        }
        let res = app.call_json(&ava, "portal/update_profile", json!({"input": bad})).await;
        assert_eq!(res.status(), 422, "{field}");
        assert!(res.text().await.unwrap().contains(field), "{field} named");
    }
    assert!(partner::Entity::find_by_id(ava_id).one(&app.db).await.unwrap().unwrap().payout_method.is_none());
    details.payout_method = "paypal".into();
    details.payout_account = "ava@pay.example".into();
    details.phone = "+1 555 0100".into();
    assert_eq!(app.call_json(&ava, "portal/update_profile", json!({"input": details})).await.status(), 200);
    let p = partner::Entity::find_by_id(ava_id).one(&app.db).await.unwrap().unwrap();
    assert_eq!((p.payout_method.as_deref(), p.payout_account.as_deref()), (Some("paypal"), Some("ava@pay.example")));

    // Uploads: outside the limits nothing is stored.
    let docs = || async { partner_document::Entity::find().filter(partner_document::Column::PartnerId.eq(ava_id)).count(&app.db).await.unwrap() };
    let (status, to) = upload(&app, &ava, "w9.exe", b"MZ\x90\x00 not a pdf".to_vec()).await;
    assert_eq!(status, 303);
    assert!(to.contains("error=") && to.contains("PDF"), "{to}");
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(backend::money::compliance::MAX_DOCUMENT_BYTES + 1, b'0');
    let (status, to) = upload(&app, &ava, "huge.pdf", big).await;
    assert!(status == 413 || to.contains("error="), "oversized refused: {status} {to}");
    let (status, to) = upload(&app, &ava, "empty.pdf", Vec::new()).await;
    assert!(to.contains("error="), "{status} {to}");
    assert_eq!(docs().await, 0, "nothing stored from refused uploads");
    // A team member cannot upload in a partner's name.
    let manager = app.login(MANAGER).await;
    assert_eq!(upload(&app, &manager, "w9.pdf", b"%PDF-1.7 team".to_vec()).await.0, 403);

    let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
    let (status, to) = upload(&app, &ava, "../W-9 form.pdf", pdf.clone()).await;
    assert_eq!((status, to.as_str()), (303, "/portal/profile?uploaded=1"));
    assert_eq!(docs().await, 1);
    let profile: models::PortalProfile = app.call(&ava, "portal/profile", &[]).await.json().await.unwrap();
    let doc = &profile.documents[0];
    assert_eq!((doc.filename.as_str(), doc.status.as_str()), ("W-9 form.pdf", "received"));
    assert_eq!(profile.compliance.summary, "Tax document under review");
    // The partner and the team can download it; another partner cannot.
    let got = ava.get(app.url(&format!("/documents/{}", doc.id))).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(manager.get(app.url(&format!("/documents/{}", doc.id))).send().await.unwrap().status(), 200);
    let other_user = "other.partner@partners.example";
    let res = app.call_json(&manager, "partners/create", json!({"email": other_user, "fields": {"name": "Other Partner"}, "program_id": 1})).await;
    let other_pid: i64 = res.json().await.unwrap();
    backend::access::accounts::create_user(&app.db, &app.clock, 1, backend::access::accounts::NewUser { email: other_user, name: None, password: server::demo::DEMO_PASSWORD, roles: &[], partner_id: Some(other_pid) }).await.unwrap();
    let other = app.login(other_user).await;
    assert_eq!(other.get(app.url(&format!("/documents/{}", doc.id))).send().await.unwrap().status(), 404);
    let theirs: models::PortalProfile = app.call(&other, "portal/profile", &[]).await.json().await.unwrap();
    assert!(theirs.documents.is_empty() && theirs.partner_id == other_pid);

    // Rejecting needs a reason; accepting makes the partner compliant, and health counts it.
    let analyst = app.login("analyst@demo.trellis.dev").await;
    assert_eq!(app.call(&analyst, "partners/review_document", &[("id", &doc.id.to_string()), ("accept", "true")]).await.status(), 403);
    assert_eq!(analyst.get(app.url(&format!("/documents/{}", doc.id))).send().await.unwrap().status(), 404, "analytics viewers do not open tax documents (answered like a missing one)");
    assert_eq!(app.call(&manager, "partners/review_document", &[("id", &doc.id.to_string()), ("accept", "false")]).await.status(), 422);
    let reject = [("id", doc.id.to_string()), ("accept", "false".into()), ("note", "unsigned".into())];
    let reject: Vec<(&str, &str)> = reject.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.call(&manager, "partners/review_document", &reject).await.status(), 200);
    assert_eq!(app.call(&manager, "partners/review_document", &[("id", &doc.id.to_string()), ("accept", "true")]).await.status(), 200);
    // The audit says what each review replaced: received → rejected, then rejected → accepted.
    let mut reviews = backend::entities::audit_entry::Entity::find()
        .filter(backend::entities::audit_entry::Column::Kind.eq("document_reviewed"))
        .all(&app.db)
        .await
        .unwrap();
    reviews.sort_by_key(|a| a.id);
    let changes: Vec<(Option<String>, Option<String>)> = reviews.into_iter().map(|a| (a.before, a.after)).collect();
    assert_eq!(changes, vec![(Some("received".into()), Some("rejected".into())), (Some("rejected".into()), Some("accepted".into()))]);
    let card: models::PortalProfile = app.call(&manager, "partners/compliance", &[("id", &ava_id.to_string())]).await.json().await.unwrap();
    assert!(card.compliance.complete, "{:?}", card.compliance);
    assert!(card.details.payout_account.starts_with("••••"), "masked for a program manager");
    backend::partners::health::refresh(&app.db, app.clock.now()).await.unwrap();
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(ava_id)).one(&app.db).await.unwrap().unwrap();
    let h = backend::entities::health_score::Entity::find().filter(backend::entities::health_score::Column::EnrollmentId.eq(e.id)).one(&app.db).await.unwrap().unwrap();
    assert!(h.parts.contains("tax document on file"), "{}", h.parts);
});

on_both!(a_partner_lists_filters_and_exports_only_its_own_conversions_and_sees_its_payouts, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let ava = app.login(PARTNER).await;
    let ava_id = user::Entity::find().filter(user::Column::Email.eq(PARTNER)).one(&app.db).await.unwrap().unwrap().partner_id.unwrap();
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let other = enrollment::Entity::find().filter(enrollment::Column::PartnerId.ne(ava_id)).filter(enrollment::Column::ProgramId.eq(1)).filter(enrollment::Column::Status.eq("active")).one(&app.db).await.unwrap().unwrap();
    for (ext, pid) in [("mine-1", ava_id), ("mine-2", ava_id), ("theirs-1", other.partner_id)] {
        let res = app.client().post(app.url("/api/v1/conversions")).bearer_auth(&key)
            .json(&json!({"program_id": 1, "external_id": ext, "amount": "50.00", "partner_id": pid})).send().await.unwrap();
        assert!(res.status().is_success());
    }
    let all: models::PortalConversions = app.call_json(&ava, "portal/conversions", json!({"filter": {}})).await.json().await.unwrap();
    assert!(all.list.items.iter().any(|r| r.reference == "mine-1") && all.list.items.iter().all(|r| r.reference != "theirs-1"));
    let pending: models::PortalConversions = app.call_json(&ava, "portal/conversions", json!({"filter": {"status": "pending"}})).await.json().await.unwrap();
    assert!(pending.list.items.iter().all(|r| r.status == "pending") && pending.list.total >= 2);
    let today = app.clock.now().format("%Y-%m-%d").to_string();
    let today_only: models::PortalConversions = app.call_json(&ava, "portal/conversions", json!({"filter": {"from": today, "to": today}})).await.json().await.unwrap();
    assert!(today_only.list.items.iter().all(|r| r.date == today));
    assert_eq!(app.call_json(&ava, "portal/conversions", json!({"filter": {"from": "yesterday"}})).await.status(), 422);
    assert_eq!(app.call_json(&ava, "portal/conversions", json!({"filter": {"status": "lost"}})).await.status(), 422);
    let csv = ava.get(app.url(&format!("/portal/conversions.csv?status=pending&from={today}"))).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,date,program,reference,amount,commission,commission_status,conversion_status\r\n"));
    assert!(text.contains("mine-2") && !text.contains("theirs-1"));
    let manager = app.login(MANAGER).await;
    assert_eq!(manager.get(app.url("/portal/conversions.csv")).send().await.unwrap().status(), 403, "team members have their own exports");
    // Payouts: once the hold period is over and finance approves, a batch shows in the history.
    let finance = app.login(ADMIN).await;
    backend::entities::ledger_entry::Entity::update_many()
        .col_expr(backend::entities::ledger_entry::Column::CreatedAt, sea_orm::sea_query::Expr::value(app.clock.now() - chrono::Duration::days(90)))
        .filter(backend::entities::ledger_entry::Column::PartnerId.eq(ava_id))
        .exec(&app.db).await.unwrap();
    let ids: Vec<i64> = backend::entities::ledger_entry::Entity::find()
        .filter(backend::entities::ledger_entry::Column::PartnerId.eq(ava_id))
        .filter(backend::entities::ledger_entry::Column::Status.eq("pending"))
        .all(&app.db).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(app.call_json(&finance, "finance/approve", json!({"ids": ids})).await.status(), 200);
    let res = app.call(&finance, "finance/create_batch", &[("program_id", "1")]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let payouts: Vec<models::PortalPayoutRow> = app.call(&ava, "portal/payouts", &[]).await.json().await.unwrap();
    assert!(!payouts.is_empty() && payouts[0].status == "processing", "{payouts:?}");
});

on_both!(a_pending_partner_cannot_create_links, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let manager = app.login(MANAGER).await;
    let res = app.call_json(&manager, "partners/create", json!({"email": "pending.one@partners.example", "fields": {"name": "Pending One"}, "program_id": 1})).await;
    let pid: i64 = res.json().await.unwrap();
    let before = backend::entities::link::Entity::find().count(&app.db).await.unwrap();
    let res = app.call(&manager, "links/create", &[("partner_id", &pid.to_string()), ("program_id", "1")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("pending"));
    assert_eq!(backend::entities::link::Entity::find().count(&app.db).await.unwrap(), before);
});

on_both!(another_accounts_team_reaches_no_sequence_template_document_or_compliance_card, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let ava = app.login(PARTNER).await;
    let ava_id = user::Entity::find().filter(user::Column::Email.eq(PARTNER)).one(&app.db).await.unwrap().unwrap().partner_id.unwrap();
    let (status, _) = upload(&app, &ava, "w9.pdf", b"%PDF-1.7\n%%EOF\n".to_vec()).await;
    assert_eq!(status, 303);
    let doc = backend::entities::partner_document::Entity::find().one(&app.db).await.unwrap().unwrap();
    let manager = app.login(MANAGER).await;
    let seq: i64 = app
        .call_json(&manager, "sequences/save", json!({"input": {"id": null, "program_id": 1, "name": "Welcome", "trigger": "approved", "stop_on_conversion": false, "active": true,
            "steps": [{"delay_hours": 0, "subject": "Hi {{partner_name}}", "body": "x"}]}}))
        .await.json().await.unwrap();
    let other = backend::access::accounts::ensure_account(&app.db, &app.clock, "other", Some("Other Co")).await.unwrap();
    backend::access::accounts::create_user(&app.db, &app.clock, other.id, backend::access::accounts::NewUser { email: "admin@other.example", name: None, password: server::demo::DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None }).await.unwrap();
    let stranger = app.login("admin@other.example").await;
    assert_eq!(app.call(&stranger, "sequences/detail", &[("id", &seq.to_string())]).await.status(), 404);
    let list: models::SequencesPage = app.call(&stranger, "sequences/list", &[]).await.json().await.unwrap();
    assert!(list.items.is_empty());
    assert_eq!(app.call(&stranger, "templates/page", &[("program_id", "1")]).await.status(), 404);
    assert_eq!(app.call_json(&stranger, "templates/save", json!({"input": {"program_id": 1, "kind": "re_engagement", "subject": "x", "body": "y"}})).await.status(), 404);
    assert_eq!(app.call(&stranger, "partners/compliance", &[("id", &ava_id.to_string())]).await.status(), 404);
    assert_eq!(app.call(&stranger, "partners/review_document", &[("id", &doc.id.to_string()), ("accept", "true")]).await.status(), 404);
    assert_eq!(stranger.get(app.url(&format!("/documents/{}", doc.id))).send().await.unwrap().status(), 404);
    let after = backend::entities::partner_document::Entity::find_by_id(doc.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(after.status, "received", "the stranger changed nothing");
});
