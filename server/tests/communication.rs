//! Communication on SQLite and PostgreSQL, against a real SMTP server the tests start
//! (`common::smtp`): what arrives (headers, branding, both parts), exactly-once delivery under a
//! crash between send and mark (R5), retries with backoff, open tracking, unsubscribe.

mod common;

use backend::entities::{enrollment, health_score, outbox_email, partner, timeline_event};
use backend::comms::mail::{self, MailConfig};
use backend::outbox::{self, NewEmail};
use chrono::Duration;
use common::smtp::{Mode, Sink};
use common::{Backend, TestApp};
use lettre::AsyncTransport;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn setup(b: Backend) -> (TestApp, Sink, MailConfig, partner::Model) {
    let app = TestApp::with_demo(b).await;
    let sink = Sink::start().await;
    let cfg = MailConfig { smtp_url: sink.url(), public_url: app.base.clone() };
    // A partner with an active enrollment (so it has a health score).
    let e = enrollment::Entity::find().filter(enrollment::Column::AccountId.eq(1)).filter(enrollment::Column::Status.eq("active")).one(&app.db).await.unwrap().unwrap();
    let p = partner::Entity::find_by_id(e.partner_id).one(&app.db).await.unwrap().unwrap();
    // Whatever the demo queued goes out first, so each test sees only its own mail.
    mail::deliver(&app.db, &cfg, app.clock.now()).await.unwrap();
    (app, sink, cfg, p)
}

async fn queue(app: &TestApp, p: &partner::Model, kind: &'static str, subject: &str) -> outbox_email::Model {
    outbox::queue(&app.db, app.clock.now(), NewEmail {
        account_id: 1,
        program_id: Some(1),
        partner_id: Some(p.id),
        kind,
        to: &p.email,
        subject: subject.into(),
        text: format!("Hi {},\n\nYou reached Gold.\nWell done & thanks <3", p.name),
        dedupe_key: None,
    })
    .await
    .unwrap();
    outbox_email::Entity::find().filter(outbox_email::Column::Subject.eq(subject)).one(&app.db).await.unwrap().unwrap()
}

/// A whole second just after the emails queued so far (PostgreSQL keeps microseconds only).
fn after_queueing(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(app.clock.now() + Duration::seconds(1), 0)
}

async fn status(app: &TestApp, id: i64) -> outbox_email::Model {
    outbox_email::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap()
}

