//! Configuration from the environment (a `.env` file may supply it). Every value is checked at
//! start-up; a bad one stops the process with one line naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Listen address.
    pub addr: SocketAddr,
    /// Base URL for tracking links and email links, without a trailing slash.
    pub public_url: String,
    /// SMTP server for the outbox; unset keeps mail in the outbox.
    pub smtp_url: Option<String>,
    /// Whether this replica runs background jobs.
    pub scheduler: bool,
    /// Where the built site (`pkg/`, static assets) lives.
    pub site_root: PathBuf,
    /// Connection limits when serving directly (`TRELLIS_MAX_CONNECTIONS`,
    /// `TRELLIS_HEADER_TIMEOUT_SECS`, `TRELLIS_IDLE_TIMEOUT_SECS`).
    pub limits: crate::listener::Limits,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`
    /// (`TRELLIS_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}: {message}")]
pub struct ConfigError {
    /// The variable at fault.
    pub var: &'static str,
    /// Why.
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the configuration through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/trellis.db?mode=rwc".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad("DATABASE_URL", format!("'{database_url}' is neither sqlite://… nor postgres://…")));
        }
        let addr_text = get("TRELLIS_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr: SocketAddr = addr_text
            .parse()
            .map_err(|_| bad("TRELLIS_ADDR", format!("'{addr_text}' is not an address such as 127.0.0.1:3000")))?;
        let public_url = get("TRELLIS_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
        let public_url = public_url.trim_end_matches('/').to_string();
        let scheme_ok = public_url.starts_with("http://") || public_url.starts_with("https://");
        let host = public_url.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        if !scheme_ok || host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("TRELLIS_PUBLIC_URL", format!("'{public_url}' is not an http(s) URL")));
        }
        let smtp_url = get("TRELLIS_SMTP_URL");
        if let Some(s) = &smtp_url {
            if !(s.starts_with("smtp://") || s.starts_with("smtps://")) {
                return Err(bad("TRELLIS_SMTP_URL", format!("'{s}' is not an smtp:// or smtps:// URL")));
            }
        }
        let scheduler = match get("TRELLIS_SCHEDULER").as_deref().unwrap_or("on") {
            "on" => true,
            "off" => false,
            other => return Err(bad("TRELLIS_SCHEDULER", format!("'{other}' is neither on nor off"))),
        };
        let site_root = PathBuf::from(get("TRELLIS_SITE_ROOT").unwrap_or_else(|| "target/site".into()));
        let defaults = crate::listener::Limits::default();
        let max_connections = match get("TRELLIS_MAX_CONNECTIONS") {
            None => defaults.max_connections,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| bad("TRELLIS_MAX_CONNECTIONS", format!("'{v}' is not a number of connections from 1 to 1000000")))?,
        };
        let seconds = |var: &'static str, default: std::time::Duration| match get(var) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                .map(std::time::Duration::from_secs_f64)
                .ok_or_else(|| bad(var, format!("'{v}' is not a number of seconds above 0"))),
        };
        let limits = crate::listener::Limits {
            max_connections,
            header_timeout: seconds("TRELLIS_HEADER_TIMEOUT_SECS", defaults.header_timeout)?,
            idle_timeout: seconds("TRELLIS_IDLE_TIMEOUT_SECS", defaults.idle_timeout)?,
            trusted_proxies: std::sync::Arc::new(
                crate::client_addr::TrustedProxies::parse(&get("TRELLIS_TRUSTED_PROXIES").unwrap_or_default()).map_err(|e| bad("TRELLIS_TRUSTED_PROXIES", e))?,
            ),
        };
        let metrics_token = get("TRELLIS_METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic())) {
            return Err(bad("TRELLIS_METRICS_TOKEN", "use at least 16 visible ASCII characters"));
        }
        Ok(Self { database_url, addr, public_url, smtp_url, scheduler, site_root, limits, metrics_token })
    }

    /// True when served over HTTPS (cookies get `Secure`).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_documented_contract() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://data/trellis.db?mode=rwc");
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert!(c.scheduler);
        assert!(c.smtp_url.is_none());
        assert_eq!(c.limits.max_connections, 1024);
        assert_eq!(c.limits.header_timeout.as_secs(), 30);
        assert_eq!(c.limits.idle_timeout.as_secs(), 60);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("TRELLIS_ADDR", "localhost"),
            ("TRELLIS_PUBLIC_URL", "ftp://x"),
            ("TRELLIS_SMTP_URL", "http://x"),
            ("TRELLIS_SCHEDULER", "maybe"),
            ("TRELLIS_MAX_CONNECTIONS", "0"),
            ("TRELLIS_HEADER_TIMEOUT_SECS", "soon"),
            ("TRELLIS_IDLE_TIMEOUT_SECS", "-1"),
        ] {
            let e = with(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var);
            assert!(e.to_string().starts_with(&format!("invalid {var}: ")), "{e}");
        }
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        assert_eq!(with(&[("TRELLIS_PUBLIC_URL", "https://p.example/")]).unwrap().public_url, "https://p.example");
    }
}
