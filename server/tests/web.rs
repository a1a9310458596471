//! The walking skeleton over real HTTP, on SQLite and PostgreSQL: sign-in and sessions, the
//! guard of every server function, account isolation, the directory, health and CSRF.

mod common;

use server::demo::DEMO_PASSWORD;
use common::{Backend, TestApp};
use models::{DirectoryPage, EnrollmentStatus, PortalHome, SessionInfo};

const MANAGER: &str = "manager@demo.trellis.dev";
const PARTNER: &str = "ava.thompson@partners.example";

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("trellis_session="))
        .map(str::to_string)
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn directory(app: &TestApp, c: &reqwest::Client, form: &[(&str, &str)]) -> DirectoryPage {
    let query = models::DirectoryQuery::from_pairs(form.iter().copied());
    let res = app.call_json(c, "directory", serde_json::json!({ "query": query })).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

on_both!(every_server_function_but_login_refuses_a_visitor_with_401, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.client();
    let paths = common::server_fn_paths();
    assert!(paths.len() >= 12, "server functions are registered: {paths:?}");
    for path in paths.iter().filter(|p| *p != "/api/login" && !p.starts_with("/api/public/")) {
        let res = app.call_sample(&c, path).await;
        assert_eq!(res.status(), 401, "{path} must refuse a visitor");
    }
    // One-time-link functions are public: the token is the credential, and a bad one finds nothing.
    for path in paths.iter().filter(|p| p.starts_with("/api/public/") && *p != "/api/public/forgot_password") {
        assert_eq!(app.call_sample(&c, path).await.status(), 404, "{path} with a bad token");
    }
    // "Forgot password?" answers the same for any address, so it reveals nothing.
    assert_eq!(app.call_sample(&c, "/api/public/forgot_password").await.status(), 200);
});