on_both!(emails_arrive_branded_with_text_and_html_parts_and_only_once, |b: Backend| async move {
    let (app, sink, cfg, p) = setup(b).await;
    let news = queue(&app, &p, "tier_upgraded", "You are Gold now").await;
    let invite = queue(&app, &p, "invitation", "Your invitation").await;
    let report = mail::deliver(&app.db, &cfg, app.clock.now()).await.unwrap();
    assert_eq!(report.changed, 2);
    let got = sink.containing("Subject: You are Gold now");
    assert_eq!(got.len(), 1);
    let m = &got[0];
    let program = backend::entities::program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap();
    let sender = program.sender_name.clone().unwrap_or(program.name.clone());
    assert!(m.contains(&format!("From: \"{sender}\"")) || m.contains(&format!("From: {sender}")), "{m}");
    assert!(m.contains(&format!("To: {}", p.email)) || m.contains(&format!("<{}>", p.email)), "{m}");
    assert!(m.contains("multipart/alternative") && m.contains("text/plain") && m.contains("text/html"), "{m}");
    assert!(m.contains(&format!("Hi {}", p.name)), "the text part carries the body: {m}");
    assert!(m.contains("thanks &lt;3"), "the HTML part escapes the text: {m}");
    let token = status(&app, news.id).await.token.unwrap();
    assert!(m.contains(&format!("/o/{token}")), "tracking pixel");
    assert!(m.contains(&format!("List-Unsubscribe: <{}/u/{token}>", app.base)), "non-essential mail can be unsubscribed from");
    assert!(m.contains(&program.brand_color), "branded with the program colour");
    assert!(m.contains(&format!("Message-ID: <{token}@")), "{m}");
    let inv = &sink.containing("Subject: Your invitation")[0];
    assert!(!inv.contains("List-Unsubscribe") && !inv.contains("/u/"), "essential mail has no unsubscribe link");
    assert_eq!(status(&app, news.id).await.status, "sent");
    assert_eq!(status(&app, invite.id).await.status, "sent");
    // Delivering again sends nothing more.
    mail::deliver(&app.db, &cfg, app.clock.now() + Duration::hours(1)).await.unwrap();
    assert_eq!(sink.containing("Subject: You are Gold now").len(), 1);
    // Each email sent is on the partner's timeline.
    let sent = timeline_event::Entity::find()
        .filter(timeline_event::Column::PartnerId.eq(p.id))
        .filter(timeline_event::Column::Summary.eq("Email sent: You are Gold now"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(sent, 1);

    // Settings → Email lists it (admins), filtered by status and text.
    let admin = app.login("admin@demo.trellis.dev").await;
    let page: models::OutboxPage = app.call(&admin, "settings/outbox", &[("status", "sent"), ("q", "gold now"), ("page", "1")]).await.json().await.unwrap();
    assert_eq!(page.list.total, 1);
    assert_eq!((page.list.items[0].subject.as_str(), page.list.items[0].status.as_str()), ("You are Gold now", "sent"));
    assert!(page.list.items[0].body.contains(&p.name));
    assert_eq!(app.call(&admin, "settings/outbox", &[("status", "lost"), ("page", "1")]).await.status(), 422);
    let manager = app.login("manager@demo.trellis.dev").await;
    assert_eq!(app.call(&manager, "settings/outbox", &[("page", "1")]).await.status(), 403);
});

on_both!(a_crash_between_send_and_mark_resends_only_that_email_and_concurrent_deliverers_never_double_send, |b: Backend| async move {
    let (app, sink, cfg, p) = setup(b).await;
    let e = queue(&app, &p, "invitation", "Crash between send and mark").await;
    let now = after_queueing(&app);
    // A deliverer claims and sends, then dies before marking.
    let claimed = mail::claim(&app.db, now, e.id).await.unwrap().unwrap();
    let rendered = mail::render(&app.db, &cfg, &claimed).await.unwrap();
    mail::transport(&cfg).unwrap().send(rendered.message).await.unwrap();
    assert_eq!(status(&app, e.id).await.status, "sending");
    // While its claim lasts nobody else sends it.
    mail::deliver(&app.db, &cfg, now + Duration::seconds(60)).await.unwrap();
    assert_eq!(sink.containing("Subject: Crash between send and mark").len(), 1);
    // After the claim expires it is sent again — the one allowed duplicate — and marked.
    mail::deliver(&app.db, &cfg, now + Duration::seconds(mail::CLAIM_SECS + 1)).await.unwrap();
    let copies = sink.containing("Subject: Crash between send and mark");
    assert_eq!(copies.len(), 2);
    let id_of = |m: &str| m.lines().find(|l| l.starts_with("Message-ID:")).unwrap().to_string();
    assert_eq!(id_of(&copies[0]), id_of(&copies[1]), "both copies carry one Message-ID");
    assert_eq!(status(&app, e.id).await.status, "sent");
    mail::deliver(&app.db, &cfg, now + Duration::hours(2)).await.unwrap();
    assert_eq!(sink.containing("Subject: Crash between send and mark").len(), 2);

    // Two deliverers at once: every email exactly once, none lost.
    for i in 0..12 {
        queue(&app, &p, "invitation", &format!("Concurrent {i:02}")).await;
    }
    let (a, b2) = tokio::join!(mail::deliver(&app.db, &cfg, now + Duration::hours(3)), mail::deliver(&app.db, &cfg, now + Duration::hours(3)));
    assert_eq!(a.unwrap().changed + b2.unwrap().changed, 12);
    for i in 0..12 {
        assert_eq!(sink.containing(&format!("Subject: Concurrent {i:02}")).len(), 1, "email {i}");
    }
});

on_both!(temporary_failures_back_off_and_permanent_refusals_give_up, |b: Backend| async move {
    let (app, sink, cfg, p) = setup(b).await;
    let e = queue(&app, &p, "invitation", "Try me later").await;
    let now = after_queueing(&app);
    sink.set_mode(Mode::TempFail);
    mail::deliver(&app.db, &cfg, now).await.unwrap();
    let after = status(&app, e.id).await;
    assert_eq!((after.status.as_str(), after.attempts), ("queued", 1));
    assert!(after.last_error.as_deref().unwrap_or_default().contains("451"), "{:?}", after.last_error);
    assert_eq!(after.next_attempt_at, now + Duration::minutes(1));
    // Before the backoff ends nothing is attempted.
    mail::deliver(&app.db, &cfg, now + Duration::seconds(30)).await.unwrap();
    assert_eq!(status(&app, e.id).await.attempts, 1);
    // The second failure waits twice as long.
    mail::deliver(&app.db, &cfg, now + Duration::seconds(61)).await.unwrap();
    let after = status(&app, e.id).await;
    assert_eq!((after.attempts, after.next_attempt_at), (2, now + Duration::seconds(61) + Duration::minutes(2)));
    sink.set_mode(Mode::Accept);
    mail::deliver(&app.db, &cfg, now + Duration::minutes(4)).await.unwrap();
    assert_eq!(status(&app, e.id).await.status, "sent");
    assert_eq!(sink.containing("Subject: Try me later").len(), 1);

    let bad = queue(&app, &p, "invitation", "Nobody home").await;
    sink.set_mode(Mode::Reject);
    mail::deliver(&app.db, &cfg, now + Duration::minutes(5)).await.unwrap();
    let after = status(&app, bad.id).await;
    assert_eq!((after.status.as_str(), after.attempts), ("failed", 1), "a 550 is final");
});

on_both!(opens_count_once_and_unsubscribing_stops_only_non_essential_mail, |b: Backend| async move {
    let (app, sink, cfg, p) = setup(b).await;
    let e = queue(&app, &p, "tier_upgraded", "Open me").await;
    mail::deliver(&app.db, &cfg, app.clock.now()).await.unwrap();
    let token = status(&app, e.id).await.token.unwrap();
    let http = app.client();
    for _ in 0..3 {
        let res = http.get(app.url(&format!("/o/{token}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/gif");
    }
    assert!(status(&app, e.id).await.opened_at.is_some());
    let opened = timeline_event::Entity::find().filter(timeline_event::Column::Summary.eq("Email opened: Open me")).count(&app.db).await.unwrap();
    assert_eq!(opened, 1, "opens count once per email");
    assert_eq!(http.get(app.url("/o/not-a-token")).send().await.unwrap().status(), 200, "the pixel reveals nothing");
    let rate = outbox::open_rate(&app.db, p.id, app.clock.now() + Duration::minutes(1)).await.unwrap().unwrap();
    assert!(rate > 0);
    // The open rate is the health score's email part.
    backend::partners::health::refresh(&app.db, app.clock.now() + Duration::minutes(1)).await.unwrap();
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(p.id)).filter(enrollment::Column::Status.eq("active")).one(&app.db).await.unwrap().unwrap();
    let row = health_score::Entity::find().filter(health_score::Column::EnrollmentId.eq(e.id)).one(&app.db).await.unwrap().unwrap();
    let parts: Vec<models::HealthPart> = serde_json::from_str(&row.parts).unwrap();
    let email = parts.iter().find(|x| x.key == "email").unwrap();
    assert_eq!(email.score, Some(rate));

    // The unsubscribe page asks first; a link scanner's GET changes nothing.
    let page = http.get(app.url(&format!("/u/{token}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert!(!mail::suppressed(&app.db, 1, &p.email).await.unwrap());
    let done = http.post(app.url(&format!("/u/{token}"))).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are unsubscribed"));
    assert_eq!(http.get(app.url("/u/nope")).send().await.unwrap().status(), 404);
    let news = queue(&app, &p, "tier_upgraded", "More news").await;
    let reset = queue(&app, &p, "password_reset", "Reset your password").await;
    mail::deliver(&app.db, &cfg, app.clock.now() + Duration::minutes(2)).await.unwrap();
    assert_eq!(status(&app, news.id).await.status, "suppressed");
    assert_eq!(status(&app, reset.id).await.status, "sent");
    assert!(sink.containing("Subject: More news").is_empty());
    assert_eq!(sink.containing("Subject: Reset your password").len(), 1);
});

on_both!(messages_reach_only_their_partner_and_count_unread_on_both_sides, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let ava = partner::Entity::find().filter(partner::Column::Email.eq("ava.thompson@partners.example")).one(&app.db).await.unwrap().unwrap();
    let other = partner::Entity::find().filter(partner::Column::AccountId.eq(1)).filter(partner::Column::Id.ne(ava.id)).one(&app.db).await.unwrap().unwrap();
    let manager = app.login("manager@demo.trellis.dev").await;
    let partner_c = app.login("ava.thompson@partners.example").await;
    let inbox = |c: reqwest::Client, q: Option<&'static str>| {
        let app = &app;
        async move {
            let mut form = vec![];
            if let Some(q) = q {
                form.push(("q", q));
            }
            let res = app.call(&c, "messages/inbox", &form).await;
            assert_eq!(res.status(), 200);
            res.json::<models::Inbox>().await.unwrap()
        }
    };
    let before = inbox(partner_c.clone(), None).await;

    // The team writes to Ava and to another partner.
    let start = |c: reqwest::Client, pid: i64, subject: &'static str, body: &'static str| {
        let app = &app;
        async move { app.call(&c, "messages/start", &[("partner_id", pid.to_string().as_str()), ("subject", subject), ("body", body)]).await }
    };
    let res = start(manager.clone(), ava.id, "Your September payout", "Hi Ava, your payout is on its way.").await;
    assert_eq!(res.status(), 200);
    let to_ava: i64 = res.json().await.unwrap();
    let to_other: i64 = start(manager.clone(), other.id, "Private to someone else", "Not for Ava").await.json().await.unwrap();

    // Ava sees her thread, unread, and not the other partner's.
    let mine = inbox(partner_c.clone(), None).await;
    assert_eq!(mine.threads.len(), before.threads.len() + 1);
    assert!(mine.threads.iter().all(|t| t.partner_id == ava.id));
    assert_eq!(mine.unread, before.unread + 1);
    assert_eq!(app.call(&partner_c, "messages/thread", &[("id", &to_other.to_string())]).await.status(), 404);
    assert_eq!(app.call(&partner_c, "messages/reply", &[("thread_id", &to_other.to_string()), ("body", "sneaky")]).await.status(), 404);
    // Reading clears her unread count; her reply is unread for the team.
    let t: models::ThreadView = app.call(&partner_c, "messages/thread", &[("id", &to_ava.to_string())]).await.json().await.unwrap();
    assert_eq!(t.messages.len(), 1);
    assert!(!t.messages[0].mine && t.messages[0].body.contains("on its way"));
    assert_eq!(inbox(partner_c.clone(), None).await.unread, before.unread);
    let team_before = inbox(manager.clone(), None).await.unread;
    assert_eq!(app.call(&partner_c, "messages/reply", &[("thread_id", &to_ava.to_string()), ("body", "Thank you! Which bank day?")]).await.status(), 200);
    let team = inbox(manager.clone(), None).await;
    assert_eq!(team.unread, team_before + 1);
    assert!(team.threads.iter().any(|t| t.id == to_ava && t.unread == 1 && t.snippet.contains("Which bank day")));
    // A partner naming another partner still writes only as itself.
    let own: i64 = start(partner_c.clone(), other.id, "A question", "About links").await.json().await.unwrap();
    let thread = backend::entities::message_thread::Entity::find_by_id(own).one(&app.db).await.unwrap().unwrap();
    assert_eq!(thread.partner_id, ava.id);

    // Search covers message text; analysts read but do not write; bad input is refused.
    let found = inbox(manager.clone(), Some("bank day")).await;
    assert_eq!(found.threads.iter().map(|t| t.id).collect::<Vec<_>>(), vec![to_ava]);
    let analyst = app.login("analyst@demo.trellis.dev").await;
    assert_eq!(start(analyst.clone(), ava.id, "Hi", "Hello").await.status(), 403);
    assert_eq!(app.call(&analyst, "messages/thread", &[("id", &to_ava.to_string())]).await.status(), 200);
    assert_eq!(start(manager.clone(), ava.id, "Empty", "   ").await.status(), 422);

    // Another account's team sees none of it.
    let stranger = backend::Actor {
        user_id: 9999,
        account_id: 999,
        account_name: "Other".into(),
        name: "Stranger".into(),
        email: "s@other.example".into(),
        roles: vec![models::Role::Admin],
        partner_id: None,
    };
    assert!(matches!(backend::comms::messaging::thread(&app.db, &stranger, to_ava).await, Err(backend::Error::NotFound(_))));
    assert!(backend::comms::messaging::inbox(&app.db, &stranger, None).await.unwrap().threads.is_empty());

    // Every message is on the partner's timeline, and the team's message emailed her a notice.
    let events = timeline_event::Entity::find()
        .filter(timeline_event::Column::PartnerId.eq(ava.id))
        .filter(timeline_event::Column::Kind.eq("message"))
        .count(&app.db)
        .await
        .unwrap();
    assert!(events >= 3);
    let notice = outbox_email::Entity::find().filter(outbox_email::Column::Subject.eq("New message: Your September payout")).one(&app.db).await.unwrap().unwrap();
    assert_eq!(notice.to_email, ava.email);
    assert!(notice.body_text.contains(&format!("{}/portal/messages?thread={to_ava}", app.base)), "{}", notice.body_text);
});

on_both!(a_broadcast_reaches_exactly_its_segment_once_and_counts_deliveries_and_opens, |b: Backend| async move {
    let (app, sink, cfg, _) = setup(b).await;
    let manager_actor = backend::access::auth::actor_for_user(&app.db, 2).await.unwrap();
    let gold = models::DirectoryQuery { tier: Some("Gold".into()), ..Default::default() };
    let seg = backend::partners::segments::save(&app.db, &manager_actor, app.clock.now(), "Gold partners", &gold).await.unwrap();
    // The members: active Gold enrollments' partners.
    let members: std::collections::BTreeSet<i64> = {
        let gold_tiers: Vec<i64> = backend::entities::tier::Entity::find().filter(backend::entities::tier::Column::Name.eq("Gold")).all(&app.db).await.unwrap().iter().map(|t| t.id).collect();
        enrollment::Entity::find()
            .filter(enrollment::Column::TierId.is_in(gold_tiers))
            .filter(enrollment::Column::Status.eq("active"))
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|e| e.partner_id)
            .collect()
    };
    assert!(!members.is_empty());
    let manager = app.login("manager@demo.trellis.dev").await;
    let preview: models::BroadcastPreview = app.call(&manager, "broadcasts/preview", &[("segment_id", &seg.to_string())]).await.json().await.unwrap();
    assert_eq!(preview.recipients as usize, members.len());
    let input = |send_at: Option<&str>| serde_json::json!({"input": {"segment_id": seg, "subject": "Holiday boost for {{name}}", "body": "Hi {{name}}, Gold earns more in {{program}} this month.", "send_at": send_at}});
    let res = app.call_json(&manager, "broadcasts/send", input(None)).await;
    assert_eq!(res.status(), 200);
    let id: i64 = res.json().await.unwrap();
    let emails = outbox_email::Entity::find().filter(outbox_email::Column::BroadcastId.eq(id)).all(&app.db).await.unwrap();
    assert_eq!(emails.iter().map(|e| e.partner_id.unwrap()).collect::<std::collections::BTreeSet<_>>(), members, "exactly the segment's members");
    assert_eq!(emails.len(), members.len(), "each once");
    assert!(emails.iter().all(|e| e.kind == "broadcast" && !e.subject.contains("{{")));
    // Delivered over SMTP, one opened: the figures follow.
    mail::deliver(&app.db, &cfg, app.clock.now() + Duration::seconds(5)).await.unwrap();
    assert_eq!(sink.containing("Subject: Holiday boost for").len(), members.len());
    let token = outbox_email::Entity::find_by_id(emails[0].id).one(&app.db).await.unwrap().unwrap().token.unwrap();
    app.client().get(app.url(&format!("/o/{token}"))).send().await.unwrap();
    let page: models::BroadcastsPage = app.call(&manager, "broadcasts/list", &[]).await.json().await.unwrap();
    let row = page.items.iter().find(|r| r.id == id).unwrap();
    assert_eq!((row.recipients as usize, row.delivered as usize, row.opened), (members.len(), members.len(), 1));
    assert_ne!(row.open_rate, "—");

    // Scheduled: nothing goes before its time; the job sends it once.
    let later = (app.clock.now() + Duration::hours(2)).format("%Y-%m-%dT%H:%M").to_string();
    let id2: i64 = app.call_json(&manager, "broadcasts/send", input(Some(&later))).await.json().await.unwrap();
    assert_eq!(outbox_email::Entity::find().filter(outbox_email::Column::BroadcastId.eq(id2)).count(&app.db).await.unwrap(), 0);
    backend::jobs::run_once(&app.db, Some("broadcasts"), app.clock.now() + Duration::hours(1), "t").await.unwrap();
    assert_eq!(outbox_email::Entity::find().filter(outbox_email::Column::BroadcastId.eq(id2)).count(&app.db).await.unwrap(), 0);
    for _ in 0..2 {
        backend::jobs::run_once(&app.db, Some("broadcasts"), app.clock.now() + Duration::hours(3), "t").await.unwrap();
    }
    assert_eq!(outbox_email::Entity::find().filter(outbox_email::Column::BroadcastId.eq(id2)).count(&app.db).await.unwrap() as usize, members.len());

    // Bad input is refused and nothing is written.
    let before = backend::entities::broadcast::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(app.call_json(&manager, "broadcasts/send", serde_json::json!({"input": {"segment_id": seg, "subject": "", "body": "x"}})).await.status(), 422);
    assert_eq!(app.call_json(&manager, "broadcasts/send", serde_json::json!({"input": {"subject": "x", "body": "x"}})).await.status(), 422);
    assert_eq!(app.call_json(&manager, "broadcasts/send", serde_json::json!({"input": {"program_id": 1, "subject": "x", "body": "x", "send_at": "yesterday"}})).await.status(), 422);
    assert_eq!(backend::entities::broadcast::Entity::find().count(&app.db).await.unwrap(), before);
});

/// Runs `trellis scheduler run-once --now T` as a user would, with mail going to the sink.
async fn run_once_at(app: &TestApp, sink: &Sink, now: chrono::DateTime<chrono::Utc>) {
    let (url, smtp, base) = (app.test_db.url.clone(), sink.url(), app.base.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(["scheduler", "run-once", "--now", &now.to_rfc3339()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", url)
            .env("TRELLIS_SMTP_URL", smtp)
            .env("TRELLIS_PUBLIC_URL", base)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "run-once failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A new partner of program 1, pending, then approved by the manager: the "approved" trigger.
async fn approved_partner(app: &TestApp, manager: &reqwest::Client, email: &str, name: &str) -> i64 {
    let res = app.call_json(manager, "partners/create", serde_json::json!({"email": email, "fields": {"name": name}, "program_id": 1})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id: i64 = res.json().await.unwrap();
    let res = app.call(manager, "partners/enrollment", &[("partner_id", &id.to_string()), ("program_id", "1"), ("what", "status"), ("value", "active")]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    id
}

on_both!(a_sequence_sends_its_steps_across_their_delays_once_and_stops_when_the_partner_converts, |b: Backend| async move {
    let (app, sink, _cfg, _) = setup(b).await;
    let manager = app.login("manager@demo.trellis.dev").await;
    let step = |h: i32, s: &str, t: &str| serde_json::json!({"delay_hours": h, "subject": s, "body": t});
    let input = serde_json::json!({"input": {"id": null, "program_id": 1, "name": "Onboarding", "trigger": "approved", "stop_on_conversion": true, "active": true, "steps": [
        step(0, "Welcome {{partner_name}}", "You start as {{tier}} at {{rate}}. {{next_tier_missing}}\nYour portal: {{portal_url}}"),
        step(48, "Day two, {{partner_name}}", "Pending so far: {{earnings_pending}}"),
        step(72, "Last tips for {{partner_name}}", "Share {{link}}"),
    ]}});
    let res = app.call_json(&manager, "sequences/save", input).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let seq: i64 = res.json().await.unwrap();

    let t0 = app.clock.now();
    let a = approved_partner(&app, &manager, "seq.a@partners.example", "Sequence Alpha").await;
    let bp = approved_partner(&app, &manager, "seq.b@partners.example", "Sequence Beta").await;
    let runs = backend::entities::sequence_run::Entity::find().filter(backend::entities::sequence_run::Column::SequenceId.eq(seq)).count(&app.db).await.unwrap();
    assert_eq!(runs, 2, "each approved partner entered once");

    // Step 1 goes out at once (delay 0), with the partner's own data.
    run_once_at(&app, &sink, t0 + Duration::minutes(1)).await;
    let got = sink.containing("Subject: Welcome Sequence Alpha");
    assert_eq!(got.len(), 1, "step 1 arrived once");
    assert!(got[0].contains("You start as Bronze at 10%"), "tier and rate filled: {}", got[0]);
    assert!(got[0].contains(&format!("{}/portal", app.base)), "portal link filled");
    assert!(!got[0].contains("{{"), "no variable left");
    assert_eq!(sink.containing("Subject: Welcome Sequence Beta").len(), 1);

    // Nothing more before the 48 hours have passed.
    run_once_at(&app, &sink, t0 + Duration::hours(1)).await;
    assert!(sink.containing("Subject: Day two").is_empty());

    // Beta converts: its run stops before step 2; Alpha gets step 2 once, however often the job runs.
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    let res = app.client().post(app.url("/api/v1/conversions")).bearer_auth(&key)
        .json(&serde_json::json!({"program_id": 1, "external_id": "seq-b-1", "amount": "80.00", "partner_id": bp})).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    for _ in 0..2 {
        run_once_at(&app, &sink, t0 + Duration::hours(50)).await;
    }
    assert_eq!(sink.containing("Subject: Day two, Sequence Alpha").len(), 1);
    assert!(sink.containing("Subject: Day two, Sequence Beta").is_empty(), "the stop condition held");

    run_once_at(&app, &sink, t0 + Duration::hours(50 + 73)).await;
    let last = sink.containing("Subject: Last tips for Sequence Alpha");
    assert_eq!(last.len(), 1);
    assert!(last[0].contains(&format!("{}/portal/links", app.base)) || last[0].contains("/r/"), "the link variable: {}", last[0]);

    let admin = app.login("admin@demo.trellis.dev").await;
    let detail: models::SequenceDetail = app.call(&admin, "sequences/detail", &[("id", &seq.to_string())]).await.json().await.unwrap();
    let progress = |pid: i64| detail.runs.iter().find(|r| r.partner_id == pid).unwrap().clone();
    assert_eq!(progress(a).status, "completed");
    assert_eq!(progress(a).progress, "all 3 emails sent");
    assert_eq!(progress(bp).status, "stopped");
    assert!(progress(bp).progress.contains("converted"), "{}", progress(bp).progress);
    let list: models::SequencesPage = app.call(&admin, "sequences/list", &[]).await.json().await.unwrap();
    let row = list.items.iter().find(|s| s.id == seq).unwrap();
    assert_eq!((row.completed, row.stopped, row.running, row.steps), (1, 1, 0, 3));
    // The partner's timeline tells the story.
    let lines: Vec<String> = timeline_event::Entity::find()
        .filter(timeline_event::Column::PartnerId.eq(a))
        .filter(timeline_event::Column::Kind.eq("sequence"))
        .all(&app.db).await.unwrap().into_iter().map(|t| t.summary).collect();
    assert_eq!(lines.len(), 4, "entered + three emails: {lines:?}");

    // One entry per trigger occurrence: the same occurrence again starts nothing.
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(a)).one(&app.db).await.unwrap().unwrap();
    assert_eq!(backend::comms::sequences::enter(&app.db, app.clock.now(), &e, "approved", format!("approved:{}", e.id)).await.unwrap(), 0);

    // Bad input is refused, naming the field, and nothing changes.
    let bad = serde_json::json!({"input": {"id": seq, "program_id": 1, "name": "Onboarding", "trigger": "approved", "stop_on_conversion": true, "active": true,
        "steps": [step(0, "Hi {{partner_nmae}}", "x")]}});
    let res = app.call_json(&manager, "sequences/save", bad).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("partner_nmae"));
    let res = app.call_json(&manager, "sequences/save", serde_json::json!({"input": {"id": null, "program_id": 1, "name": "x", "trigger": "sometimes", "stop_on_conversion": false, "active": true, "steps": [step(0, "a", "b")]}})).await;
    assert_eq!(res.status(), 422);
    let again: models::SequenceDetail = app.call(&admin, "sequences/detail", &[("id", &seq.to_string())]).await.json().await.unwrap();
    assert_eq!(again.sequence.steps.len(), 3);
});

on_both!(program_templates_word_system_emails_with_variables_and_preview_with_a_real_partner, |b: Backend| async move {
    let (app, sink, cfg, p) = setup(b).await;
    let manager = app.login("manager@demo.trellis.dev").await;
    let page: models::TemplatesPage = app.call(&manager, "templates/page", &[("program_id", "1")]).await.json().await.unwrap();
    assert!(page.templates.iter().any(|t| t.kind == "tier_upgraded" && !t.customized));
    assert!(page.variables.iter().any(|v| v.name == "next_tier_missing"));
    let save = |subject: &str, body: &str| serde_json::json!({"input": {"program_id": 1, "kind": "tier_upgraded", "subject": subject, "body": body}});
    let res = app.call_json(&manager, "templates/save", save("{{partner_name}}, welcome to {{tier}}", "Your rate is now {{rate}}. Next: {{next_tier}}. Approved so far: {{earnings_approved}}.")).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(app.call(&manager, "templates/footer", &[("program_id", "1"), ("footer", "Northwind Inc., 1 Harbour Road, Portland")]).await.status(), 200);

    // The preview fills the variables with the chosen partner's data, in the program's branding.
    let preview: models::EmailPreview = app
        .call_json(&manager, "templates/preview", serde_json::json!({"input": {"program_id": 1, "partner_id": p.id, "subject": "Hi {{partner_name}}", "body": "You are {{tier}} and earn {{rate}}."}}))
        .await.json().await.unwrap();
    assert_eq!(preview.subject, format!("Hi {}", p.name));
    assert!(!preview.text.contains("{{") && preview.text.contains("Northwind Inc., 1 Harbour Road"), "{}", preview.text);
    assert!(preview.html.contains("Northwind Inc., 1 Harbour Road") && preview.html.contains("#"), "branded HTML");
    let res = app.call_json(&manager, "templates/preview", serde_json::json!({"input": {"program_id": 1, "subject": "Hi {{nope}}", "body": "x"}})).await;
    assert_eq!(res.status(), 422);

    // An upgrade uses the program's wording.
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(p.id)).filter(enrollment::Column::ProgramId.eq(1)).one(&app.db).await.unwrap().unwrap();
    let tiers = backend::programs::tiers(&app.db, 1).await.unwrap();
    let current = tiers.iter().find(|t| t.id == e.tier_id).unwrap().rank;
    let Some(up) = tiers.iter().filter(|t| t.rank > current).min_by_key(|t| t.rank) else { return };
    // As the tier engine words an upgrade to the next tier:
    let mut after = e.clone();
    after.tier_id = up.id;
    let (subject, text) = backend::comms::templates::compose(&app.db, &after, "tier_upgraded", app.clock.now(), |_| {}).await.unwrap();
    assert_eq!(subject, format!("{}, welcome to {}", p.name, up.name));
    assert!(text.starts_with("Your rate is now") && !text.contains("{{"), "{text}");
    outbox::queue(&app.db, app.clock.now(), NewEmail { account_id: 1, program_id: Some(1), partner_id: Some(p.id), kind: "tier_upgraded", to: &p.email, subject: subject.clone(), text, dedupe_key: None }).await.unwrap();
    mail::deliver(&app.db, &cfg, app.clock.now() + Duration::seconds(5)).await.unwrap();
    let got = sink.containing(&format!("Subject: {subject}"));
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("Northwind Inc., 1 Harbour Road"), "the footer arrives: {}", got[0]);

    // Unknown variables are refused and the saved wording stays.
    let res = app.call_json(&manager, "templates/save", save("Hi {{partner}}", "x")).await;
    assert_eq!(res.status(), 422);
    let page: models::TemplatesPage = app.call(&manager, "templates/page", &[("program_id", "1")]).await.json().await.unwrap();
    let t = page.templates.iter().find(|t| t.kind == "tier_upgraded").unwrap();
    assert!(t.customized && t.subject == "{{partner_name}}, welcome to {{tier}}");
    // Saving the built-in wording returns to it.
    let (_, _, ds, dbody) = backend::comms::templates::KINDS.iter().find(|k| k.0 == "tier_upgraded").unwrap();
    assert_eq!(app.call_json(&manager, "templates/save", save(ds, dbody)).await.status(), 200);
    let page: models::TemplatesPage = app.call(&manager, "templates/page", &[("program_id", "1")]).await.json().await.unwrap();
    assert!(!page.templates.iter().find(|t| t.kind == "tier_upgraded").unwrap().customized);
});

on_both!(every_trigger_enters_its_sequences_once_per_occurrence, |b: Backend| async move {
    use backend::entities::sequence_run;
    let app = TestApp::with_demo(b).await;
    let manager_actor = backend::access::auth::actor_for_user(&app.db, 2).await.unwrap();
    let now = app.clock.now();
    let mut ids = std::collections::BTreeMap::new();
    for (trigger, _) in backend::comms::sequences::TRIGGERS {
        let input = models::SequenceInput {
            id: None,
            program_id: 1,
            name: format!("On {trigger}"),
            trigger: trigger.to_string(),
            stop_on_conversion: false,
            active: true,
            steps: vec![models::SequenceStepInput { delay_hours: 0, subject: format!("{trigger} for {{{{partner_name}}}}"), body: "{{tier}}".into() }],
        };
        ids.insert(*trigger, backend::comms::sequences::save(&app.db, now, &manager_actor, &input).await.unwrap());
    }
    let manager = app.login("manager@demo.trellis.dev").await;
    let pid = approved_partner(&app, &manager, "triggers@partners.example", "Trigger Tess").await;
    let runs = |trigger: &'static str| {
        let (db, seq) = (app.db.clone(), ids[trigger]);
        async move {
            sequence_run::Entity::find().filter(sequence_run::Column::SequenceId.eq(seq)).filter(sequence_run::Column::PartnerId.eq(pid)).count(&db).await.unwrap()
        }
    };
    assert_eq!((runs("enrolled").await, runs("approved").await), (1, 1));
    assert_eq!(runs("first_conversion").await, 0);
    // Six conversions: the first enters "first conversion" once; the fifth reaches Silver.
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    for i in 0..6 {
        let res = app.client().post(app.url("/api/v1/conversions")).bearer_auth(&key)
            .json(&serde_json::json!({"program_id": 1, "external_id": format!("trig-{i}"), "amount": "40.00", "partner_id": pid})).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    assert_eq!(runs("first_conversion").await, 1);
    assert_eq!(runs("tier_upgraded").await, 1, "the upgrade to Silver entered once");
    // A hundred quiet days later: dormant, and the health score falls below the threshold.
    let later = now + Duration::days(100);
    for _ in 0..2 {
        backend::jobs::run_once(&app.db, Some("dormant_detection"), later, "t").await.unwrap();
        backend::partners::health::refresh(&app.db, later).await.unwrap();
    }
    assert_eq!(runs("dormant").await, 1);
    assert_eq!(runs("at_risk").await, 1, "entered once although the score was computed twice");
    // The steps go out with the partner's data.
    backend::comms::sequences::advance(&app.db, later + Duration::minutes(1)).await.unwrap();
    let sent = outbox_email::Entity::find().filter(outbox_email::Column::Kind.eq("sequence")).filter(outbox_email::Column::PartnerId.eq(pid)).all(&app.db).await.unwrap();
    assert_eq!(sent.len(), 6, "{:?}", sent.iter().map(|e| &e.subject).collect::<Vec<_>>());
    assert!(sent.iter().all(|e| e.subject.ends_with("for Trigger Tess")));
});
