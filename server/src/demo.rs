//! The demo account: a living program for a new user to look at. Deterministic (fixed seed) and
//! idempotent: loading it twice changes nothing.

use backend::access::accounts::{create_user, ensure_account, NewUser};
use backend::entities::{account, custom_field, enrollment, partner, program, tier, timeline_event};
use backend::{Clock, Result};
use chrono::Duration;
use models::{EnrollmentStatus, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

/// The demo account's slug.
pub const DEMO_SLUG: &str = "demo";
/// The password of every demo login.
pub const DEMO_PASSWORD: &str = "trellis-demo";
/// Partners in the demo program.
pub const DEMO_PARTNERS: usize = 150;

/// A login to print for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    /// What this login is for.
    pub what: &'static str,
    /// Email to sign in with.
    pub email: String,
}

const TEAM: &[(&str, &str, &[Role])] = &[
    ("admin@demo.trellis.dev", "Alex Admin", &[Role::Admin]),
    ("manager@demo.trellis.dev", "Morgan Manager", &[Role::ProgramManager]),
    ("owner@demo.trellis.dev", "Riley Owner", &[Role::RelationshipOwner]),
    ("analyst@demo.trellis.dev", "Avery Analyst", &[Role::AnalyticsViewer]),
    ("finance@demo.trellis.dev", "Jordan Finance", &[Role::FinanceApprover]),
];

const FIRST: &[&str] = &[
    "Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Ines", "Omar", "Lena", "Hugo", "Sofia", "Mateo", "Yara", "Kai",
    "Nora", "Felix", "Priya", "Tom", "Elif", "Jonas", "Chloe", "Ravi", "Maya", "Leo", "Aiko",
];
const LAST: &[&str] = &[
    "Thompson", "Garcia", "Müller", "Okafor", "Rossi", "Nguyen", "Kowalski", "Silva", "Haddad", "Jensen", "Dubois",
    "Tanaka", "Patel", "Novak", "Berg", "Costa",
];
const SOURCES: &[&str] = &["organic", "partner referral", "conference", "outreach", "marketplace"];
const COMPANIES: &[&str] = &[
    "Trailhead Media", "Summit Reviews", "Basecamp Blog", "Ridge & Co", "Outdoor Weekly", "Pathfinder Labs",
    "Alpine Deals", "Campfire Creators",
];

/// The email of the demo partner who has a portal login.
pub fn demo_partner_email() -> String {
    "ava.thompson@partners.example".to_string()
}

/// The logins of the demo account.
pub fn logins() -> Vec<DemoLogin> {
    let mut out: Vec<DemoLogin> = TEAM
        .iter()
        .map(|(email, _, roles)| DemoLogin { what: roles[0].label(), email: email.to_string() })
        .collect();
    out.push(DemoLogin { what: "Partner (portal)", email: demo_partner_email() });
    out
}

/// Loads the demo account with 120 days of activity unless it exists; returns its logins.
pub async fn load(db: &DatabaseConnection, clock: &Clock) -> Result<Vec<DemoLogin>> {
    load_with(db, clock, true).await
}