// Who may call what: every server function against every kind of user. Calls a role lacks
// the right for answer 403 and change nothing.
on_both!(the_authorization_matrix_refuses_every_role_lacking_the_right, |b: Backend| async move {
    use backend::entities::{ledger_entry, payout_batch};
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = TestApp::with_demo(b).await;
    let key = backend::access::auth::create_api_key(&app.db, &app.clock, 1, "t").await.unwrap().secret;
    app.client()
        .post(app.url("/api/v1/conversions"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"program_id": 1, "external_id": "m1", "amount": "10.00", "partner_id": 1}))
        .send()
        .await
        .unwrap();
    let users = [
        ("admin", "admin@demo.trellis.dev"),
        ("program_manager", MANAGER),
        ("relationship_owner", "owner@demo.trellis.dev"),
        ("analytics_viewer", "analyst@demo.trellis.dev"),
        ("finance_approver", "finance@demo.trellis.dev"),
        ("partner", PARTNER),
    ];
    let allowed = |path: &str, who: &str| -> bool {
        match path {
            "/api/me" | "/api/logout" | "/api/login" => true,
            "/api/partners/review_document" => matches!(who, "admin" | "program_manager" | "finance_approver"),
            "/api/partners/compliance" => who != "partner",
            // Every team member's Settings page asks; only admins get a figure (settings.rs).
            "/api/settings/storage" => who != "partner",
            "/api/directory" | "/api/conversions/detail" | "/api/links/list" | "/api/tiers/rules" | "/api/tiers/simulate" | "/api/partners/profile"
            | "/api/segments/list" | "/api/fields/list" | "/api/partners/timeline" | "/api/partners/note" => who != "partner",
            "/api/directory/bulk" | "/api/segments/save" | "/api/partners/create" | "/api/partners/update" | "/api/partners/enrollment" => {
                matches!(who, "admin" | "program_manager" | "relationship_owner")
            }
            "/api/segments/delete" => matches!(who, "admin" | "program_manager"),
            p if p.starts_with("/api/fields/") => who == "admin",
            p if p.starts_with("/api/imports/") => matches!(who, "admin" | "program_manager"),
            "/api/tiers/save" => matches!(who, "admin" | "program_manager"),
            "/api/analytics/save_health_settings" => matches!(who, "admin" | "program_manager"),
            p if p.starts_with("/api/analytics/") => who != "partner",
            p if p.starts_with("/api/public/") => true,
            // Both sides message; the service scopes each (tested in communication.rs).
            p if p.starts_with("/api/messages/") => true,
            "/api/broadcasts/send" => matches!(who, "admin" | "program_manager"),
            p if p.starts_with("/api/broadcasts/") => who != "partner",
            "/api/templates/save" | "/api/templates/footer" | "/api/sequences/save" => matches!(who, "admin" | "program_manager"),
            p if p.starts_with("/api/templates/") || p.starts_with("/api/sequences/") => who != "partner",
            p if p.starts_with("/api/profile/") => who != "partner",
            "/api/settings/programs" | "/api/settings/update_program" => matches!(who, "admin" | "program_manager"),
            p if p.starts_with("/api/settings/") => who == "admin",
            p if p.starts_with("/api/portal/") => who == "partner",
            "/api/links/create" => matches!(who, "admin" | "program_manager" | "relationship_owner"),
            "/api/finance/adjust" => matches!(who, "admin" | "finance_approver" | "program_manager"),
            p if p.starts_with("/api/finance/") => matches!(who, "admin" | "finance_approver"),
            other => panic!("no rule for {other} in the authorization matrix"),
        }
    };
    let state = |db: sea_orm::DatabaseConnection| async move {
        let entries = ledger_entry::Entity::find().all(&db).await.unwrap();
        let statuses: Vec<(i64, String)> = entries.iter().map(|e| (e.id, e.status.clone())).collect();
        (statuses, payout_batch::Entity::find().count(&db).await.unwrap())
    };
    let links = || async { backend::entities::link::Entity::find().count(&app.db).await.unwrap() };
    let links_before = links().await;
    let before = state(app.db.clone()).await;
    for (who, email) in users {
        let c = app.login(email).await;
        for path in common::server_fn_paths() {
            if allowed(&path, who) || path == "/api/logout" || path == "/api/login" {
                continue;
            }
            let res = app.call_sample(&c, &path).await;
            assert_eq!(res.status(), 403, "{who} calling {path}");
        }
    }
    assert_eq!(state(app.db.clone()).await, before, "refused calls changed nothing");
    assert_eq!(links().await, links_before, "no link created by a refused call");
});

on_both!(a_partner_user_calling_a_team_function_gets_403, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let partner = app.login(PARTNER).await;
    assert_eq!(app.call_json(&partner, "directory", serde_json::json!({"query": {}})).await.status(), 403);
    let manager = app.login(MANAGER).await;
    assert_eq!(app.call(&manager, "portal/home", &[]).await.status(), 403);
    let home: PortalHome = app.call(&partner, "portal/home", &[]).await.json().await.unwrap();
    assert_eq!(home.partner_name, "Ava Thompson");
    assert_eq!(home.enrollments.len(), 1);
});

on_both!(a_team_user_of_one_account_never_sees_another_accounts_partners, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    // Account B with its own program, tier, partner and admin.
    let clock = app.clock.clone();
    let other = backend::access::accounts::ensure_account(&app.db, &clock, "other", Some("Other Co")).await.unwrap();
    backend::access::accounts::create_user(
        &app.db,
        &clock,
        other.id,
        backend::access::accounts::NewUser { email: "admin@other.example", name: None, password: DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None },
    )
    .await
    .unwrap();
    let demo_admin = app.login("admin@demo.trellis.dev").await;
    let other_admin = app.login("admin@other.example").await;

    let page = directory(&app, &other_admin, &[]).await;
    assert_eq!(page.list.total, 0, "account B sees none of account A's partners");
    assert!(page.programs.is_empty());
    let demo_program = directory(&app, &demo_admin, &[]).await.programs[0].id.to_string();
    let page = directory(&app, &other_admin, &[("program_id", &demo_program)]).await;
    assert_eq!(page.list.total, 0, "naming account A's program does not help");
    assert!(page.list.items.is_empty());
});

