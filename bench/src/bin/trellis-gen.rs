//! `trellis-gen`: deterministic data sets M and L (targets.md, "Data sets") for the P5 timing
//! and the R2/R3 drills (docs/drills.md).
//!
//! It prints a psql script on stdout: a guard that the database is migrated and empty, then
//! `COPY … FROM stdin` blocks for accounts, programs, tiers, partners, enrollments and
//! conversions, then set-based SQL that writes the ledger (`earned` at each enrollment's tier,
//! clawbacks for refunds), the daily rollups, the id sequences and `ANALYZE`. Load it with
//!
//! ```sh
//! trellis migrate                                   # the schema comes from the product
//! trellis-gen --set m --seed 42 --end 2026-11-26T00:00:00Z | psql -v ON_ERROR_STOP=1 -q "$URL"
//! ```
//!
//! The output depends only on the arguments (own xoshiro256** generator, no clock, no hashing
//! with random state), so the same seed and end give byte-identical scripts.
//!
//! What is in a set:
//! - one account; M: 2 programs (USD, EUR), L: 3 programs (USD, EUR, GBP);
//! - tiers per program: Bronze (rank 1, no rule), Silver (min conversions in 90 days, not
//!   retroactive), Gold (min conversions and min revenue in 180 days, **retroactive**); Gold is
//!   20% on USD programs and 22.5% elsewhere so that half-cent rounding is exercised;
//! - partners; M: 5,000 partners with 1–2 enrollments each, L: 100,000 partners with one
//!   enrollment each; 94% active, 3% paused, 3% suspended; **every enrollment starts in Bronze**,
//!   so the first tier pass upgrades a good share of them;
//! - conversions spread over the 365 days before `--end`, drawn per enrollment with log-normal
//!   activity weights (a few busy partners, many quiet ones) and log-normal amounts; 2% fully
//!   and 2% half refunded; attributed by `partner_id` (no clicks: the 500k / 20M clicks of the
//!   target data sets are not generated, no tier rule reads them);
//! - ledger: one `earned` entry per conversion at the Bronze rate (rounded half away from zero,
//!   like `CommissionRate::commission_on`), a `clawback` per refund
//!   (−round(earned × refunded / amount), like the refund API), `approved` when older than 30
//!   days, else `pending`;
//! - daily rollups recomputed from those rows (what `rollup_repair` would compute).
//!
//! `--control-enrollments N` adds a fourth program with a single tier (no real-time tier check
//! possible) and enrolls partners 1..N in it: the reference arm of the per-conversion check
//! measurement (P5). `--stats` prints to stderr how many active enrollments qualify for each
//! tier as of `--end`, computed here independently of the product.

use clap::{Parser, ValueEnum};
use std::io::{self, BufWriter, Write};

#[derive(Clone, Copy, ValueEnum, Debug, PartialEq, Eq)]
enum Set {
    M,
    L,
}

#[derive(Parser, Debug)]
#[command(name = "trellis-gen", about = "Deterministic Trellis data sets M and L as a psql script")]
struct Args {
    /// Data set.
    #[arg(long, value_enum)]
    set: Set,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Conversions fall in the 365 days before this moment (RFC 3339, UTC, whole seconds).
    #[arg(long, default_value = "2026-11-26T00:00:00Z")]
    end: String,
    /// Account slug.
    #[arg(long)]
    slug: Option<String>,
    /// Override the number of partners (tests of the generator).
    #[arg(long)]
    partners: Option<usize>,
    /// Override the number of conversions.
    #[arg(long)]
    conversions: Option<usize>,
    /// Add a one-tier control program with this many enrollments (partners 1..N).
    #[arg(long, default_value_t = 0)]
    control_enrollments: usize,
    /// Print qualification counts per tier (as of --end) to stderr.
    #[arg(long)]
    stats: bool,
}

/// xoshiro256** seeded through splitmix64.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }
    fn u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }
    /// Uniform in [0, 1).
    fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.u64() % (hi - lo) as u64) as i64
    }
    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

struct TierSpec {
    name: &'static str,
    rank: i32,
    percent: &'static str,
    min_conversions: Option<i32>,
    min_revenue_minor: Option<i64>,
    window_days: i32,
    retroactive: bool,
}

struct ProgramSpec {
    name: &'static str,
    currency: &'static str,
    host: &'static str,
    tiers: Vec<TierSpec>,
}

