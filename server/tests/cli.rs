//! The `trellis` binary's subcommands and configuration errors, run as a user would.

use std::process::{Command, Output};

fn trellis(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).to_string()
}

#[test]
fn user_create_makes_the_account_and_a_user_that_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let out = trellis(&url, &["user", "create", "--account", "acme", "--email", "Boss@Acme.example", "--password", "long-password", "--role", "admin", "finance_approver"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("boss@acme.example"));
    let again = trellis(&url, &["user", "create", "--account", "acme", "--email", "boss@acme.example", "--password", "long-password", "--role", "admin"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"));
    let bad_role = trellis(&url, &["user", "create", "--account", "acme", "--email", "x@acme.example", "--password", "long-password", "--role", "owner"]);
    assert!(!bad_role.status.success());
    assert!(text(&bad_role.stderr).contains("--role"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = backend::db::connect(&url).await.unwrap();
        let actor = backend::access::auth::login(&db, &backend::Clock::system(), "boss@acme.example", "long-password", "127.0.0.1").await.unwrap();
        assert_eq!(actor.roles, vec![models::Role::Admin, models::Role::FinanceApprover]);
    });
}

#[test]
fn api_key_create_prints_a_key_that_resolves_to_its_account_and_is_stored_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let missing = trellis(&url, &["api-key", "create", "--account", "nope"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no account 'nope'"));
    assert!(trellis(&url, &["user", "create", "--account", "acme", "--email", "a@acme.example", "--password", "long-password", "--role", "admin"]).status.success());
    let out = trellis(&url, &["api-key", "create", "--account", "acme", "--name", "shop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).trim().to_string();
    assert!(key.starts_with("trl_"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sea_orm::EntityTrait;
        let db = backend::db::connect(&url).await.unwrap();
        let clock = backend::Clock::system();
        let account_id = backend::access::auth::account_for_api_key(&db, &clock, &key).await.unwrap();
        let stored = backend::entities::api_key::Entity::find().all(&db).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].account_id, account_id);
        assert!(!stored[0].key_hash.contains(&key) && stored[0].key_hash.len() == 64);
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push('x');
        assert!(backend::access::auth::account_for_api_key(&db, &clock, &wrong).await.is_err());
    });
}

#[test]
fn demo_and_migrate_and_scheduler_run_once_exit_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sub/dir/cli.db?mode=rwc", dir.path().display());
    let out = trellis(&url, &["migrate"]);
    assert!(out.status.success(), "the database directory is created: {}", text(&out.stderr));
    let demo = trellis(&url, &["demo"]);
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    assert!(text(&demo.stdout).contains("admin@demo.trellis.dev"));
    assert!(trellis(&url, &["demo"]).status.success(), "demo is idempotent");
    let run = trellis(&url, &["scheduler", "run-once", "--now", "2026-01-01T00:00:00Z"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let bad = trellis(&url, &["scheduler", "run-once", "--now", "yesterday"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("--now"));
    let unknown = trellis(&url, &["scheduler", "run-once", "--job", "nope"]);
    assert!(!unknown.status.success());
}

#[test]
fn a_bad_configuration_value_stops_start_up_with_one_line_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("migrate")
        .env_clear()
        .env("TRELLIS_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("TRELLIS_ADDR"));
}