on_both!(the_directory_counts_filters_searches_and_pages_on_the_server, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let all = directory(&app, &c, &[]).await;
    assert_eq!(all.counts.all, server::demo::DEMO_PARTNERS as u64);
    assert_eq!(all.list.total, all.counts.all);
    assert_eq!(all.list.items.len(), 50);
    let sum = all.counts.active + all.counts.pending + all.counts.paused + all.counts.suspended;
    assert!(sum < all.counts.all, "the demo has rejected applications too");
    assert!(all.counts.active > 0 && all.counts.pending > 0 && all.counts.paused > 0 && all.counts.suspended > 0);

    for status in [EnrollmentStatus::Active, EnrollmentStatus::Pending, EnrollmentStatus::Paused] {
        let page = directory(&app, &c, &[("status", status.as_str()), ("page", "1")]).await;
        assert!(page.list.items.iter().all(|r| r.status == status));
        assert_eq!(page.counts, all.counts, "counts ignore the status filter");
    }
    let active = directory(&app, &c, &[("status", "active")]).await;
    assert_eq!(active.list.total, all.counts.active);

    let page3 = directory(&app, &c, &[("page", "3")]).await;
    assert_eq!(page3.list.items.len(), 50);
    let mut names: Vec<_> = all.list.items.iter().chain(directory(&app, &c, &[("page", "2")]).await.list.items.iter()).map(|r| r.email.clone()).collect();
    names.extend(page3.list.items.iter().map(|r| r.email.clone()));
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 150, "pages do not overlap");

    let found = directory(&app, &c, &[("q", "THOMPSON")]).await;
    assert!(found.list.total > 0 && found.list.items.iter().all(|r| r.name.contains("Thompson") || r.email.contains("thompson")));
    let none = directory(&app, &c, &[("q", "%")]).await;
    assert_eq!(none.list.total, 0, "LIKE wildcards in the search are literal");

    let bad = app.call_json(&c, "directory", serde_json::json!({"query": {"per_page": 500}})).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("per_page"));
});