fn tiers_for(set: Set, currency: &str) -> Vec<TierSpec> {
    // Rules scaled to each set's activity (M: ~7.5 conversions a year per enrollment, L: 20), so
    // that roughly a third of the enrollments qualify above Bronze when the first pass runs.
    let (silver, gold, gold_rev) = match set {
        Set::M => (3, 6, 40_000),
        Set::L => (7, 16, 100_000),
    };
    let gold_pct = if currency == "USD" { "20" } else { "22.5" };
    vec![
        TierSpec { name: "Bronze", rank: 1, percent: "10", min_conversions: None, min_revenue_minor: None, window_days: 0, retroactive: false },
        TierSpec { name: "Silver", rank: 2, percent: "15", min_conversions: Some(silver), min_revenue_minor: None, window_days: 90, retroactive: false },
        TierSpec { name: "Gold", rank: 3, percent: gold_pct, min_conversions: Some(gold), min_revenue_minor: Some(gold_rev), window_days: 180, retroactive: true },
    ]
}

struct Enrollment {
    id: i64,
    partner: i64,
    program: usize, // index into programs
    status: &'static str,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SSZ` → Unix seconds (UTC only, whole seconds).
fn parse_utc(s: &str) -> Result<i64, String> {
    let bad = || format!("--end: '{s}' is not YYYY-MM-DDTHH:MM:SSZ");
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().map_err(|_| bad());
    Ok(days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?) * 86_400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?)
}

/// Unix seconds → `YYYY-MM-DD HH:MM:SS+00` (PostgreSQL input) or RFC 3339.
fn fmt_ts(t: i64, rfc: bool) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    if rfc {
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}+00", s / 3600, s / 60 % 60, s % 60)
    }
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// percent × amount / 100, rounded half away from zero (amounts are positive here). `pct` is a
/// decimal string with at most one fractional digit.
fn commission(amount_minor: i64, pct: &str) -> i64 {
    let tenths: i64 = match pct.split_once('.') {
        Some((a, b)) => a.parse::<i64>().unwrap() * 10 + b.parse::<i64>().unwrap(),
        None => pct.parse::<i64>().unwrap() * 10,
    };
    (amount_minor * tenths + 500) / 1000
}

const FIRST: &[&str] = &[
    "Ava", "Liam", "Mia", "Noah", "Zoe", "Omar", "Lena", "Ravi", "Sofia", "Kenji", "Amara", "Lucas", "Ines", "Mateo", "Hana", "Felix",
    "Nora", "Tariq", "Elif", "Jonas", "Priya", "Diego", "Yara", "Emil",
];
const LAST: &[&str] = &[
    "Thompson", "Garcia", "Nakamura", "Okafor", "Schmidt", "Rossi", "Haddad", "Kowalski", "Silva", "Larsen", "Patel", "Dubois",
    "Moreau", "Novak", "Fischer", "Jensen", "Costa", "Ahmed", "Berg", "Romero",
];

