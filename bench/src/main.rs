//! `trellis-bench`: the load generator behind `docs/benchmarks.md`.
//!
//! `trellis-bench conversions` posts N conversions to `POST /api/v1/conversions` at concurrency C
//! (optionally at a fixed offered rate), with a share of duplicates: replays of an earlier
//! external id with exactly the same body. It records every request's latency and status and
//! prints a JSON summary (P2).
//!
//! With `--retry` (R1) every client keeps retrying the same external id, with the same body, on
//! transport errors, timeouts and 5xx answers — with a short per-request timeout and exponential
//! backoff — until it gets 200/201 or a bounded deadline passes. Every attempt is recorded, so the
//! summary can say how long any single request took while the database was down (the window is
//! read at the end from `--down-window FILE`: two Unix-millisecond stamps, kill and restart).
//!
//! `--ids-out FILE` writes the unique external ids that were sent, one a line, so a script can
//! check the database against them (none missing, none extra).
//!
//! Nothing here loops forever: every run is bounded by N, the per-request timeout and
//! `--deadline-s`.

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
#[command(name = "trellis-bench", about = "Load generator for Trellis benchmarks and drills")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// POST conversions (P2), or with --retry the retrying clients of the R1 drill.
    Conversions(ConvArgs),
}

#[derive(Parser, Clone)]
struct ConvArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:3300")]
    url: String,
    /// API key (Bearer).
    #[arg(long, env = "TRELLIS_BENCH_KEY")]
    key: String,
    /// Program id.
    #[arg(long, default_value_t = 1)]
    program: i64,
    /// Partner ids to attribute to, comma-separated; requests cycle through them.
    #[arg(long, default_value = "1", value_delimiter = ',')]
    partners: Vec<i64>,
    /// Total requests (unique conversions plus duplicates).
    #[arg(short = 'n', long, default_value_t = 30_000)]
    requests: usize,
    /// Concurrent clients.
    #[arg(short = 'c', long, default_value_t = 32)]
    concurrency: usize,
    /// Fixed offered rate in requests/s (0: as fast as the clients go, closed loop).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Percentage of requests that replay an earlier external id with the same body.
    #[arg(long, default_value_t = 10)]
    dup_pct: u32,
    /// Prefix of external ids (make it unique per run).
    #[arg(long, default_value = "bench")]
    prefix: String,
    /// Seed of the deterministic choice of duplicates and amounts.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout_s: f64,
    /// Retry each external id on errors/timeouts/5xx until 200/201 (R1).
    #[arg(long)]
    retry: bool,
    /// First retry backoff in milliseconds (doubles up to --backoff-max-ms).
    #[arg(long, default_value_t = 100)]
    backoff_ms: u64,
    /// Longest backoff between retries in milliseconds.
    #[arg(long, default_value_t = 1000)]
    backoff_max_ms: u64,
    /// Give up (and report the id as unresolved) after this many seconds from the start.
    #[arg(long, default_value_t = 300.0)]
    deadline_s: f64,
    /// Runtime worker threads of the load generator (keep it small: the server needs the cores).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// A file with two Unix-ms stamps (database killed, database back), read at the end.
    #[arg(long)]
    down_window: Option<PathBuf>,
    /// Write the unique external ids sent, one a line.
    #[arg(long)]
    ids_out: Option<PathBuf>,
    /// Write every attempt as CSV: start_unix_ms,latency_ms,status,external_id.
    #[arg(long)]
    attempts_csv: Option<PathBuf>,
    /// Write the JSON summary here too (it always goes to stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One request to make: which external id, with which body.
struct Job {
    external_id: String,
    body: String,
    duplicate: bool,
}

/// One HTTP attempt. `status` 0 is a transport error, 1 a timeout.
#[derive(Clone)]
struct Attempt {
    start_unix_ms: u64,
    latency: Duration,
    status: u16,
    job: usize,
}

/// The final outcome of one job.
#[derive(Clone)]
struct Outcome {
    /// From the scheduled start (open loop) or the first send, to the final answer.
    latency: Duration,
    /// Latency measured from the actual send of the last attempt.
    raw_latency: Duration,
    status: u16,
    attempts: u32,
}