/// Loads the demo account; `activity` adds clicks, conversions, commissions and payouts (tests
/// that do not need them skip them to stay fast).
pub async fn load_with(db: &DatabaseConnection, clock: &Clock, activity: bool) -> Result<Vec<DemoLogin>> {
    if account::Entity::find().filter(account::Column::Slug.eq(DEMO_SLUG)).one(db).await?.is_some() {
        return Ok(logins());
    }
    let now = clock.now();
    let mut rng = StdRng::seed_from_u64(42);
    let tx = backend::db::begin_write(db).await?;
    let acc = ensure_account(&tx, clock, DEMO_SLUG, Some("Northwind Outfitters")).await?;

    let prog = program::ActiveModel {
        account_id: Set(acc.id),
        name: Set("Northwind Partner Program".into()),
        currency: Set("USD".into()),
        website: Set("https://northwind.example".into()),
        allowed_domains: Set(r#"["northwind.example","shop.northwind.example"]"#.into()),
        cookie_days: Set(30),
        attribution: Set("last_click".into()),
        commission_kind: Set("percent".into()),
        commission_value: Set("10".into()),
        hold_days: Set(30),
        auto_approve: Set(false),
        brand_color: Set("#2f6f4f".into()),
        sender_name: Set(Some("Northwind Partnerships".into())),
        sender_email: Set(Some("partners@northwind.example".into())),
        dormant_days: Set(45),
        at_risk_threshold: Set(40),
        archived_at: Set(None),
        created_at: Set(now - Duration::days(400)),
        ..Default::default()
    }
    .insert(&tx)
    .await?;

    let tiers = [
        ("Bronze", 1, "10", None, None, 0, false),
        ("Silver", 2, "15", Some(5), None, 60, false),
        ("Gold", 3, "20", Some(12), Some(250_000i64), 60, true),
    ];
    let mut tier_ids = Vec::new();
    for (name, rank, pct, min_conv, min_rev, window, retro) in tiers {
        let t = tier::ActiveModel {
            account_id: Set(acc.id),
            program_id: Set(prog.id),
            name: Set(name.into()),
            rank: Set(rank),
            commission_kind: Set("percent".into()),
            commission_value: Set(pct.into()),
            min_conversions: Set(min_conv),
            min_revenue_minor: Set(min_rev),
            window_days: Set(window),
            retroactive: Set(retro),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        tier_ids.push((t.id, name));
    }

    let mut owner_id = None;
    for (email, name, roles) in TEAM {
        let u = create_user(&tx, clock, acc.id, NewUser { email, name: Some(name), password: DEMO_PASSWORD, roles, partner_id: None })
            .await?;
        if roles.contains(&Role::RelationshipOwner) {
            owner_id = Some(u.id);
        }
        if roles.contains(&Role::ProgramManager) {
            backend::programs::settings::set_managers(&tx, acc.id, prog.id, &[u.id]).await?;
        }
    }

    // Custom fields: what partner teams typically record about a partner.
    const NICHES: [&str; 5] = ["Outdoor", "Travel", "Fitness", "Tech", "Fashion"];
    const COUNTRIES: [&str; 6] = ["US", "US", "GB", "CA", "DE", "AU"];
    for (key, label, kind, options, required) in [
        ("niche", "Niche", "select", Some(NICHES.join("\n")), false),
        ("audience_size", "Audience size", "number", None, false),
        ("contract_signed", "Contract signed", "date", None, false),
    ] {
        custom_field::ActiveModel {
            account_id: Set(acc.id),
            key: Set(key.into()),
            label: Set(label.into()),
            kind: Set(kind.into()),
            options: Set(options),
            required: Set(required),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }

    let mut partners = Vec::with_capacity(DEMO_PARTNERS);
    let mut custom_values = Vec::with_capacity(DEMO_PARTNERS);
    for i in 0..DEMO_PARTNERS {
        let first = FIRST[i % FIRST.len()];
        // i = 25a + b gives (first b, last (10a + b) mod 16): unique for the 150 partners.
        let last = LAST[(i + i / FIRST.len()) % LAST.len()];
        let email = if i == 0 {
            demo_partner_email()
        } else {
            format!("{}.{}{}@partners.example", first.to_lowercase(), ascii(last), i)
        };
        let created = now - Duration::days(rng.random_range(5..380));
        let mut custom = std::collections::BTreeMap::new();
        custom.insert("niche".to_string(), NICHES[rng.random_range(0..NICHES.len())].to_string());
        custom.insert("audience_size".to_string(), (rng.random_range(5..500) * 100).to_string());
        if rng.random_range(0..2) == 0 {
            custom.insert("contract_signed".to_string(), (created + Duration::days(2)).format("%Y-%m-%d").to_string());
        }
        let custom_json = serde_json::to_string(&custom).expect("strings serialise");
        custom_values.push(custom);
        partners.push(partner::ActiveModel {
            account_id: Set(acc.id),
            email: Set(email),
            name: Set(format!("{first} {last}")),
            company: Set((rng.random_range(0..3) == 0).then(|| COMPANIES[rng.random_range(0..COMPANIES.len())].to_string())),
            source: Set(Some(SOURCES[rng.random_range(0..SOURCES.len())].to_string())),
            owner_user_id: Set((i % 3 == 0).then_some(owner_id).flatten()),
            phone: Set(Some(format!("+1 555 01{:02}", i % 100))),
            country: Set(Some(COUNTRIES[i % COUNTRIES.len()].to_string())),
            custom: Set(custom_json),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        });
    }
    partner::Entity::insert_many(partners).exec_without_returning(&tx).await?;
    let saved = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(acc.id))
        .order_by_asc(partner::Column::Id)
        .all(&tx)
        .await?;
    for (p, values) in saved.iter().zip(&custom_values) {
        backend::partners::custom_fields::write_values(&tx, acc.id, p.id, values).await?;
    }
    for (name, query) in [
        ("Active Gold partners", r#"{"status":"active","tier":"Gold"}"#),
        ("Awaiting review", r#"{"status":"pending"}"#),
        ("Outdoor niche", r#"{"fields":[{"key":"niche","value":"Outdoor"}]}"#),
    ] {
        backend::entities::segment::ActiveModel {
            account_id: Set(acc.id),
            name: Set(name.into()),
            query: Set(query.into()),
            created_by: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }

    for (i, p) in saved.iter().enumerate() {
        // Partner 0 is the portal login: an active Silver partner. The rest: mostly active,
        // the others spread over every status.
        let status = if i == 0 {
            EnrollmentStatus::Active
        } else {
            match rng.random_range(0..100) {
                0..=64 => EnrollmentStatus::Active,
                65..=79 => EnrollmentStatus::Pending,
                80..=89 => EnrollmentStatus::Paused,
                90..=96 => EnrollmentStatus::Suspended,
                _ => EnrollmentStatus::Rejected,
            }
        };
        let tier_index = match (i, status) {
            (0, _) => 1,
            (_, EnrollmentStatus::Active) | (_, EnrollmentStatus::Paused) => match rng.random_range(0..10) {
                0..=5 => 0,
                6..=8 => 1,
                _ => 2,
            },
            _ => 0,
        };
        let joined = p.created_at + Duration::days(rng.random_range(0..4));
        let changed = joined + Duration::days(rng.random_range(1..5));
        let e = enrollment::ActiveModel {
            account_id: Set(acc.id),
            partner_id: Set(p.id),
            program_id: Set(prog.id),
            status: Set(status.as_str().into()),
            tier_id: Set(tier_ids[tier_index].0),
            commission_kind: Set(None),
            commission_value: Set(None),
            joined_at: Set(joined),
            status_changed_at: Set(if status == EnrollmentStatus::Pending { joined } else { changed }),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let mut events = vec![timeline_event::ActiveModel {
            account_id: Set(acc.id),
            partner_id: Set(p.id),
            enrollment_id: Set(Some(e.id)),
            kind: Set("enrolled".into()),
            actor: Set("demo import".into()),
            summary: Set(format!("Applied to {} (source: {})", prog.name, p.source.clone().unwrap_or_default())),
            data: Set("{}".into()),
            at: Set(joined),
            ..Default::default()
        }];
        if status != EnrollmentStatus::Pending {
            events.push(timeline_event::ActiveModel {
                account_id: Set(acc.id),
                partner_id: Set(p.id),
                enrollment_id: Set(Some(e.id)),
                kind: Set("status_changed".into()),
                actor: Set("Morgan Manager <manager@demo.trellis.dev>".into()),
                summary: Set(format!("Status pending → {}", status.as_str())),
                data: Set(serde_json::json!({"from": "pending", "to": status.as_str()}).to_string()),
                at: Set(changed),
                ..Default::default()
            });
        }
        if tier_index > 0 {
            events.push(timeline_event::ActiveModel {
                account_id: Set(acc.id),
                partner_id: Set(p.id),
                enrollment_id: Set(Some(e.id)),
                kind: Set("tier_changed".into()),
                actor: Set("system".into()),
                summary: Set(format!("Tier Bronze → {}", tier_ids[tier_index].1)),
                data: Set(serde_json::json!({"from": "Bronze", "to": tier_ids[tier_index].1}).to_string()),
                at: Set(changed + Duration::days(20).min(now - changed)),
                ..Default::default()
            });
        }
        timeline_event::Entity::insert_many(events).exec_without_returning(&tx).await?;
    }

    let first = &saved[0];
    create_user(
        &tx,
        clock,
        acc.id,
        NewUser { email: &first.email, name: Some(&first.name), password: DEMO_PASSWORD, roles: &[], partner_id: Some(first.id) },
    )
    .await?;
    if activity {
        generate_activity(&tx, &mut rng, acc.id, &prog, now).await?;
    }
    tx.commit().await?;
    if activity {
        backend::tracking::partner_stats::refresh(db, now).await?;
        backend::partners::health::refresh(db, now).await?;
        seed_messages(db, now, first.id).await?;
        seed_sequences(db, now, prog.id).await?;
    }
    Ok(logins())
}

/// A few conversations between the team and partners (the portal partner among them), some
/// unread on either side.
async fn seed_messages(db: &DatabaseConnection, now: chrono::DateTime<chrono::Utc>, portal_partner: i64) -> Result<()> {
    use backend::entities::user;
    use backend::comms::messaging;
    use sea_orm::QuerySelect;
    let user_id = |email: &'static str| async move {
        user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await.map(|u| u.map(|u| u.id))
    };
    let (Some(manager), Some(owner), Some(ava)) =
        (user_id("manager@demo.trellis.dev").await?, user_id("owner@demo.trellis.dev").await?, user::Entity::find().filter(user::Column::PartnerId.eq(portal_partner)).one(db).await?.map(|u| u.id))
    else {
        return Ok(());
    };
    let manager = backend::access::auth::actor_for_user(db, manager).await?;
    let owner = backend::access::auth::actor_for_user(db, owner).await?;
    let ava = backend::access::auth::actor_for_user(db, ava).await?;
    let ago = |d: i64, h: i64| now - Duration::days(d) - Duration::hours(h);
    // The demo is loaded before the server runs; links use the address it will serve on.
    let base = std::env::var("TRELLIS_PUBLIC_URL").unwrap_or_else(|_| format!("http://{}", std::env::var("TRELLIS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into())));
    let base = base.as_str();
    let t = messaging::start(db, ago(6, 3), &manager, base, Some(portal_partner), "Welcome to the program", "Hi! Great to have you on board. Your links are in the portal; tell us if you need banners or a media kit.").await?;
    messaging::reply(db, ago(6, 1), &ava, base, t, "Thanks! A media kit would help — I'm planning a gear round-up for next month.").await?;
    messaging::reply(db, ago(5, 20), &manager, base, t, "Here you go: the kit is on our partner page. Ping me when the round-up is live and we'll feature it in the newsletter.").await?;
    messaging::start(db, ago(1, 4), &ava, base, None, "Payout schedule", "When does the November payout go out? I'd like to plan my own invoices.").await?;
    let others = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(manager.account_id))
        .filter(partner::Column::Id.ne(portal_partner))
        .filter(partner::Column::OwnerUserId.eq(owner.user_id))
        .limit(2)
        .all(db)
        .await?;
    for (i, p) in others.iter().enumerate() {
        messaging::start(db, ago(3 - i as i64, 2), &owner, base, Some(p.id), "Holiday campaign", &format!("Hi {}, we're boosting Gold commissions for the holidays — want early access to the creative?", p.name)).await?;
    }
    Ok(())
}

/// A welcome sequence a few recently approved partners are going through, and a paused
/// win-back sequence for partners at risk.
async fn seed_sequences(db: &DatabaseConnection, now: chrono::DateTime<chrono::Utc>, program_id: i64) -> Result<()> {
    use backend::entities::{enrollment, user};
    use models::{SequenceInput, SequenceStepInput};
    use sea_orm::{QueryOrder, QuerySelect};
    let Some(manager) = user::Entity::find().filter(user::Column::Email.eq("manager@demo.trellis.dev")).one(db).await? else { return Ok(()) };
    let manager = backend::access::auth::actor_for_user(db, manager.id).await?;
    let step = |h: i32, s: &str, b: &str| SequenceStepInput { delay_hours: h, subject: s.into(), body: b.into() };
    let start = now - Duration::days(4);
    backend::comms::sequences::save(db, start - Duration::days(30), &manager, &SequenceInput {
        id: None,
        program_id,
        name: "Welcome series".into(),
        trigger: "approved".into(),
        stop_on_conversion: false,
        active: true,
        steps: vec![
            step(0, "Welcome to {{program}}, {{partner_name}}", "Hello {{partner_name}},\n\nYou start as {{tier}} and earn {{rate}} on every sale. Your first link: {{link}}\n\nEverything else is in your portal: {{portal_url}}"),
            step(48, "Three ideas that convert for {{program}}", "Hi {{partner_name}},\n\nPartners who convert best write one honest review, add the link to their gear list, and mention seasonal sales. {{next_tier_missing}}"),
            step(120, "How is it going, {{partner_name}}?", "Hi {{partner_name}},\n\nSo far you have {{earnings_pending}} pending and {{earnings_paid}} paid. Reply to this email if you need banners or a discount code."),
        ],
    })
    .await?;
    backend::comms::sequences::save(db, start - Duration::days(30), &manager, &SequenceInput {
        id: None,
        program_id,
        name: "At-risk win-back".into(),
        trigger: "at_risk".into(),
        stop_on_conversion: true,
        active: false,
        steps: vec![step(0, "Can we help, {{partner_name}}?", "Hi {{partner_name}},\n\nWe noticed fewer referrals lately. Your link still works: {{link}}\n\nWhat would help you most right now?")],
    })
    .await?;
    let recent = enrollment::Entity::find()
        .filter(enrollment::Column::ProgramId.eq(program_id))
        .filter(enrollment::Column::Status.eq("active"))
        .order_by_desc(enrollment::Column::JoinedAt)
        .limit(5)
        .all(db)
        .await?;
    for e in &recent {
        backend::comms::sequences::enter(db, start, e, "approved", format!("approved:{}", e.id)).await?;
    }
    backend::comms::sequences::advance(db, start + Duration::minutes(1)).await?;
    backend::comms::sequences::advance(db, start + Duration::hours(49)).await?;

    // A broadcast sent a week ago, delivered, and opened by about two in five.
    let sent = now - Duration::days(7);
    let id = backend::comms::broadcasts::create(db, sent, &manager, &models::BroadcastInput {
        segment_id: None,
        program_id: Some(program_id),
        subject: "Holiday gear guide: 15% for your readers".into(),
        body: "Hi {{name}},\n\nOur holiday gear guide is live, with a 15% code for your readers until December 24. Your link: {{link}}".into(),
        send_at: None,
    })
    .await?;
    use backend::entities::outbox_email;
    use sea_orm::sea_query::Expr;
    let emails: Vec<i64> = outbox_email::Entity::find()
        .select_only()
        .column(outbox_email::Column::Id)
        .filter(outbox_email::Column::BroadcastId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::Status, Expr::value("sent"))
        .col_expr(outbox_email::Column::SentAt, Expr::value(Some(sent + Duration::minutes(2))))
        .col_expr(outbox_email::Column::Attempts, Expr::value(1))
        .filter(outbox_email::Column::BroadcastId.eq(id))
        .exec(db)
        .await?;
    let opened: Vec<i64> = emails.iter().copied().filter(|e| e % 5 < 2).collect();
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::OpenedAt, Expr::value(Some(sent + Duration::hours(3))))
        .filter(outbox_email::Column::Id.is_in(opened))
        .exec(db)
        .await?;
    Ok(())
}

/// Clicks, conversions, ledger entries (old ones approved and paid in a batch, recent ones
/// pending, two held as self-referrals), rollups and timeline events for the active and paused
/// partners over the last 120 days.
async fn generate_activity(
    tx: &sea_orm::DatabaseTransaction,
    rng: &mut StdRng,
    account_id: i64,
    prog: &program::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use backend::entities::{click, conversion, ledger_entry, link, payout_batch};
    use backend::rollups::{self, Delta};
    use models::{CommissionRate, Currency, Money};
    use std::collections::BTreeMap;

    let currency = Currency::parse(&prog.currency).map_err(|e| backend::Error::Internal(e.0))?;
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::ProgramId.eq(prog.id))
        .filter(enrollment::Column::Status.is_in(["active", "paused"]))
        .order_by_asc(enrollment::Column::Id)
        .all(tx)
        .await?;
    let tiers: BTreeMap<i64, tier::Model> = tier::Entity::find()
        .filter(tier::Column::ProgramId.eq(prog.id))
        .all(tx)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let batch = payout_batch::ActiveModel {
        account_id: Set(account_id),
        program_id: Set(prog.id),
        currency: Set(prog.currency.clone()),
        total_minor: Set(0),
        entries: Set(0),
        status: Set("paid".into()),
        created_by: Set("Jordan Finance <finance@demo.trellis.dev>".into()),
        created_at: Set(now - Duration::days(62)),
        paid_by: Set(Some("Jordan Finance <finance@demo.trellis.dev>".into())),
        paid_at: Set(Some(now - Duration::days(61))),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    let (mut batch_total, mut batch_entries) = (0i64, 0i32);
    let mut rollup: BTreeMap<(i64, chrono::NaiveDate), Delta> = BTreeMap::new();
    let mut n_conv = 0usize;
    for (i, e) in enrollments.iter().enumerate() {
        let t = &tiers[&e.tier_id];
        let rate = CommissionRate::parse_stored(&t.commission_kind, &t.commission_value, currency).map_err(|x| backend::Error::Internal(x.0))?;
        let code = format!("demo{:04}", i + 1);
        let l = link::ActiveModel {
            account_id: Set(account_id),
            program_id: Set(prog.id),
            enrollment_id: Set(e.id),
            partner_id: Set(e.partner_id),
            code: Set(code),
            destination: Set("https://northwind.example/".into()),
            created_at: Set(e.joined_at),
            ..Default::default()
        }
        .insert(tx)
        .await?;
        // Gold partners sell most; paused partners stopped selling a while ago.
        let sales = match t.rank {
            3 => rng.random_range(35..60),
            2 => rng.random_range(12..25),
            _ => rng.random_range(1..8),
        };
        let last_day = if e.status == "paused" { 60 } else { 0 };
        let first_day = 120.min((now - e.joined_at).num_days()).max(last_day + 1);
        let mut clicks = Vec::new();
        let mut payout_total = 0i64;
        for s in 0..sales {
            let days_ago = rng.random_range(last_day..first_day);
            let occurred = now - Duration::days(days_ago) - Duration::minutes(rng.random_range(0..1440));
            let visitor = format!("demovisitor{:06}{:04}", i, s);
            let path_len = rng.random_range(1..4);
            let mut path = Vec::new();
            for k in 0..path_len {
                let id = format!("d{:05}{:03}{}", i, s, k);
                let at = occurred - Duration::hours((path_len - k) * 20);
                rollup.entry((e.id, at.date_naive())).or_default().clicks += 1;
                clicks.push(click::ActiveModel {
                    id: Set(id.clone()),
                    account_id: Set(account_id),
                    program_id: Set(prog.id),
                    link_id: Set(l.id),
                    enrollment_id: Set(e.id),
                    visitor_id: Set(visitor.clone()),
                    at: Set(at),
                    referrer: Set(Some(["https://blog.example/review", "https://www.youtube.com/", "https://news.example/deals"][k as usize % 3].into())),
                    user_agent: Set(Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36".into())),
                    ip_hash: Set(format!("{:064x}", i * 1000 + s)),
                    is_bot: Set(false),
                    flag: Set(None),
                });
                path.push(id);
            }
            // Browsers that looked but did not buy.
            for k in 0..rng.random_range(2..6) {
                let at = occurred - Duration::hours(rng.random_range(1..200));
                clicks.push(click::ActiveModel {
                    id: Set(format!("d{:05}{:03}x{}", i, s, k)),
                    account_id: Set(account_id),
                    program_id: Set(prog.id),
                    link_id: Set(l.id),
                    enrollment_id: Set(e.id),
                    visitor_id: Set(format!("demobrowser{:05}{:03}{}", i, s, k)),
                    at: Set(at),
                    referrer: Set(None),
                    user_agent: Set(Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148".into())),
                    ip_hash: Set(format!("{:064x}", 9_000_000 + i * 1000 + s * 10 + k)),
                    is_bot: Set(false),
                    flag: Set(None),
                });
                rollup.entry((e.id, at.date_naive())).or_default().clicks += 1;
            }
            let amount = rng.random_range(2_000..45_000i64);
            let commission = rate.commission_on(amount);
            let external = format!("NW-{:05}", 10_000 + n_conv);
            let self_referral = n_conv % 97 == 5 && days_ago < 25;
            let response = serde_json::json!({
                "id": null, "external_id": external, "program_id": prog.id,
                "amount": Money::from_minor(amount, currency).amount_string(), "currency": prog.currency,
                "partner_id": e.partner_id, "attributed_via": "click_id", "click_path": path, "status": "attributed", "reason": null,
                "occurred_at": occurred.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "commission": {"amount": Money::from_minor(commission, currency).amount_string(), "rate": format!("{}%", t.commission_value), "tier": t.name},
            });
            let conv = conversion::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(prog.id),
                external_id: Set(external.clone()),
                amount_minor: Set(amount),
                currency: Set(prog.currency.clone()),
                enrollment_id: Set(Some(e.id)),
                partner_id: Set(Some(e.partner_id)),
                attributed_via: Set(Some("click_id".into())),
                click_id: Set(path.last().cloned()),
                click_path: Set(serde_json::to_string(&path).expect("strings serialise")),
                customer_id: Set(Some(if self_referral { "self".to_string() } else { format!("customer-{n_conv}") })),
                status: Set("attributed".into()),
                reason: Set(None),
                refunded_minor: Set(0),
                tier_id: Set(Some(t.id)),
                occurred_at: Set(occurred),
                created_at: Set(occurred),
                request_hash: Set(format!("{:064x}", n_conv)),
                response: Set(response.to_string()),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            let mut with_id = response.clone();
            with_id["id"] = serde_json::json!(conv.id);
            let mut fix: conversion::ActiveModel = conv.clone().into();
            fix.response = Set(with_id.to_string());
            let conv = fix.update(tx).await?;
            rollups::add_cohort(tx, account_id, prog.id, t.id, e.id, occurred.date_naive(), 1, amount).await?;
            n_conv += 1;
            let paid = days_ago > 62;
            let approved = !paid && days_ago > 34;
            if paid {
                payout_total += commission;
                batch_entries += 1;
            }
            ledger_entry::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(prog.id),
                enrollment_id: Set(e.id),
                partner_id: Set(e.partner_id),
                conversion_id: Set(Some(conv.id)),
                kind: Set("earned".into()),
                amount_minor: Set(commission),
                currency: Set(prog.currency.clone()),
                rate: Set(format!("{}%", t.commission_value)),
                tier: Set(t.name.clone()),
                status: Set(if paid { "paid" } else if approved { "approved" } else { "pending" }.into()),
                hold_reason: Set(self_referral.then(|| "self_referral".to_string())),
                note: Set(None),
                created_by: Set("api".into()),
                created_at: Set(occurred),
                approved_by: Set((paid || approved).then(|| "Jordan Finance <finance@demo.trellis.dev>".to_string())),
                approved_at: Set((paid || approved).then(|| occurred + Duration::days(30))),
                payout_batch_id: Set(paid.then_some(batch.id)),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            timeline_event::ActiveModel {
                account_id: Set(account_id),
                partner_id: Set(e.partner_id),
                enrollment_id: Set(Some(e.id)),
                kind: Set("conversion".into()),
                actor: Set("api".into()),
                summary: Set(format!(
                    "Conversion {external} of {} earned {} at {}%",
                    Money::from_minor(amount, currency).display(),
                    Money::from_minor(commission, currency).display(),
                    t.commission_value
                )),
                data: Set(serde_json::json!({"conversion_id": conv.id}).to_string()),
                at: Set(occurred),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            let d = rollup.entry((e.id, occurred.date_naive())).or_default();
            d.conversions += 1;
            d.revenue_minor += amount;
            d.commission_minor += commission;
        }
        for chunk in clicks.chunks(500) {
            click::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
        }
        if payout_total > 0 {
            batch_total += payout_total;
            ledger_entry::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(prog.id),
                enrollment_id: Set(e.id),
                partner_id: Set(e.partner_id),
                conversion_id: Set(None),
                kind: Set("payout".into()),
                amount_minor: Set(-payout_total),
                currency: Set(prog.currency.clone()),
                rate: Set(String::new()),
                tier: Set(t.name.clone()),
                status: Set("paid".into()),
                hold_reason: Set(None),
                note: Set(Some(format!("payout batch {}", batch.id))),
                created_by: Set("Jordan Finance <finance@demo.trellis.dev>".into()),
                created_at: Set(now - Duration::days(62)),
                approved_by: Set(Some("Jordan Finance <finance@demo.trellis.dev>".into())),
                approved_at: Set(Some(now - Duration::days(62))),
                payout_batch_id: Set(Some(batch.id)),
                ..Default::default()
            }
            .insert(tx)
            .await?;
        }
    }
    for ((enrollment_id, day), delta) in rollup {
        rollups::add(tx, account_id, prog.id, enrollment_id, day, delta).await?;
    }
    let mut b: payout_batch::ActiveModel = batch.into();
    b.total_minor = Set(batch_total);
    b.entries = Set(batch_entries);
    b.update(tx).await?;
    Ok(())
}

/// Folds the few non-ASCII letters of the demo names for email addresses.
fn ascii(name: &str) -> String {
    name.to_lowercase().replace('ü', "ue")
}