on_both!(signing_in_rotates_the_session_id_and_sets_strict_http_only_cookies, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.client();
    let first = app.call(&c, "login", &[("email", MANAGER), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(first.status(), 200);
    let cookie1 = session_cookie(&first).expect("a session cookie");
    let lower = cookie1.to_lowercase();
    assert!(lower.contains("httponly") && lower.contains("samesite=strict"), "{cookie1}");
    assert!(!lower.contains("secure"), "no Secure flag over plain http");
    let second = app.call(&c, "login", &[("email", MANAGER), ("password", DEMO_PASSWORD)]).await;
    let cookie2 = session_cookie(&second).expect("a new session cookie");
    assert_ne!(cookie_pair(&cookie1), cookie_pair(&cookie2), "the id changes at sign-in");

    // The old id no longer signs anybody in.
    let raw = reqwest::Client::new();
    let res = raw.post(app.url("/api/me")).header("cookie", cookie_pair(&cookie1)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = raw.post(app.url("/api/me")).header("cookie", cookie_pair(&cookie2)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let me: SessionInfo = res.json().await.unwrap();
    assert_eq!(me.email, MANAGER);
    assert_eq!(me.roles, vec![models::Role::ProgramManager]);
});

on_both!(signing_out_revokes_the_session_on_the_server, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.client();
    let res = app.call(&c, "login", &[("email", MANAGER), ("password", DEMO_PASSWORD)]).await;
    let cookie = cookie_pair(&session_cookie(&res).unwrap());
    assert_eq!(app.call(&c, "logout", &[]).await.status(), 200);
    let raw = reqwest::Client::new();
    let replay = raw.post(app.url("/api/directory")).header("cookie", cookie).json(&serde_json::json!({"query": {}})).send().await.unwrap();
    assert_eq!(replay.status(), 401, "a copied cookie is useless after sign-out");
});

on_both!(wrong_passwords_are_refused_and_throttled_per_email, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.client();
    let res = app.call(&c, "login", &[("email", "nobody@nowhere.example"), ("password", "whatever1")]).await;
    assert_eq!(res.status(), 401);
    for _ in 0..4 {
        let res = app.call(&c, "login", &[("email", MANAGER), ("password", "wrong-password")]).await;
        assert_eq!(res.status(), 401);
        let err: app::error::AppError = res.json().await.unwrap();
        assert_eq!(err, app::error::AppError::BadCredentials);
    }
    // Five failures from this IP in the last minute: even the right password waits.
    let res = app.call(&c, "login", &[("email", MANAGER), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(res.status(), 429);
});

on_both!(cross_site_posts_with_a_valid_session_change_nothing, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let c = app.login(MANAGER).await;
    let res = c.post(app.url("/api/logout")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = c.post(app.url("/api/logout")).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.call(&c, "me", &[]).await.status(), 200, "still signed in");
    let res = c.post(app.url("/api/logout")).header("sec-fetch-site", "same-origin").send().await.unwrap();
    assert_eq!(res.status(), 200);
});

on_both!(pages_render_on_the_server_and_send_visitors_to_sign_in, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let visitor = app.client();
    let res = visitor.get(app.url("/directory")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login");
    let login = visitor.get(app.url("/login")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.text().await.unwrap().contains("Sign in"));

    let c = app.login(MANAGER).await;
    let html = c.get(app.url("/directory?status=active")).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Partner directory") && html.contains("<tbody>"));
    assert!(html.contains("status-active") && !html.contains("status-pending\""));
    let missing = c.get(app.url("/no-such-page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(missing.status(), 404);
});

on_both!(health_answers_and_readiness_follows_the_database, |b: Backend| async move {
    let app = TestApp::spawn(b).await;
    let c = app.client();
    assert_eq!(c.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    app.db.clone().close().await.unwrap();
    assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), 503);
    assert_eq!(c.get(app.url("/healthz")).send().await.unwrap().status(), 200);
});

on_both!(the_demo_loads_once_and_again_changes_nothing, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let logins = server::demo::load(&app.db, &app.clock).await.unwrap();
    assert_eq!(logins.len(), 6);
    let c = app.login(MANAGER).await;
    assert_eq!(directory(&app, &c, &[]).await.counts.all, 150);
});

on_both!(partners_create_and_see_their_own_links_only, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let partner = app.login(PARTNER).await;
    let url: String = app.call(&partner, "portal/create_link", &[("program_id", "1"), ("destination", "https://shop.northwind.example/boots")]).await.json().await.unwrap();
    assert!(url.contains("/r/"));
    let bad = app.call(&partner, "portal/create_link", &[("program_id", "1"), ("destination", "https://evil.example/")]).await;
    assert_eq!(bad.status(), 422);
    let code = url.rsplit('/').next().unwrap();
    for _ in 0..3 {
        let res = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
            .get(app.url(&format!("/r/{code}"))).header("user-agent", "Mozilla/5.0 Firefox/128.0").send().await.unwrap();
        assert_eq!(res.status(), 302);
    }
    app.clicks.flush().await.unwrap();
    let links: Vec<models::LinkRow> = app.call(&partner, "portal/links", &[]).await.json().await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].clicks, links[0].conversions), (3, 0));
    assert_eq!(links[0].destination, "https://shop.northwind.example/boots");
    // A partner cannot create links for, or list, another partner.
    assert_eq!(app.call(&partner, "links/list", &[("partner_id", "2")]).await.status(), 403);
    assert_eq!(app.call(&partner, "links/create", &[("partner_id", "2"), ("program_id", "1")]).await.status(), 403);
    let manager = app.login(MANAGER).await;
    let team_view: Vec<models::LinkRow> = app.call(&manager, "links/list", &[("partner_id", "1")]).await.json().await.unwrap();
    assert_eq!(team_view, links);
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let active = backend::entities::enrollment::Entity::find()
        .filter(backend::entities::enrollment::Column::PartnerId.ne(1))
        .filter(backend::entities::enrollment::Column::Status.eq("active"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let made: String = app.call(&manager, "links/create", &[("partner_id", &active.partner_id.to_string()), ("program_id", "1")]).await.json().await.unwrap();
    assert!(made.contains("/r/"));
});