/// splitmix64: small, deterministic, good enough to pick duplicates.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The jobs of a run: unique ids numbered in order; a duplicate replays (same body) a unique id
/// scheduled at least `2 × concurrency` positions earlier when possible, so most duplicates are
/// true replays of a stored conversion rather than races (races are allowed and handled too).
fn plan(a: &ConvArgs) -> (Vec<Job>, Vec<String>) {
    let mut rng = Rng(a.seed);
    let mut jobs: Vec<Job> = Vec::with_capacity(a.requests);
    let mut uniques: Vec<usize> = Vec::new();
    let gap = 2 * a.concurrency;
    let mut ids = Vec::new();
    for i in 0..a.requests {
        let dup = uniques.len() > gap && rng.below(100) < a.dup_pct as u64;
        if dup {
            let pick = uniques[rng.below((uniques.len() - gap) as u64) as usize];
            let j = &jobs[pick];
            jobs.push(Job { external_id: j.external_id.clone(), body: j.body.clone(), duplicate: true });
        } else {
            let n = ids.len();
            let external_id = format!("{}-{n}", a.prefix);
            let cents = 100 + rng.below(99_900);
            let partner = a.partners[n % a.partners.len()];
            let body = json!({
                "program_id": a.program,
                "external_id": external_id,
                "amount": format!("{}.{:02}", cents / 100, cents % 100),
                "partner_id": partner,
            })
            .to_string();
            ids.push(external_id.clone());
            uniques.push(i);
            jobs.push(Job { external_id, body, duplicate: false });
        }
    }
    (jobs, ids)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn retryable(status: u16) -> bool {
    // Transport error, timeout, 408, 429 and every 5xx; 4xx answers are final.
    status == 0 || status == 1 || status == 408 || status == 429 || status >= 500
}

async fn send(client: &reqwest::Client, url: &str, key: &str, body: &str) -> u16 {
    let res = client
        .post(url)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    match res {
        Ok(r) => {
            let status = r.status().as_u16();
            // Read the body so the connection can be reused.
            match r.bytes().await {
                Ok(_) => status,
                Err(e) if e.is_timeout() => 1,
                Err(_) => 0,
            }
        }
        Err(e) if e.is_timeout() => 1,
        Err(_) => 0,
    }
}

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
    let mean = v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64;
    json!({
        "count": v.len(),
        "min_ms": ms(v[0]),
        "mean_ms": (mean * 1e6).round() / 1e3,
        "p50_ms": at(50.0),
        "p90_ms": at(90.0),
        "p99_ms": at(99.0),
        "p999_ms": at(99.9),
        "max_ms": ms(*v.last().expect("not empty")),
    })
}

fn status_name(s: u16) -> String {
    match s {
        0 => "transport_error".into(),
        1 => "timeout".into(),
        s => s.to_string(),
    }
}

fn counts<I: IntoIterator<Item = u16>>(it: I) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in it {
        *m.entry(status_name(s)).or_insert(0) += 1;
    }
    m
}

