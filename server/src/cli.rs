//! The subcommands of `trellis` (api.md): serve, migrate, demo, user create, api-key create,
//! scheduler run-once.

use crate::config::Config;
use crate::web;
use backend::access::accounts::{create_user, ensure_account, NewUser};
use backend::{Clock, DatabaseConnection};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use models::Role;

/// Trellis: partner management for affiliate programs.
#[derive(Debug, Parser)]
#[command(name = "trellis", version, about)]
pub struct Cli {
    /// What to do; serves when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, then serve the app on TRELLIS_ADDR.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Load the demo account (idempotent) and print its logins.
    Demo,
    /// Team users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// API keys.
    #[command(name = "api-key")]
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Background jobs.
    Scheduler {
        #[command(subcommand)]
        action: SchedulerAction,
    },
}

/// `trellis user …`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a team user; creates the account if it does not exist.
    Create {
        /// Account slug.
        #[arg(long)]
        account: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Password (at least 8 characters).
        #[arg(long)]
        password: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// One or more of admin, program_manager, relationship_owner, analytics_viewer, finance_approver.
        #[arg(long = "role", required = true, num_args = 1..)]
        roles: Vec<String>,
    },
}

/// `trellis api-key …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Print a new API key (shown once; only a hash is stored).
    Create {
        /// Account slug.
        #[arg(long)]
        account: String,
        /// A name to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
}

/// `trellis scheduler …`
#[derive(Debug, Subcommand)]
pub enum SchedulerAction {
    /// Run every due job (or one) once, as of --now, and exit.
    RunOnce {
        /// Only this job.
        #[arg(long)]
        job: Option<String>,
        /// Evaluate as of this RFC 3339 time (default: now).
        #[arg(long)]
        now: Option<String>,
    },
}

/// A command's failure, printed as one line.
pub type CliResult = Result<(), String>;

async fn open(cfg: &Config) -> Result<DatabaseConnection, String> {
    let db = backend::db::connect(&cfg.database_url)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL: {e}"))?;
    backend::db::migrate(&db).await.map_err(|e| format!("migration failed: {e}"))?;
    backend::comms::mail::set_public_url(&cfg.public_url);
    if let Some(smtp_url) = &cfg.smtp_url {
        backend::comms::mail::configure(backend::comms::mail::MailConfig { smtp_url: smtp_url.clone(), public_url: cfg.public_url.clone() });
    }
    Ok(db)
}

/// Runs the parsed command.
pub async fn run(cli: Cli, cfg: Config) -> CliResult {
    let clock = Clock::system();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cfg, clock).await,
        Command::Migrate => {
            open(&cfg).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo => {
            let db = open(&cfg).await?;
            let logins = crate::demo::load(&db, &clock).await.map_err(|e| format!("demo data: {e}"))?;
            println!("Demo account '{}' is ready. Sign in at {}/login with:", crate::demo::DEMO_SLUG, cfg.public_url);
            for l in logins {
                println!("  {:<20} {:<34} password: {}", l.what, l.email, crate::demo::DEMO_PASSWORD);
            }
            Ok(())
        }
        Command::User { action: UserAction::Create { account, email, password, name, roles } } => {
            let roles: Vec<Role> = roles
                .iter()
                .flat_map(|r| r.split(','))
                .map(Role::parse)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("--role: {e}"))?;
            let db = open(&cfg).await?;
            let acc = ensure_account(&db, &clock, &account, None).await.map_err(|e| e.to_string())?;
            let user = create_user(&db, &clock, acc.id, NewUser { email: &email, name: name.as_deref(), password: &password, roles: &roles, partner_id: None })
                .await
                .map_err(|e| e.to_string())?;
            println!("created user {} in account '{}' with roles {}", user.email, acc.slug, user.roles);
            Ok(())
        }
        Command::ApiKey { action: ApiKeyAction::Create { account, name } } => {
            let db = open(&cfg).await?;
            let acc = backend::access::accounts::by_slug(&db, &account).await.map_err(|e| match e {
                backend::Error::NotFound(_) => format!("no account '{account}'; create it with `trellis user create --account {account} …`"),
                other => other.to_string(),
            })?;
            let key = backend::access::auth::create_api_key(&db, &clock, acc.id, name.as_deref().unwrap_or(""))
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", key.secret);
            eprintln!("API key {} for account '{}' created; it is shown only this once.", key.id, acc.slug);
            Ok(())
        }
        Command::Scheduler { action: SchedulerAction::RunOnce { job, now } } => {
            let now: DateTime<Utc> = match now {
                Some(t) => DateTime::parse_from_rfc3339(&t)
                    .map_err(|e| format!("--now: '{t}' is not an RFC 3339 time: {e}"))?
                    .with_timezone(&Utc),
                None => clock.now(),
            };
            if let Some(name) = &job {
                if backend::jobs::job(name).is_none() {
                    let names: Vec<_> = backend::jobs::JOBS.iter().map(|j| j.name).collect();
                    return Err(format!("--job: no job '{name}'; jobs: {}", names.join(", ")));
                }
            }
            let db = open(&cfg).await?;
            let holder = format!("cli:{}", std::process::id());
            let reports = backend::jobs::run_once(&db, job.as_deref(), now, &holder).await.map_err(|e| e.to_string())?;
            if reports.is_empty() {
                println!("no job was due as of {}", now.to_rfc3339());
            }
            for (name, r) in reports {
                println!("{name}: examined {}, changed {}", r.examined, r.changed);
            }
            Ok(())
        }
    }
}

async fn serve(cfg: Config, clock: Clock) -> CliResult {
    let db = open(&cfg).await?;
    if cfg.scheduler {
        tokio::spawn(run_scheduler(db.clone(), clock.clone()));
    }
    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .map_err(|e| format!("cannot listen on TRELLIS_ADDR {}: {e}", cfg.addr))?;
    tracing::info!(addr = %cfg.addr, public_url = %cfg.public_url, "Trellis is serving");
    println!("Trellis is serving at {}", cfg.public_url);
    web::serve(listener, web::router(&cfg, db, clock)).await.map_err(|e| e.to_string())
}

/// This replica's scheduler: every 15 s it runs the jobs that are due and whose lease it gets,
/// so with several replicas each job still runs once per period.
async fn run_scheduler(db: DatabaseConnection, clock: Clock) {
    let holder = format!("server:{}:{}", std::process::id(), backend::tracking::new_click_id());
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
    loop {
        tick.tick().await;
        if let Err(e) = backend::jobs::tick(&db, clock.now(), &holder).await {
            tracing::warn!(error = %e, "scheduler tick failed");
        }
    }
}