on_both!(a_partner_profile_shows_the_timeline_to_the_team_of_its_account_only, |b: Backend| async move {
    let app = TestApp::with_full_demo(b).await;
    let manager = app.login(MANAGER).await;
    let p: models::PartnerProfile = app.call(&manager, "partners/profile", &[("id", "1")]).await.json().await.unwrap();
    assert_eq!(p.name, "Ava Thompson");
    assert!(p.timeline.list.items.iter().any(|t| t.kind == "conversion"));
    assert!(p.timeline.kinds.contains(&"enrolled".to_string()));
    let only: models::PartnerProfile = app.call(&manager, "partners/profile", &[("id", "1"), ("kind", "enrolled")]).await.json().await.unwrap();
    assert!(!only.timeline.list.items.is_empty() && only.timeline.list.items.iter().all(|t| t.kind == "enrolled"));
    let html = manager.get(app.url("/partners/1")).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Activity timeline") && html.contains("Ava Thompson"));
    let other = backend::access::accounts::ensure_account(&app.db, &app.clock, "other", None).await.unwrap();
    backend::access::accounts::create_user(&app.db, &app.clock, other.id, backend::access::accounts::NewUser { email: "o@other.example", name: None, password: DEMO_PASSWORD, roles: &[models::Role::Admin], partner_id: None }).await.unwrap();
    let outsider = app.login("o@other.example").await;
    assert_eq!(app.call(&outsider, "partners/profile", &[("id", "1")]).await.status(), 404);
});

/// Idle and trickling connections (targets.md R23), with the timeouts set small for the test:
/// the limits are the same code paths as the 30 s / 60 s defaults.
mod connection_limits {
    use super::*;
    use common::Spawn;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const HEADER_SECS: f64 = 1.0;
    const IDLE_SECS: f64 = 2.0;

    async fn spawn(max_connections: usize) -> TestApp {
        TestApp::spawn_with(
            Backend::Sqlite,
            Spawn {
                env: vec![
                    ("TRELLIS_HEADER_TIMEOUT_SECS", HEADER_SECS.to_string()),
                    ("TRELLIS_IDLE_TIMEOUT_SECS", IDLE_SECS.to_string()),
                    ("TRELLIS_MAX_CONNECTIONS", max_connections.to_string()),
                ],
                ..Default::default()
            },
        )
        .await
    }

    fn addr(app: &TestApp) -> String {
        app.base.trim_start_matches("http://").to_string()
    }

