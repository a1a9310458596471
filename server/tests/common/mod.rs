//! The test harness: a fresh database per test (SQLite: a temp file; PostgreSQL: a clone of a
//! migrated template database) and the real server on an ephemeral port.
#![allow(dead_code)]

pub mod smtp;

use backend::{Clock, DatabaseConnection};
use sea_orm::{ConnectionTrait, Database};
use server::Config;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the body once on SQLite and once on PostgreSQL, as two tests.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(common::Backend::Postgres).await
            }
        }
    };
}

/// The maintenance URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("TRELLIS_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn pg_url_for(db: &str) -> String {
    let admin = pg_admin_url();
    let (base, _) = admin.rsplit_once('/').expect("PG URL has a database");
    format!("{base}/{db}")
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}_{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::SeqCst))
}

/// The migrated template database of this test process, created once.
fn pg_template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let name = unique("trellis_tpl");
                let admin = Database::connect(pg_admin_url()).await.expect(
                    "PostgreSQL for tests: set TRELLIS_TEST_PG_URL or run one on 127.0.0.1:5432 (scripts/test.sh starts one)",
                );
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
                let db = Database::connect(pg_url_for(&name)).await.unwrap();
                backend::db::migrate(&db).await.unwrap();
                db.close().await.unwrap();
                admin.close().await.unwrap();
                name
            })
        })
        .join()
        .unwrap()
    })
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh, migrated database.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
                let db = backend::db::connect(&url).await.unwrap();
                backend::db::migrate(&db).await.unwrap();
                db.close().await.unwrap();
                Self { url, backend, pg_name: None, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let template = pg_template();
                let name = unique("trellis_t");
                let admin = Database::connect(pg_admin_url()).await.unwrap();
                // Concurrent clones of one template may briefly collide; retry.
                let mut tries = 0;
                loop {
                    match admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await {
                        Ok(_) => break,
                        Err(e) if tries < 50 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("cannot clone the template database: {e}"),
                    }
                }
                admin.close().await.unwrap();
                Self { url: pg_url_for(&name), backend, pg_name: Some(name), _dir: None }
            }
        }
    }

    /// A connection pool to it.
    pub async fn connect(&self) -> DatabaseConnection {
        backend::db::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(pg_admin_url()).await {
                        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                        let _ = admin.close().await;
                    }
                })
            })
            .join();
        }
    }
}

/// The real server on an ephemeral port, with its own database.
pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    pub test_db: TestDb,
    pub clock: Clock,
    pub clicks: std::sync::Arc<backend::tracking::ClickRecorder>,
    server: tokio::task::JoinHandle<()>,
}

/// How to spawn a test server beyond the defaults.
#[derive(Default)]
pub struct Spawn {
    /// Cap the SQLite file's size (the server's pool applies it to every connection).
    pub page_limit: Option<backend::db::PageLimit>,
    /// More configuration variables (`TRELLIS_HEADER_TIMEOUT_SECS`…).
    pub env: Vec<(&'static str, String)>,
}

impl TestApp {
    /// Spawns the server on a fresh database.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Spawn::default()).await
    }

    /// Spawns the server on a fresh database with extra options.
    pub async fn spawn_with(backend: Backend, opts: Spawn) -> Self {
        let test_db = TestDb::new(backend).await;
        let hooks = backend::db::PoolHooks { page_limit: opts.page_limit.clone() };
        let db = backend::db::connect_with(&test_db.url, hooks).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = test_db.url.clone();
        let env = opts.env;
        let cfg = Config::from_lookup(move |k| match k {
            "DATABASE_URL" => Some(url.clone()),
            "TRELLIS_ADDR" => Some(addr.to_string()),
            "TRELLIS_SCHEDULER" => Some("off".into()),
            other => env.iter().find(|(name, _)| *name == other).map(|(_, v)| v.clone()),
        })
        .unwrap();
        let clock = Clock::system();
        let web = server::web::router(&cfg, db.clone(), clock.clone());
        let clicks = web.clicks.clone();
        let server = tokio::spawn(async move {
            server::web::serve(listener, web).await.unwrap();
        });
        Self { base: format!("http://{addr}"), db, test_db, clock, clicks, server }
    }