fn main() -> io::Result<()> {
    let args = Args::parse();
    let end = match parse_utc(&args.end) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let (n_partners, n_conv) = match args.set {
        Set::M => (5_000, 50_000),
        Set::L => (100_000, 2_000_000),
    };
    let n_partners = args.partners.unwrap_or(n_partners);
    let n_conv = args.conversions.unwrap_or(n_conv);
    let slug = args.slug.clone().unwrap_or_else(|| format!("bench-{}", if args.set == Set::M { "m" } else { "l" }));
    let mut rng = Rng::new(args.seed);

    let mut programs: Vec<ProgramSpec> = vec![
        ProgramSpec { name: "Northwind Outdoor", currency: "USD", host: "outdoor.bench.example", tiers: vec![] },
        ProgramSpec { name: "Contoso Travel", currency: "EUR", host: "travel.bench.example", tiers: vec![] },
    ];
    if args.set == Set::L {
        programs.push(ProgramSpec { name: "Fabrikam Home", currency: "GBP", host: "home.bench.example", tiers: vec![] });
    }
    for p in &mut programs {
        p.tiers = tiers_for(args.set, p.currency);
    }
    let n_main = programs.len();
    if args.control_enrollments > 0 {
        programs.push(ProgramSpec {
            name: "Control (one tier)",
            currency: "USD",
            host: "control.bench.example",
            tiers: vec![TierSpec { name: "Standard", rank: 1, percent: "10", min_conversions: None, min_revenue_minor: None, window_days: 0, retroactive: false }],
        });
    }
    // Tier ids: consecutive per program.
    let mut tier_ids: Vec<Vec<i64>> = Vec::new();
    let mut next_tier = 1;
    for p in &programs {
        tier_ids.push(p.tiers.iter().map(|_| { next_tier += 1; next_tier - 1 }).collect());
    }

    let out = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 20, out.lock());
    writeln!(w, "-- trellis-gen --set {:?} --seed {} --end {} (deterministic; see bench/src/bin/trellis-gen.rs)", args.set, args.seed, args.end)?;
    writeln!(w, "\\set ON_ERROR_STOP on")?;
    writeln!(w, "BEGIN;")?;
    writeln!(w, "SET LOCAL synchronous_commit = off;")?;
    writeln!(
        w,
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM partners) THEN \
         RAISE EXCEPTION 'trellis-gen loads into a migrated, empty database only'; END IF; END $$;"
    )?;
    let created = fmt_ts(end - 800 * 86_400, false);
    writeln!(w, "COPY accounts (id, slug, name, created_at) FROM stdin;")?;
    writeln!(w, "1\t{slug}\tBench {:?} ({} partners)\t{created}", args.set, n_partners)?;
    writeln!(w, "\\.")?;

    writeln!(w, "COPY programs (id, account_id, name, currency, website, allowed_domains, cookie_days, commission_kind, commission_value, dormant_days, created_at) FROM stdin;")?;
    for (i, p) in programs.iter().enumerate() {
        writeln!(
            w,
            "{}\t1\t{}\t{}\thttps://{}\t[\"{}\"]\t30\tpercent\t10\t45\t{created}",
            i + 1,
            p.name,
            p.currency,
            p.host,
            p.host
        )?;
    }
    writeln!(w, "\\.")?;

    writeln!(w, "COPY tiers (id, account_id, program_id, name, rank, commission_kind, commission_value, min_conversions, min_revenue_minor, window_days, retroactive) FROM stdin;")?;
    for (i, p) in programs.iter().enumerate() {
        for (j, t) in p.tiers.iter().enumerate() {
            let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "\\N".into());
            writeln!(
                w,
                "{}\t1\t{}\t{}\t{}\tpercent\t{}\t{}\t{}\t{}\t{}",
                tier_ids[i][j],
                i + 1,
                t.name,
                t.rank,
                t.percent,
                opt(t.min_conversions.map(i64::from)),
                opt(t.min_revenue_minor),
                t.window_days,
                t.retroactive
            )?;
        }
    }
    writeln!(w, "\\.")?;

    // Partners.
    writeln!(w, "COPY partners (id, account_id, email, name, company, source, custom, created_at, updated_at) FROM stdin;")?;
    let mut partner_created = Vec::with_capacity(n_partners);
    for id in 1..=n_partners as i64 {
        let first = FIRST[rng.range(0, FIRST.len() as i64) as usize];
        let last = LAST[rng.range(0, LAST.len() as i64) as usize];
        let at = end - 400 * 86_400 - rng.range(0, 365 * 86_400);
        partner_created.push(at);
        let company = if rng.f64() < 0.4 { format!("{last} Media {id}") } else { "\\N".into() };
        let ts = fmt_ts(at, false);
        writeln!(
            w,
            "{id}\t1\tpartner{id}@bench.example\t{first} {last}\t{company}\timport\t{{}}\t{ts}\t{ts}"
        )?;
    }
    writeln!(w, "\\.")?;

    // Enrollments.
    let mut enrollments: Vec<Enrollment> = Vec::new();
    for pid in 1..=n_partners as i64 {
        let mut progs: Vec<usize> = Vec::new();
        match args.set {
            Set::M => {
                let a = rng.f64() < 0.8;
                let b = rng.f64() < 0.5;
                if a || !b {
                    progs.push(0);
                }
                if b {
                    progs.push(1);
                }
            }
            Set::L => {
                let u = rng.f64();
                progs.push(if u < 0.5 { 0 } else if u < 0.8 { 1 } else { 2 });
            }
        }
        for p in progs {
            let u = rng.f64();
            let status = if u < 0.94 { "active" } else if u < 0.97 { "paused" } else { "suspended" };
            enrollments.push(Enrollment { id: enrollments.len() as i64 + 1, partner: pid, program: p, status });
        }
    }
    let n_main_enrollments = enrollments.len();
    for pid in 1..=args.control_enrollments.min(n_partners) as i64 {
        enrollments.push(Enrollment { id: enrollments.len() as i64 + 1, partner: pid, program: n_main, status: "active" });
    }
    writeln!(w, "COPY enrollments (id, account_id, partner_id, program_id, status, tier_id, joined_at, status_changed_at) FROM stdin;")?;
    for e in &enrollments {
        let joined = partner_created[(e.partner - 1) as usize] + 86_400;
        let changed = if e.status == "active" { joined } else { end - rng.range(1, 20) * 86_400 };
        writeln!(
            w,
            "{}\t1\t{}\t{}\t{}\t{}\t{}\t{}",
            e.id,
            e.partner,
            e.program + 1,
            e.status,
            tier_ids[e.program][0],
            fmt_ts(joined, false),
            fmt_ts(changed, false)
        )?;
    }
    writeln!(w, "\\.")?;

    // Activity weights (log-normal, sigma 1.1) over the main programs' enrollments.
    let mut cum = Vec::with_capacity(n_main_enrollments);
    let mut total = 0.0;
    for _ in 0..n_main_enrollments {
        total += (1.1 * rng.normal()).exp();
        cum.push(total);
    }

    // Conversions; per-enrollment standing for --stats: (occurred, net amount, counted).
    let mut hist: Vec<Vec<(i64, i64)>> = if args.stats { vec![Vec::new(); n_main_enrollments] } else { Vec::new() };
    writeln!(
        w,
        "COPY conversions (id, account_id, program_id, external_id, amount_minor, currency, enrollment_id, partner_id, attributed_via, click_path, customer_id, status, refunded_minor, occurred_at, created_at, request_hash, response) FROM stdin;"
    )?;
    let mut n_refunded = 0;
    for id in 1..=n_conv as i64 {
        let x = rng.f64() * total;
        let ei = cum.partition_point(|&c| c <= x).min(n_main_enrollments - 1);
        let e = &enrollments[ei];
        let p = &programs[e.program];
        let occurred = end - 1 - rng.range(0, 365 * 86_400);
        let amount = ((6_000.0 * (0.8 * rng.normal()).exp()) as i64).clamp(500, 200_000);
        let u = rng.f64();
        let refunded = if u < 0.02 { amount } else if u < 0.04 { amount / 2 } else { 0 };
        if refunded > 0 {
            n_refunded += 1;
        }
        let ext = format!("gen-{}-{id:08}", args.seed);
        let bronze = &p.tiers[0];
        let earned = commission(amount, bronze.percent);
        let response = format!(
            "{{\"id\":{id},\"external_id\":\"{ext}\",\"program_id\":{},\"amount\":\"{}\",\"currency\":\"{}\",\"partner_id\":{},\"attributed_via\":\"partner_id\",\"click_path\":[],\"status\":\"attributed\",\"reason\":null,\"occurred_at\":\"{}\",\"commission\":{{\"amount\":\"{}\",\"rate\":\"{}%\",\"tier\":\"{}\"}}}}",
            e.program + 1,
            money(amount),
            p.currency,
            e.partner,
            fmt_ts(occurred, true),
            money(earned),
            bronze.percent,
            bronze.name
        );
        let ts = fmt_ts(occurred, false);
        writeln!(
            w,
            "{id}\t1\t{}\t{ext}\t{amount}\t{}\t{}\t{}\tpartner_id\t[]\tcustomer-{}\tattributed\t{refunded}\t{ts}\t{ts}\t{:016x}{:016x}{:016x}{:016x}\t{response}",
            e.program + 1,
            p.currency,
            e.id,
            e.partner,
            rng.range(0, 1_000_000),
            args.seed,
            id as u64,
            rng.u64(),
            rng.u64()
        )?;
        if args.stats && refunded < amount {
            hist[ei].push((occurred, amount - refunded));
        }
    }
    writeln!(w, "\\.")?;

    // Ledger: earned at each enrollment's (Bronze) tier, half away from zero; clawbacks.
    let hold = fmt_ts(end - 30 * 86_400, false);
    writeln!(
        w,
        "INSERT INTO ledger_entries (account_id, program_id, enrollment_id, partner_id, conversion_id, kind, amount_minor, currency, rate, tier, status, created_by, created_at, approved_by, approved_at)
SELECT c.account_id, c.program_id, c.enrollment_id, c.partner_id, c.id, 'earned',
       round(c.amount_minor * t.commission_value::numeric / 100)::bigint, c.currency, t.commission_value || '%', t.name,
       CASE WHEN c.occurred_at < '{hold}' THEN 'approved' ELSE 'pending' END, 'trellis-gen', c.created_at,
       CASE WHEN c.occurred_at < '{hold}' THEN 'trellis-gen' END,
       CASE WHEN c.occurred_at < '{hold}' THEN c.created_at + interval '30 days' END
  FROM conversions c JOIN enrollments e ON e.id = c.enrollment_id JOIN tiers t ON t.id = e.tier_id
 ORDER BY c.id;"
    )?;
    writeln!(
        w,
        "INSERT INTO ledger_entries (account_id, program_id, enrollment_id, partner_id, conversion_id, kind, amount_minor, currency, rate, tier, status, note, created_by, created_at)
SELECT c.account_id, c.program_id, c.enrollment_id, c.partner_id, c.id, 'clawback',
       -round(l.amount_minor::numeric * c.refunded_minor / c.amount_minor)::bigint, c.currency, l.rate, l.tier, 'pending',
       'refund of ' || to_char(c.refunded_minor / 100.0, 'FM999999990.00'), 'trellis-gen', c.occurred_at + interval '1 day'
  FROM conversions c JOIN ledger_entries l ON l.conversion_id = c.id AND l.kind = 'earned'
 WHERE c.refunded_minor > 0
 ORDER BY c.id;"
    )?;
    writeln!(
        w,
        "INSERT INTO daily_rollups (enrollment_id, day, account_id, program_id, clicks, conversions, revenue_minor, commission_minor)
SELECT c.enrollment_id, (c.occurred_at AT TIME ZONE 'UTC')::date, min(c.account_id), min(c.program_id), 0, count(*),
       sum(c.amount_minor - c.refunded_minor), coalesce(sum(l.total), 0)
  FROM conversions c
  LEFT JOIN (SELECT conversion_id, sum(amount_minor) AS total FROM ledger_entries
              WHERE kind IN ('earned', 'adjustment', 'clawback') GROUP BY conversion_id) l ON l.conversion_id = c.id
 GROUP BY 1, 2;"
    )?;
    for t in ["accounts", "programs", "tiers", "partners", "enrollments", "conversions", "ledger_entries"] {
        writeln!(w, "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}));")?;
    }
    writeln!(w, "COMMIT;")?;
    writeln!(w, "ANALYZE;")?;
    w.flush()?;
    drop(w);

    eprintln!(
        "trellis-gen: set {:?}, seed {}, end {}: {} programs, {} partners, {} enrollments ({} in the control program), {} conversions ({} refunded)",
        args.set,
        args.seed,
        args.end,
        programs.len(),
        n_partners,
        enrollments.len(),
        enrollments.len() - n_main_enrollments,
        n_conv,
        n_refunded
    );
    if args.stats {
        // Which tier each active enrollment qualifies for as of `end` (both window ends included).
        let mut counts = [0usize; 3];
        for (i, e) in enrollments.iter().take(n_main_enrollments).enumerate() {
            if e.status != "active" {
                continue;
            }
            let tiers = &programs[e.program].tiers;
            let mut best = 0;
            for (j, t) in tiers.iter().enumerate().skip(1) {
                let from = end - t.window_days as i64 * 86_400;
                let (n, rev) = hist[i].iter().filter(|(at, _)| *at >= from && *at <= end).fold((0i64, 0i64), |(n, r), (_, a)| (n + 1, r + a));
                let ok = t.min_conversions.is_none_or(|m| n >= m as i64) && t.min_revenue_minor.is_none_or(|m| rev >= m);
                if ok {
                    best = j;
                }
            }
            counts[best] += 1;
        }
        eprintln!(
            "trellis-gen: active enrollments qualifying as of {}: Bronze {}, Silver {}, Gold {}",
            args.end, counts[0], counts[1], counts[2]
        );
    }
    Ok(())
}