    /// Waits until the server closes `s` (EOF or reset) and says after how long, reading and
    /// discarding whatever arrives; gives up after a minute.
    async fn closed_after(mut s: TcpStream, since: Instant) -> Duration {
        let mut buf = [0u8; 4096];
        let deadline = Duration::from_secs(60);
        loop {
            match tokio::time::timeout(deadline.saturating_sub(since.elapsed()), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return since.elapsed(),
                Ok(Ok(_)) => continue,
                Err(_) => panic!("the connection was still open after a minute"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_silent_and_trickling_connections_are_closed_on_time_while_a_normal_client_is_served() {
        let app = spawn(100).await;
        let started = Instant::now();
        let mut silent = Vec::new();
        for _ in 0..60 {
            silent.push(TcpStream::connect(addr(&app)).await.unwrap());
        }
        // A slow-header client: a request line, then one header byte every 100 ms, never the end.
        let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        let trickle = tokio::spawn(async move {
            let t0 = Instant::now();
            loop {
                if slow.write_all(b"a").await.is_err() {
                    return t0.elapsed();
                }
                let mut probe = [0u8; 1];
                match tokio::time::timeout(Duration::from_millis(100), slow.read(&mut probe)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return t0.elapsed(),
                    _ => {}
                }
                assert!(t0.elapsed() < Duration::from_secs(60), "the trickling connection was never closed");
            }
        });
        // A keep-alive client that made one request and then says nothing.
        let mut keep = TcpStream::connect(addr(&app)).await.unwrap();
        keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        let n = keep.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "the keep-alive client was served");
        let answered = Instant::now();

        // Meanwhile a normal client is served at once.
        // (No pooled connections: the server closes an idle one while the test waits, and reusing
        // it would race with that close.)
        let normal = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(0).build().unwrap();
        assert_eq!(normal.get(app.url("/healthz")).send().await.unwrap().status(), 200);

        let header = Duration::from_secs_f64(HEADER_SECS);
        for s in silent {
            let after = closed_after(s, started).await;
            assert!(after >= header.mul_f64(0.9), "a silent connection was closed early ({after:?})");
        }
        let trickled = trickle.await.unwrap();
        assert!(trickled >= header.mul_f64(0.9), "the trickling connection was closed early ({trickled:?})");
        let idle = closed_after(keep, answered).await;
        assert!(
            idle >= Duration::from_secs_f64(IDLE_SECS * 0.9),
            "an idle keep-alive connection is closed after the idle timeout, not the header one ({idle:?})"
        );
        // A normal client is still served after all that.
        assert_eq!(normal.get(app.url("/healthz")).send().await.unwrap().status(), 200);
        let metrics = normal.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let closed = metrics
            .lines()
            .find(|l| l.starts_with("trellis_http_connections_closed_total{reason=\"header_timeout\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default();
        assert!(closed >= 61, "closed connections are counted: {metrics}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_connection_cap_a_new_client_waits_for_a_free_slot_and_is_then_served() {
        let app = spawn(3).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(TcpStream::connect(addr(&app)).await.unwrap());
        }
        let started = Instant::now();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let res = client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            started.elapsed() >= Duration::from_secs_f64(HEADER_SECS * 0.9),
            "the fourth connection waited until a silent one was closed ({:?})",
            started.elapsed()
        );
        drop(held);
    }
}

// Every server function, its sample arguments with a NUL put into each text: 422 naming the
// argument, in the app's error encoding, on both engines; never a 5xx.
on_both!(every_server_function_refuses_a_nul_in_any_text_argument, |b: Backend| async move {
    let app = TestApp::with_demo(b).await;
    let admin = app.login("admin@demo.trellis.dev").await;
    fn poison(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => {
                s.push('\u{0}');
                true
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |any, i| poison(i) || any),
            serde_json::Value::Object(map) => map.values_mut().fold(false, |any, i| poison(i) || any),
            _ => false,
        }
    }
    let mut tried = 0;
    for path in common::server_fn_paths() {
        let req = admin.post(app.url(&path));
        let req = match common::sample_args(&path) {
            common::Args::Form(pairs) => {
                let Some(first_text) = pairs.iter().position(|(_, v)| v.parse::<f64>().is_err() && *v != "true" && *v != "false") else { continue };
                let pairs: Vec<(String, String)> =
                    pairs.iter().enumerate().map(|(i, (k, v))| (k.to_string(), if i == first_text { format!("{v}\u{0}") } else { v.to_string() })).collect();
                req.form(&pairs)
            }
            common::Args::Json(mut v) => {
                if !poison(&mut v) {
                    continue;
                }
                req.json(&v)
            }
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(status, 422, "{path}: {body}");
        let message = body["Invalid"].as_str().unwrap_or_else(|| panic!("{path}: the app's Invalid error: {body}"));
        assert!(message.contains("U+0000"), "{path}: {message}");
        tried += 1;
    }
    assert!(tried >= 30, "tried {tried} server functions");
});

on_both!(pages_carry_security_headers_and_metrics_can_need_a_token, |b: Backend| async move {
    let app = TestApp::spawn_with(
        b,
        common::Spawn { env: vec![("TRELLIS_METRICS_TOKEN", "metrics-token-0123456789".into()), ("TRELLIS_PUBLIC_URL", "https://partners.example".into())], ..Default::default() },
    )
    .await;
    let res = app.client().get(app.url("/login")).send().await.unwrap();
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert!(h["strict-transport-security"].to_str().unwrap().starts_with("max-age="), "HSTS over https");
    // Tracking redirects keep the partner page's referrer for the merchant.
    let res = app.client().get(app.url("/r/nosuchcode")).send().await.unwrap();
    assert!(res.headers().get("referrer-policy").is_none());
    // /metrics: only with the bearer token.
    assert_eq!(app.client().get(app.url("/metrics")).send().await.unwrap().status(), 401);
    assert_eq!(app.client().get(app.url("/metrics")).bearer_auth("wrong-token-0123456789").send().await.unwrap().status(), 401);
    let res = app.client().get(app.url("/metrics")).bearer_auth("metrics-token-0123456789").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("trellis_clicks_shed"));
});

on_both!(links_for_a_partner_need_its_owner_or_a_manager_of_the_program, |b: Backend| async move {
    use backend::entities::{enrollment, partner, program, user};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = TestApp::with_demo(b).await;
    let owner_id = user::Entity::find().filter(user::Column::Email.eq("owner@demo.trellis.dev")).one(&app.db).await.unwrap().unwrap().id;
    let partners = partner::Entity::find().all(&app.db).await.unwrap();
    let enrolled = |pid: i64| {
        let db = app.db.clone();
        async move { enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(pid)).filter(enrollment::Column::ProgramId.eq(1)).filter(enrollment::Column::Status.eq("active")).one(&db).await.unwrap().is_some() }
    };
    let mut theirs = None;
    let mut not_theirs = None;
    for p in &partners {
        if !enrolled(p.id).await {
            continue;
        }
        if p.owner_user_id == Some(owner_id) {
            theirs.get_or_insert(p.id);
        } else {
            not_theirs.get_or_insert(p.id);
        }
    }
    let not_theirs = not_theirs.expect("a partner owned by someone else").to_string();
    let owner = app.login("owner@demo.trellis.dev").await;
    assert_eq!(app.call(&owner, "links/create", &[("partner_id", &not_theirs), ("program_id", "1")]).await.status(), 403, "not their partner");
    if let Some(theirs) = theirs {
        assert_eq!(app.call(&owner, "links/create", &[("partner_id", &theirs.to_string()), ("program_id", "1")]).await.status(), 200, "their own partner");
    }
    // A manager of program 1 only: not in a program they do not manage.
    let p1 = program::Entity::find_by_id(1).one(&app.db).await.unwrap().unwrap();
    let mut other: program::ActiveModel = p1.into();
    other.id = sea_orm::ActiveValue::NotSet;
    other.name = Set("Unmanaged".into());
    let other = other.insert(&app.db).await.unwrap();
    let manager = app.login(MANAGER).await;
    assert_eq!(app.call(&manager, "links/create", &[("partner_id", &not_theirs), ("program_id", "1")]).await.status(), 200);
    assert_eq!(app.call(&manager, "links/create", &[("partner_id", &not_theirs), ("program_id", &other.id.to_string())]).await.status(), 403);
    // Nor enroll a partner there, or create one enrolled there.
    let res = app
        .call_json(&manager, "partners/create", serde_json::json!({"email": "scoped@partners.example", "fields": {"name": "Scoped"}, "program_id": other.id}))
        .await;
    assert_eq!(res.status(), 403, "{:?}", res.text().await);
    let admin = app.login("admin@demo.trellis.dev").await;
    let tier = backend::entities::tier::Entity::find().filter(backend::entities::tier::Column::ProgramId.eq(1)).one(&app.db).await.unwrap().unwrap();
    let mut tier: backend::entities::tier::ActiveModel = tier.into();
    tier.id = sea_orm::ActiveValue::NotSet;
    tier.program_id = Set(other.id);
    tier.insert(&app.db).await.unwrap();
    backend::partners::enroll(&app.db, app.clock.now(), &backend::access::auth::Actor::api(1), not_theirs.parse().unwrap(), other.id, None).await.unwrap();
    let change = [("partner_id", not_theirs.as_str()), ("program_id", &*other.id.to_string()), ("what", "status"), ("value", "active"), ("reason", "scope")];
    assert_eq!(app.call(&manager, "partners/enrollment", &change).await.status(), 403, "a manager of program 1 does not approve enrollments elsewhere");
    assert_eq!(app.call(&admin, "partners/enrollment", &change).await.status(), 200);
});