    /// Spawns the server with the demo account loaded (without its activity, for speed).
    pub async fn with_demo(backend: Backend) -> Self {
        let app = Self::spawn(backend).await;
        server::demo::load_with(&app.db, &app.clock, false).await.unwrap();
        app
    }

    /// Spawns the server with the whole demo account, activity included.
    pub async fn with_full_demo(backend: Backend) -> Self {
        let app = Self::spawn(backend).await;
        server::demo::load(&app.db, &app.clock).await.unwrap();
        app
    }

    /// A client with its own cookie jar that does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls a server function by endpoint with form-encoded arguments.
    pub async fn call(&self, client: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client.post(self.url(&format!("/api/{endpoint}"))).form(form).send().await.unwrap()
    }

    /// Calls a server function that takes JSON.
    pub async fn call_json(&self, client: &reqwest::Client, endpoint: &str, body: serde_json::Value) -> reqwest::Response {
        client.post(self.url(&format!("/api/{endpoint}"))).json(&body).send().await.unwrap()
    }

    /// A client signed in as `email` with `password`.
    pub async fn login_with(&self, email: &str, password: &str) -> reqwest::Client {
        let c = self.client();
        let res = self.call(&c, "login", &[("email", email), ("password", password)]).await;
        assert_eq!(res.status(), 200, "login as {email}: {}", res.text().await.unwrap_or_default());
        c
    }

