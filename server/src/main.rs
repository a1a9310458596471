//! `trellis`: one binary for serving, migrating, demo data and administration.

use clap::Parser;
use server::cli::{run, Cli};
use server::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let _ = dotenvy::dotenv();
    let json = std::env::var("TRELLIS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    if json {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let cli = Cli::parse();
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trellis: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cli, cfg).await {
        eprintln!("trellis: {e}");
        std::process::exit(1);
    }
}
