//! `trellis-tiercheck`: what the per-conversion real-time tier check adds to
//! `POST /api/v1/conversions` (P5, docs/drills.md).
//!
//! One client, one request at a time (closed loop, keep-alive), interleaving arms round-robin
//! so that every arm sees the same machine noise. Each arm is a file of `program_id partner_id`
//! lines; every request is a new conversion (unique external id) attributed by `partner_id`,
//! with a small amount that crosses no tier threshold. Typical arms:
//!
//! - `one-tier`: enrollments of a program with a single tier — the check has nothing to look at
//!   above the current tier, so it issues no standing query (the reference);
//! - `bronze-3tiers`: Bronze enrollments of a three-tier program — the check reads the
//!   enrollment's conversions in each higher tier's window (one query per distinct window);
//! - `gold-3tiers`: top-tier enrollments of the same program — no standing query either
//!   (separates "another program" from "the check").
//!
//! Prints JSON: per arm count, errors, mean, p50/p90/p99 (ms), and for every arm against the
//! first one the difference of medians and of means with a 95% bootstrap interval.

use clap::Parser;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "trellis-tiercheck")]
struct Args {
    /// Base URL of the server.
    #[arg(long)]
    url: String,
    /// API key (Bearer).
    #[arg(long, env = "TRELLIS_BENCH_KEY")]
    key: String,
    /// Arms as NAME=FILE; the first is the reference.
    #[arg(long = "arm", required = true, num_args = 1..)]
    arms: Vec<String>,
    /// Measured requests per arm.
    #[arg(short = 'n', long, default_value_t = 1500)]
    requests: usize,
    /// Unmeasured warm-up requests per arm (sent first, same interleaving).
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// Prefix of the external ids (make it unique per run).
    #[arg(long, default_value = "tiercheck")]
    prefix: String,
    /// Amount of every conversion.
    #[arg(long, default_value = "12.34")]
    amount: String,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    pct(&s, 50.0)
}

/// 95% bootstrap interval of stat(b) - stat(a) (deterministic resampling).
fn bootstrap(a: &[f64], b: &[f64], stat: fn(&[f64]) -> f64) -> (f64, f64) {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut diffs = Vec::with_capacity(1000);
    let (mut ra, mut rb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    for _ in 0..1000 {
        for v in ra.iter_mut() {
            *v = a[next(a.len())];
        }
        for v in rb.iter_mut() {
            *v = b[next(b.len())];
        }
        diffs.push(stat(&rb) - stat(&ra));
    }
    diffs.sort_by(|p, q| p.partial_cmp(q).unwrap());
    (pct(&diffs, 2.5), pct(&diffs, 97.5))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let mut arms: Vec<(String, Vec<(i64, i64)>)> = Vec::new();
    for a in &args.arms {
        let (name, file) = a.split_once('=').expect("--arm NAME=FILE");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let rows: Vec<(i64, i64)> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut it = l.split(|c: char| c == ' ' || c == '|' || c == '\t');
                (it.next().unwrap().parse().unwrap(), it.next().unwrap().parse().unwrap())
            })
            .collect();
        assert!(!rows.is_empty(), "{file} is empty");
        arms.push((name.to_string(), rows));
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(1).build().unwrap();
    let url = format!("{}/api/v1/conversions", args.url.trim_end_matches('/'));
    let mut lat: Vec<Vec<f64>> = vec![Vec::new(); arms.len()];
    let mut errors = vec![0usize; arms.len()];
    let mut statuses: Vec<std::collections::BTreeMap<u16, usize>> = vec![Default::default(); arms.len()];
    let mut tiers_seen: Vec<std::collections::BTreeMap<String, usize>> = vec![Default::default(); arms.len()];
    let total = args.warmup + args.requests;
    let started = Instant::now();
    for i in 0..total {
        for (k, (name, rows)) in arms.iter().enumerate() {
            let (program, partner) = rows[i % rows.len()];
            let body = json!({
                "program_id": program,
                "external_id": format!("{}-{name}-{i}", args.prefix),
                "amount": args.amount,
                "partner_id": partner,
            });
            let t0 = Instant::now();
            let res = client.post(&url).bearer_auth(&args.key).json(&body).send().await;
            let (ok, code, tier) = match res {
                Ok(r) => {
                    let code = r.status().as_u16();
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    let tier = v["commission"]["tier"].as_str().unwrap_or("-").to_string();
                    (code == 201, code, tier)
                }
                Err(_) => (false, 0, "-".into()),
            };
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            if i >= args.warmup {
                *statuses[k].entry(code).or_default() += 1;
                *tiers_seen[k].entry(tier).or_default() += 1;
                if ok {
                    lat[k].push(ms);
                } else {
                    errors[k] += 1;
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, (name, rows)) in arms.iter().enumerate() {
        let mut s = lat[k].clone();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mut o = json!({
            "arm": name, "distinct_enrollments": rows.len(), "ok": s.len(), "errors": errors[k],
            "statuses": statuses[k], "commission_tier_answered": tiers_seen[k],
            "mean_ms": mean(&s), "p50_ms": pct(&s, 50.0), "p90_ms": pct(&s, 90.0), "p99_ms": pct(&s, 99.0),
        });
        if k > 0 {
            let (lo, hi) = bootstrap(&lat[0], &lat[k], median);
            let (mlo, mhi) = bootstrap(&lat[0], &lat[k], mean);
            o["vs_reference"] = json!({
                "reference": arms[0].0,
                "median_diff_ms": median(&lat[k]) - median(&lat[0]), "median_diff_ci95_ms": [lo, hi],
                "mean_diff_ms": mean(&lat[k]) - mean(&lat[0]), "mean_diff_ci95_ms": [mlo, mhi],
            });
        }
        out.push(o);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "requests_per_arm": args.requests, "warmup_per_arm": args.warmup, "interleaved": true, "clients": 1,
            "elapsed_s": started.elapsed().as_secs_f64(), "arms": out,
        }))
        .unwrap()
    );
}