    /// A client signed in as `email` with the demo password.
    pub async fn login(&self, email: &str) -> reqwest::Client {
        let c = self.client();
        let res = self.call(&c, "login", &[("email", email), ("password", server::demo::DEMO_PASSWORD)]).await;
        assert_eq!(res.status(), 200, "login as {email}: {}", res.text().await.unwrap_or_default());
        c
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A request body for a server function.
pub enum Args {
    Form(Vec<(&'static str, &'static str)>),
    Json(serde_json::Value),
}

/// Well-formed sample arguments for every server function, so authorization tests reach the
/// guard. A new server function must be added here (the tests fail until it is).
pub fn sample_args(path: &str) -> Args {
    use serde_json::json;
    match path {
        "/api/login" => Args::Form(vec![("email", "nobody@example.com"), ("password", "wrong-password")]),
        "/api/logout" | "/api/me" | "/api/portal/home" | "/api/finance/queue" | "/api/finance/batches" => Args::Form(vec![]),
        "/api/conversions/detail" => Args::Form(vec![("id", "1")]),
        "/api/portal/links" => Args::Form(vec![]),
        "/api/portal/create_link" => Args::Form(vec![("program_id", "1")]),
        "/api/links/list" => Args::Form(vec![("partner_id", "1")]),
        "/api/links/create" => Args::Form(vec![("partner_id", "1"), ("program_id", "1")]),
        "/api/tiers/rules" => Args::Form(vec![]),
        "/api/partners/profile" => Args::Form(vec![("id", "1")]),
        "/api/tiers/simulate" => Args::Json(json!({"program_id": 1, "tiers": []})),
        "/api/tiers/save" => Args::Json(json!({"program_id": 1, "tiers": []})),
        "/api/settings/jobs" => Args::Form(vec![]),
        "/api/settings/outbox" => Args::Form(vec![("page", "1")]),
        "/api/messages/inbox" => Args::Form(vec![]),
        "/api/broadcasts/list" => Args::Form(vec![]),
        "/api/broadcasts/preview" => Args::Form(vec![("program_id", "1")]),
        "/api/broadcasts/send" => Args::Json(json!({"input": {"program_id": 1, "subject": "Hi", "body": "News"}})),
        "/api/messages/thread" => Args::Form(vec![("id", "1")]),
        "/api/messages/start" => Args::Form(vec![("partner_id", "1"), ("subject", "Hello"), ("body", "Hi there")]),
        "/api/messages/reply" => Args::Form(vec![("thread_id", "1"), ("body", "Thanks")]),
        "/api/portal/profile" | "/api/portal/payouts" => Args::Form(vec![]),
        "/api/portal/update_profile" => Args::Json(json!({"input": {"name": "Sample", "company": "", "phone": "", "website": "", "country": "US", "payout_method": "paypal", "payout_account": "pay@partners.example", "tax_id": ""}})),
        "/api/portal/conversions" => Args::Json(json!({"filter": {"program_id": null, "status": null, "from": null, "to": null, "page": 1}})),
        "/api/partners/compliance" => Args::Form(vec![("id", "1")]),
        "/api/partners/review_document" => Args::Form(vec![("id", "1"), ("accept", "true")]),
        "/api/templates/page" => Args::Form(vec![("program_id", "1")]),
        "/api/templates/save" => Args::Json(json!({"input": {"program_id": 1, "kind": "re_engagement", "subject": "Come back to {{program}}", "body": "Hi {{partner_name}}"}})),
        "/api/templates/footer" => Args::Form(vec![("program_id", "1"), ("footer", "Northwind Inc., 1 Main St")]),
        "/api/templates/preview" => Args::Json(json!({"input": {"program_id": 1, "partner_id": null, "subject": "Hi {{partner_name}}", "body": "You are {{tier}}"}})),
        "/api/sequences/list" => Args::Form(vec![]),
        "/api/sequences/detail" => Args::Form(vec![("id", "1")]),
        "/api/sequences/save" => Args::Json(json!({"input": {"id": null, "program_id": 1, "name": "Welcome", "trigger": "approved", "stop_on_conversion": true, "active": true, "steps": [{"delay_hours": 0, "subject": "Welcome {{partner_name}}", "body": "Your link: {{link}}"}]}})),
        "/api/settings/run_job" => Args::Form(vec![("name", "session_cleanup")]),
        "/api/finance/approve" => Args::Json(json!({"ids": [1, 2, 3]})),
        "/api/finance/void" => Args::Json(json!({"ids": [1, 2, 3], "reason": "test"})),
        "/api/finance/adjust" => Args::Form(vec![("partner_id", "1"), ("program_id", "1"), ("amount", "5.00"), ("reason", "test")]),
        "/api/finance/create_batch" => Args::Form(vec![("program_id", "1")]),
        "/api/finance/mark_paid" => Args::Form(vec![("batch_id", "1")]),
        "/api/directory" => Args::Json(json!({"query": {}})),
        "/api/directory/bulk" => Args::Json(json!({"target": {"by": "ids", "ids": [1, 2]}, "action": {"action": "set_status", "status": "suspended", "reason": null}})),
        "/api/segments/list" | "/api/fields/list" => Args::Form(vec![]),
        "/api/segments/save" => Args::Json(json!({"name": "Sample", "query": {}})),
        "/api/segments/delete" => Args::Form(vec![("id", "1")]),
        "/api/fields/define" => Args::Json(json!({"field": {"key": "sample", "label": "Sample", "kind": "text", "options": [], "required": false}})),
        "/api/fields/remove" => Args::Form(vec![("key", "niche")]),
        "/api/partners/timeline" => Args::Form(vec![("id", "1"), ("page", "1")]),
        "/api/partners/note" => Args::Form(vec![("id", "1"), ("text", "sample note")]),
        "/api/partners/create" => Args::Json(json!({"email": "sample@partners.example", "fields": {"name": "Sample"}, "program_id": null})),
        "/api/partners/update" => Args::Json(json!({"id": 1, "fields": {"company": "Sample Co"}})),
        "/api/partners/enrollment" => Args::Form(vec![("partner_id", "1"), ("program_id", "1"), ("what", "status"), ("value", "suspended")]),
        "/api/imports/preview" | "/api/imports/progress" => Args::Form(vec![("id", "1")]),
        "/api/imports/start" => Args::Json(json!({"id": 1, "mapping": [], "dry_run": true})),
        "/api/analytics/dashboard" | "/api/analytics/custom" => Args::Form(vec![]),
        "/api/analytics/delete_dashboard" => Args::Form(vec![("id", "1")]),
        "/api/analytics/health_settings" => Args::Form(vec![("program_id", "1")]),
        "/api/analytics/save_dashboard" => {
            Args::Json(json!({"def": {"id": 0, "name": "Sample", "shared_role": null, "mine": true, "widgets": [{"kind": "kpis", "program_id": null, "days": 30}]}}))
        }
        "/api/analytics/save_health_settings" => {
            Args::Json(json!({"program_id": 1, "weights": {"trend": 30, "recency": 25, "email": 10, "compliance": 15, "activity": 20}, "threshold": 40}))
        }
        "/api/settings/team" | "/api/settings/programs" | "/api/settings/keys" | "/api/profile/get" | "/api/settings/storage" => Args::Form(vec![]),
        "/api/settings/invite" => Args::Json(json!({"email": "new.member@demo.trellis.dev", "name": "New", "roles": ["analytics_viewer"]})),
        "/api/settings/set_roles" => Args::Json(json!({"user_id": 2, "roles": ["admin"]})),
        "/api/settings/deactivate" | "/api/settings/reactivate" | "/api/settings/reset_password" => Args::Form(vec![("user_id", "2")]),
        "/api/settings/create_program" => Args::Json(json!({"form": sample_program_form()})),
        "/api/settings/update_program" => Args::Json(json!({"program_id": 1, "form": sample_program_form()})),
        "/api/settings/archive_program" => Args::Form(vec![("program_id", "1"), ("archived", "true")]),
        "/api/settings/create_key" => Args::Form(vec![("name", "sample")]),
        "/api/settings/revoke_key" => Args::Form(vec![("id", "1")]),
        "/api/settings/audit" => Args::Json(json!({"query": {"q": null, "actor": null, "kind": null, "from": null, "to": null, "page": 1}})),
        "/api/profile/rename" => Args::Form(vec![("name", "Renamed")]),
        "/api/profile/change_email" => Args::Form(vec![("email", "renamed@demo.trellis.dev"), ("current_password", "trellis-demo")]),
        "/api/profile/change_password" => Args::Form(vec![("current_password", "trellis-demo"), ("new_password", "another-password")]),
        "/api/public/token" | "/api/public/confirm_email" => Args::Form(vec![("token", "not-a-token")]),
        "/api/public/verify_partner_email" => Args::Form(vec![("token", "not-a-token")]),
        "/api/public/apply_page" => Args::Form(vec![("program_id", "999999")]),
        "/api/public/apply" => Args::Json(json!({"application": {"program_id": 999999, "name": "Sample", "email": "sample.applicant@example.com", "password": "long-enough", "company": "", "website": "", "answers": {}}})),
        "/api/public/forgot_password" => Args::Form(vec![("email", "nobody@example.com")]),
        "/api/portal/resend_verification" => Args::Form(vec![]),
        "/api/portal/dashboard" => Args::Form(vec![("days", "30")]),
        "/api/public/set_password" => Args::Form(vec![("token", "not-a-token"), ("name", "X"), ("password", "long-enough")]),
        other => panic!("add sample arguments for the server function {other} in tests/common/mod.rs"),
    }
}

/// A valid program form (the settings server functions take it as JSON).
pub fn sample_program_form() -> serde_json::Value {
    serde_json::json!({
        "name": "Sample", "currency": "USD", "website": "https://sample.example", "allowed_domains": "",
        "cookie_days": "30", "attribution": "last_click", "commission_kind": "percent", "commission_value": "10",
        "hold_days": "30", "auto_approve": false, "brand_color": "#2f6f4f", "logo_url": "", "sender_name": "",
        "sender_email": "", "dormant_days": "45", "managers": []
    })
}

impl TestApp {
    /// Calls a server function by path with its sample arguments.
    pub async fn call_sample(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        let req = client.post(self.url(path));
        match sample_args(path) {
            Args::Form(f) => req.form(&f),
            Args::Json(v) => req.json(&v),
        }
        .send()
        .await
        .unwrap()
    }
}

/// Every registered server function path.
pub fn server_fn_paths() -> Vec<String> {
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p.to_string()).collect();
    paths.sort();
    paths
}