async fn conversions(a: ConvArgs) -> Result<Value, String> {
    if a.partners.is_empty() || a.concurrency == 0 {
        return Err("need at least one partner and one client".into());
    }
    let (jobs, _) = plan(&a);
    let jobs = Arc::new(jobs);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(a.timeout_s))
        .connect_timeout(Duration::from_secs_f64(a.timeout_s.min(5.0)))
        .pool_max_idle_per_host(a.concurrency)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{}/api/v1/conversions", a.url.trim_end_matches('/'));
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<Vec<Option<Outcome>>>> = Arc::new(Mutex::new(vec![None; jobs.len()]));
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::new(Mutex::new(Vec::with_capacity(jobs.len())));
    let start = Instant::now();
    let start_wall = SystemTime::now();
    let deadline = start + Duration::from_secs_f64(a.deadline_s);

    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (client, url, jobs, next, outcomes, attempts, a) =
            (client.clone(), url.clone(), jobs.clone(), next.clone(), outcomes.clone(), attempts.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            let mut local_attempts = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs.len() || Instant::now() >= deadline {
                    break;
                }
                let scheduled = if a.rate > 0.0 {
                    let at = start + Duration::from_secs_f64(i as f64 / a.rate);
                    tokio::time::sleep_until(at.into()).await;
                    at
                } else {
                    Instant::now()
                };
                let job = &jobs[i];
                let mut tries = 0u32;
                let mut backoff = Duration::from_millis(a.backoff_ms);
                let outcome = loop {
                    tries += 1;
                    let sent_wall = SystemTime::now();
                    let sent = Instant::now();
                    let status = send(&client, &url, &a.key, &job.body).await;
                    let latency = sent.elapsed();
                    local_attempts.push(Attempt { start_unix_ms: unix_ms(sent_wall), latency, status, job: i });
                    let done = !a.retry || !retryable(status) || Instant::now() + backoff >= deadline;
                    if done {
                        break Outcome { latency: scheduled.elapsed(), raw_latency: latency, status, attempts: tries };
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(a.backoff_max_ms));
                };
                outcomes.lock().expect("not poisoned")[i] = Some(outcome);
            }
            attempts.lock().expect("not poisoned").extend(local_attempts);
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let elapsed = start.elapsed();
    let outcomes: Vec<Option<Outcome>> = std::mem::take(&mut *outcomes.lock().expect("not poisoned"));
    let mut attempts: Vec<Attempt> = std::mem::take(&mut *attempts.lock().expect("not poisoned"));
    attempts.sort_by_key(|x| x.start_unix_ms);

    if let Some(p) = &a.attempts_csv {
        let mut f = std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?);
        writeln!(f, "start_unix_ms,latency_ms,status,external_id").map_err(|e| e.to_string())?;
        for x in &attempts {
            writeln!(f, "{},{:.3},{},{}", x.start_unix_ms, ms(x.latency), x.status, jobs[x.job].external_id).map_err(|e| e.to_string())?;
        }
    }

    // The unique ids actually sent (a run cut short by --deadline-s sends fewer than planned).
    let mut ids: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, j) in jobs.iter().enumerate() {
        if outcomes[i].is_some() && seen.insert(j.external_id.as_str()) {
            ids.push(j.external_id.as_str());
        }
    }
    if let Some(p) = &a.ids_out {
        let mut f = std::io::BufWriter::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?);
        for id in &ids {
            writeln!(f, "{id}").map_err(|e| e.to_string())?;
        }
    }
    let done: Vec<(usize, &Outcome)> = outcomes.iter().enumerate().filter_map(|(i, o)| o.as_ref().map(|o| (i, o))).collect();
    let ok = |s: u16| s == 200 || s == 201;
    let success = done.iter().filter(|(_, o)| ok(o.status)).count();
    let created = done.iter().filter(|(_, o)| o.status == 201).count();
    let replayed = done.iter().filter(|(_, o)| o.status == 200).count();
    let dup_jobs = jobs.iter().enumerate().filter(|(i, j)| j.duplicate && outcomes[*i].is_some()).count();
    // Unique ids whose every request ended in 200/201: confirmed stored, as far as the client knows.
    let mut confirmed: BTreeMap<&str, bool> = BTreeMap::new();
    for (i, j) in jobs.iter().enumerate().filter(|(i, _)| outcomes[*i].is_some()) {
        let good = outcomes[i].as_ref().is_some_and(|o| ok(o.status));
        let e = confirmed.entry(j.external_id.as_str()).or_insert(false);
        *e |= good;
    }
    let unconfirmed: Vec<&str> = confirmed.iter().filter(|(_, g)| !**g).map(|(k, _)| *k).collect();
    let lat_all: Vec<Duration> = done.iter().map(|(_, o)| o.latency).collect();
    let lat_ok: Vec<Duration> = done.iter().filter(|(_, o)| ok(o.status)).map(|(_, o)| o.raw_latency).collect();
    let lat_ok_sched: Vec<Duration> = done.iter().filter(|(_, o)| ok(o.status)).map(|(_, o)| o.latency).collect();
    let attempt_lat: Vec<Duration> = attempts.iter().map(|x| x.latency).collect();
    let secs = elapsed.as_secs_f64();

    let mut summary = json!({
        "mode": if a.retry { "retry" } else { "once" },
        "url": url,
        "requests_planned": jobs.len(),
        "requests_finished": done.len(),
        "unique_external_ids_sent": ids.len(),
        "cut_by_deadline": done.len() < jobs.len(),
        "duplicate_requests": dup_jobs,
        "concurrency": a.concurrency,
        "offered_rate_per_s": if a.rate > 0.0 { json!(a.rate) } else { json!("unthrottled") },
        "elapsed_s": (secs * 1000.0).round() / 1000.0,
        "achieved_requests_per_s": ((done.len() as f64 / secs) * 10.0).round() / 10.0,
        "achieved_success_per_s": ((success as f64 / secs) * 10.0).round() / 10.0,
        "new_conversions_per_s": ((created as f64 / secs) * 10.0).round() / 10.0,
        "final_status_counts": counts(done.iter().map(|(_, o)| o.status)),
        "created_201": created,
        "replayed_200": replayed,
        "unique_ids_not_confirmed": unconfirmed.len(),
        "unique_ids_not_confirmed_sample": unconfirmed.iter().take(10).collect::<Vec<_>>(),
        "latency_success": percentiles(lat_ok),
        "latency_success_from_schedule": if a.rate > 0.0 { percentiles(lat_ok_sched) } else { json!("same as latency_success (closed loop)") },
        "latency_all_final": percentiles(lat_all),
    });
    if a.retry {
        let failed: Vec<&Attempt> = attempts.iter().filter(|x| !ok(x.status)).collect();
        let max_attempts = done.iter().map(|(_, o)| o.attempts).max().unwrap_or(0);
        summary["attempts"] = json!({
            "total": attempts.len(),
            "retries": attempts.len().saturating_sub(done.len()),
            "status_counts": counts(attempts.iter().map(|x| x.status)),
            "max_attempts_for_one_id": max_attempts,
            "latency_every_attempt": percentiles(attempt_lat),
            "latency_failed_attempts": percentiles(failed.iter().map(|x| x.latency).collect()),
        });
        if let Some(p) = &a.down_window {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let stamps: Vec<u64> = text.split_whitespace().filter_map(|s| s.parse().ok()).collect();
            if let [down, up, ..] = stamps[..] {
                // An attempt "during the outage" is one that was in flight at any moment of it.
                let during: Vec<&Attempt> = attempts
                    .iter()
                    .filter(|x| x.start_unix_ms <= up && x.start_unix_ms + x.latency.as_millis() as u64 >= down)
                    .collect();
                let started_inside: Vec<&Attempt> = during.iter().copied().filter(|x| x.start_unix_ms >= down).collect();
                let longest = during.iter().max_by_key(|x| x.latency);
                summary["outage"] = json!({
                    "down_unix_ms": down,
                    "up_unix_ms": up,
                    "down_for_ms": up.saturating_sub(down),
                    "down_at_s_into_run": (down as f64 - unix_ms(start_wall) as f64) / 1000.0,
                    "attempts_in_flight_during_outage": during.len(),
                    "attempts_started_during_outage": started_inside.len(),
                    "status_counts_during_outage": counts(during.iter().map(|x| x.status)),
                    "longest_single_attempt_during_outage_ms": longest.map(|x| ms(x.latency)),
                    "longest_attempt_status": longest.map(|x| status_name(x.status)),
                    "latency_attempts_started_during_outage": percentiles(started_inside.iter().map(|x| x.latency).collect()),
                    "attempts_over_5s_during_outage": during.iter().filter(|x| x.latency > Duration::from_secs(5)).count(),
                });
            } else {
                summary["outage"] = json!(format!("no window in {}", p.display()));
            }
        }
    }
    Ok(summary)
}

fn main() {
    let cli = Cli::parse();
    let Command::Conversions(args) = cli.command;
    let threads = args.threads.max(1);
    let out = args.out.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a runtime");
    match rt.block_on(conversions(args)) {
        Ok(summary) => {
            let text = serde_json::to_string_pretty(&summary).expect("serialises");
            println!("{text}");
            if let Some(p) = out {
                if let Err(e) = std::fs::write(&p, format!("{text}\n")) {
                    eprintln!("trellis-bench: {}: {e}", p.display());
                    std::process::exit(1);
                }
            }
        }
        Err(e) => {
            eprintln!("trellis-bench: {e}");
            std::process::exit(1);
        }
    }
}
