//! Bulk actions at 500 partners (issue #3: "500 partners in under 2 seconds"), over HTTP
//! against a running server with the demo loaded: creates `--partners` active partners through
//! the REST API, then times `directory/bulk` (pause 500 with a reason; then add a note to 500)
//! as the program manager, `--runs` times each, and prints the wall-clock times.
//!
//! `trellis-bulkbench --url http://127.0.0.1:3000 --key $KEY`
//!
//! With `--page N` it measures P4 instead: N sequential requests (after 20 warm-up requests) of
//! the directory server function and of the full SSR page for "tier Gold, status active, sorted
//! by revenue, page 50", signed in as `--email`, and prints p50/p95/p99 of each.

use clap::Parser;
use serde_json::{json, Value};
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// An API key of the demo account.
    #[arg(long)]
    key: String,
    #[arg(long, default_value_t = 500)]
    partners: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Measure the directory page (P4) with this many requests instead.
    #[arg(long)]
    page: Option<usize>,
    /// Who signs in for `--page`.
    #[arg(long, default_value = "admin@bench.example")]
    email: String,
    #[arg(long, default_value = "trellis-bench")]
    password: String,
    /// Page number for `--page`.
    #[arg(long, default_value_t = 50)]
    page_no: u64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize]
}

async fn directory_latency(a: &Args, base: &str, n: usize) {
    let web = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = web.post(format!("{base}/api/login")).form(&[("email", a.email.as_str()), ("password", a.password.as_str())]).send().await.unwrap();
    assert_eq!(login.status(), 200, "sign in as {}", a.email);
    let query = json!({"tier": "Gold", "status": "active", "sort": "revenue", "desc": true, "page": a.page_no, "per_page": 50});
    let page_url = format!("{base}/directory?status=active&tier=Gold&sort=revenue&desc=1&page={}", a.page_no);
    for (name, is_fn) in [("server function", true), ("SSR page", false)] {
        let mut times = Vec::with_capacity(n);
        for i in 0..n + 20 {
            let t = Instant::now();
            let res = if is_fn {
                web.post(format!("{base}/api/directory")).json(&json!({ "query": query })).send().await.unwrap()
            } else {
                web.get(&page_url).header("accept", "text/html").send().await.unwrap()
            };
            assert_eq!(res.status(), 200);
            let body = res.text().await.unwrap();
            if i >= 20 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            if i == 0 && is_fn {
                let v: Value = serde_json::from_str(&body).unwrap();
                println!("matching enrollments: {}, rows on page {}: {}", v["total"], a.page_no, v["items"].as_array().map(|x| x.len()).unwrap_or(0));
            }
        }
        times.sort_by(|x, y| x.partial_cmp(y).unwrap());
        println!("{name:<16} n={n} p50={:.1} ms p95={:.1} ms p99={:.1} ms max={:.1} ms", pct(&times, 50.0), pct(&times, 95.0), pct(&times, 99.0), times[times.len() - 1]);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = Args::parse();
    let base = a.url.trim_end_matches('/').to_string();
    if let Some(n) = a.page {
        return directory_latency(&a, &base, n).await;
    }
    let api = reqwest::Client::new();
    let tag = std::process::id();
    for i in 0..a.partners {
        let res = api
            .post(format!("{base}/api/v1/partners"))
            .bearer_auth(&a.key)
            .json(&json!({"email": format!("bulk{tag}-{i}@bench.example"), "name": format!("Bulk {i}"), "program_id": 1, "status": "active"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    }
    let web = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = web.post(format!("{base}/api/login")).form(&[("email", "manager@demo.trellis.dev"), ("password", "trellis-demo")]).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let page: Value = web
        .post(format!("{base}/api/directory"))
        .json(&json!({"query": {"q": format!("bulk{tag}-"), "per_page": 200}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"].as_u64().unwrap() as usize, a.partners);
    let query = json!({"q": format!("bulk{tag}-")});
    for run in 0..a.runs {
        for (name, action) in [
            ("pause", json!({"action": "set_status", "status": "paused", "reason": "bench"})),
            ("resume", json!({"action": "set_status", "status": "active", "reason": "bench"})),
            ("note", json!({"action": "add_note", "text": format!("bench note {run}")})),
        ] {
            let t = Instant::now();
            let res = web.post(format!("{base}/api/directory/bulk")).json(&json!({"target": {"by": "filter", "query": query}, "action": action})).send().await.unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["changed"].as_u64().unwrap() as usize, a.partners, "{body}");
            println!("run {run} {name:<6} {} enrollments changed in {ms:.0} ms", a.partners);
        }
    }
}
