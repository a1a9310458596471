//! `trellis-readbench`: GET load for `bench/p3_under_load.sh` (docs/benchmarks.md, P3 under load).
//!
//! Sends GETs (or form POSTs to server functions, `--post name=path|form`) to a set of named
//! paths for a fixed time. Every name has its own `--clients` clients and its own schedule, so a
//! slow read cannot delay the others: at a fixed offered rate (`--rate` per name, or
//! `name@rate=…` for one name; open loop: latency is measured from the scheduled start, so a
//! stalled server cannot hide its queue), or as fast as the clients go (`--rate 0`, closed loop,
//! e.g. the redirect load of P1). Redirects are not followed. Prints a JSON summary per name:
//! request count, status counts, p50/p95/p99.
//!
//!   trellis-readbench --base http://127.0.0.1:3000 --key KEY --rate 40 --clients 4 \
//!       --duration-s 60 --get summary=/api/v1/analytics/summary?program_id=1 --get …

use clap::Parser;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "trellis-readbench", about = "GET load for Trellis read benchmarks")]
struct Args {
    /// Base URL of the server.
    #[arg(long)]
    base: String,
    /// API key (Bearer), if the paths need one.
    #[arg(long, env = "TRELLIS_BENCH_KEY")]
    key: Option<String>,
    /// `name=path` to GET; repeat for several (requests go round-robin over them).
    #[arg(long = "get")]
    gets: Vec<String>,
    /// `name=path|form` to POST as a form (a server function); repeatable.
    #[arg(long = "post")]
    posts: Vec<String>,
    /// A Cookie header to send (a signed-in session for server functions).
    #[arg(long)]
    cookie: Option<String>,
    /// Offered rate in requests/s of each name, over its clients (0: closed loop, as fast as
    /// possible); `name@rate=…` sets one name's rate.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Concurrent clients of each name.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 30.0)]
    duration_s: f64,
    /// Requests of each client not counted at the start (warm-up).
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout_s: f64,
    /// Runtime worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Write the JSON summary here too (it always goes to stdout).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Latency and status of one counted request, by name.
type Samples = BTreeMap<String, (Vec<Duration>, BTreeMap<String, usize>)>;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn percentiles(mut v: Vec<Duration>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort_unstable();
    let at = |p: f64| {
        let idx = ((p / 100.0) * v.len() as f64).ceil() as usize;
        ms(v[idx.clamp(1, v.len()) - 1])
    };
    json!({"p50_ms": at(50.0), "p95_ms": at(95.0), "p99_ms": at(99.0), "max_ms": ms(*v.last().expect("not empty"))})
}

async fn run(a: Args) -> Result<Value, String> {
    // (name, rate, path, form body for a POST).
    let mut gets: Vec<(String, f64, String, Option<String>)> = Vec::new();
    let named = |spec: &str, what: &str| -> Result<(String, f64, String), String> {
        let (name, rest) = spec.split_once('=').ok_or_else(|| format!("--{what} {spec}: want name=…"))?;
        let (name, rate) = match name.split_once('@') {
            Some((n, r)) => (n, r.parse::<f64>().map_err(|_| format!("--{what} {spec}: bad rate '{r}'"))?),
            None => (name, a.rate),
        };
        Ok((name.to_string(), rate, rest.to_string()))
    };
    for g in &a.gets {
        let (name, rate, path) = named(g, "get")?;
        gets.push((name, rate, path, None));
    }
    for p in &a.posts {
        let (name, rate, rest) = named(p, "post")?;
        let (path, form) = rest.split_once('|').unwrap_or((&rest, ""));
        gets.push((name, rate, path.to_string(), Some(form.to_string())));
    }
    if a.clients == 0 || gets.is_empty() {
        return Err("need at least one client and one --get or --post".into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(a.timeout_s))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(a.clients)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let base = a.base.trim_end_matches('/').to_string();
    let samples: Arc<Mutex<Samples>> = Arc::default();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.duration_s);
    let mut tasks = Vec::new();
    for (name, rate, path, form) in gets {
        for c in 0..a.clients {
            let (client, base, samples, key, cookie) = (client.clone(), base.clone(), samples.clone(), a.key.clone(), a.cookie.clone());
            let (name, path, form, clients, warmup) = (name.clone(), path.clone(), form.clone(), a.clients, a.warmup);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
                let mut n = 0usize;
                loop {
                    // Client c sends requests c, c + clients, c + 2·clients, … of its name's schedule.
                    let i = c + n * clients;
                    let scheduled = if rate > 0.0 { start + Duration::from_secs_f64(i as f64 / rate) } else { Instant::now() };
                    if scheduled >= end {
                        break;
                    }
                    tokio::time::sleep_until(scheduled.into()).await;
                    let mut req = match &form {
                        None => client.get(format!("{base}{path}")),
                        Some(f) => client.post(format!("{base}{path}")).header("content-type", "application/x-www-form-urlencoded").body(f.clone()),
                    };
                    if let Some(k) = &key {
                        req = req.bearer_auth(k);
                    }
                    if let Some(c) = &cookie {
                        req = req.header("cookie", c.clone());
                    }
                    let status = match req.send().await {
                        Ok(r) => {
                            let s = r.status().as_u16().to_string();
                            match r.bytes().await {
                                Ok(_) => s,
                                Err(e) if e.is_timeout() => "timeout".into(),
                                Err(_) => "transport_error".into(),
                            }
                        }
                        Err(e) if e.is_timeout() => "timeout".into(),
                        Err(_) => "transport_error".into(),
                    };
                    let latency = scheduled.elapsed();
                    n += 1;
                    if n > warmup {
                        lat.push(latency);
                        *statuses.entry(status).or_default() += 1;
                    }
                }
                let mut all = samples.lock().expect("not poisoned");
                let e = all.entry(name).or_default();
                e.0.extend(lat);
                for (s, k) in statuses {
                    *e.1.entry(s).or_default() += k;
                }
            }));
        }
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let all = std::mem::take(&mut *samples.lock().expect("not poisoned"));
    let total: usize = all.values().map(|(l, _)| l.len()).sum();
    let reads: BTreeMap<String, Value> = all
        .into_iter()
        .map(|(name, (lat, st))| {
            let mut v = percentiles(lat.clone());
            v["count"] = json!(lat.len());
            v["statuses"] = json!(st);
            (name, v)
        })
        .collect();
    Ok(json!({
        "offered_rate_per_s_each": if a.rate > 0.0 { json!(a.rate) } else { json!("closed loop") },
        "clients_each": a.clients,
        "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
        "achieved_per_s": ((total as f64 / elapsed) * 10.0).round() / 10.0,
        "latency_from": if a.rate > 0.0 { "scheduled start" } else { "send" },
        "reads": reads,
    }))
}

fn main() {
    let a = Args::parse();
    let out = a.out.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(a.threads.max(1)).enable_all().build().expect("a runtime");
    match rt.block_on(run(a)) {
        Ok(v) => {
            let text = serde_json::to_string_pretty(&v).expect("json");
            if let Some(p) = out {
                if let Err(e) = std::fs::write(&p, &text) {
                    eprintln!("{}: {e}", p.display());
                    std::process::exit(1);
                }
            }
            println!("{text}");
        }
        Err(e) => {
            eprintln!("trellis-readbench: {e}");
            std::process::exit(1);
        }
    }
}
