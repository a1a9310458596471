//! The demo account: a living program for a new user to look at. Deterministic (fixed seed) and
//! idempotent: loading it twice changes nothing.

mod activity;
mod comms;
use activity::{ascii, generate_activity};
use comms::{seed_messages, seed_sequences};

use backend::access::accounts::{create_user, ensure_account, NewUser};
use backend::entities::{
    account, custom_field, enrollment, partner, program, tier, timeline_event,
};
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
    (
        "manager@demo.trellis.dev",
        "Morgan Manager",
        &[Role::ProgramManager],
    ),
    (
        "owner@demo.trellis.dev",
        "Riley Owner",
        &[Role::RelationshipOwner],
    ),
    (
        "analyst@demo.trellis.dev",
        "Avery Analyst",
        &[Role::AnalyticsViewer],
    ),
    (
        "finance@demo.trellis.dev",
        "Jordan Finance",
        &[Role::FinanceApprover],
    ),
];

const FIRST: &[&str] = &[
    "Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Ines", "Omar", "Lena", "Hugo", "Sofia", "Mateo",
    "Yara", "Kai", "Nora", "Felix", "Priya", "Tom", "Elif", "Jonas", "Chloe", "Ravi", "Maya",
    "Leo", "Aiko",
];
const LAST: &[&str] = &[
    "Thompson", "Garcia", "Müller", "Okafor", "Rossi", "Nguyen", "Kowalski", "Silva", "Haddad",
    "Jensen", "Dubois", "Tanaka", "Patel", "Novak", "Berg", "Costa",
];
const SOURCES: &[&str] = &[
    "organic",
    "partner referral",
    "conference",
    "outreach",
    "marketplace",
];
const COMPANIES: &[&str] = &[
    "Trailhead Media",
    "Summit Reviews",
    "Basecamp Blog",
    "Ridge & Co",
    "Outdoor Weekly",
    "Pathfinder Labs",
    "Alpine Deals",
    "Campfire Creators",
];

/// The email of the demo partner who has a portal login.
pub fn demo_partner_email() -> String {
    "ava.thompson@partners.example".to_string()
}

/// The logins of the demo account.
pub fn logins() -> Vec<DemoLogin> {
    let mut out: Vec<DemoLogin> = TEAM
        .iter()
        .map(|(email, _, roles)| DemoLogin {
            what: roles[0].label(),
            email: email.to_string(),
        })
        .collect();
    out.push(DemoLogin {
        what: "Partner (portal)",
        email: demo_partner_email(),
    });
    out
}

/// Loads the demo account with 120 days of activity unless it exists; returns its logins.
pub async fn load(db: &DatabaseConnection, clock: &Clock) -> Result<Vec<DemoLogin>> {
    load_with(db, clock, true).await
}

/// Loads the demo account; `activity` adds clicks, conversions, commissions and payouts (tests
/// that do not need them skip them to stay fast).
pub async fn load_with(
    db: &DatabaseConnection,
    clock: &Clock,
    activity: bool,
) -> Result<Vec<DemoLogin>> {
    if account::Entity::find()
        .filter(account::Column::Slug.eq(DEMO_SLUG))
        .one(db)
        .await?
        .is_some()
    {
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
        let u = create_user(
            &tx,
            clock,
            acc.id,
            NewUser {
                email,
                name: Some(name),
                password: DEMO_PASSWORD,
                roles,
                partner_id: None,
            },
        )
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
            format!(
                "{}.{}{}@partners.example",
                first.to_lowercase(),
                ascii(last),
                i
            )
        };
        let created = now - Duration::days(rng.random_range(5..380));
        let mut custom = std::collections::BTreeMap::new();
        custom.insert(
            "niche".to_string(),
            NICHES[rng.random_range(0..NICHES.len())].to_string(),
        );
        custom.insert(
            "audience_size".to_string(),
            (rng.random_range(5..500) * 100).to_string(),
        );
        if rng.random_range(0..2) == 0 {
            custom.insert(
                "contract_signed".to_string(),
                (created + Duration::days(2)).format("%Y-%m-%d").to_string(),
            );
        }
        let custom_json = serde_json::to_string(&custom).expect("strings serialise");
        custom_values.push(custom);
        partners.push(partner::ActiveModel {
            account_id: Set(acc.id),
            email: Set(email),
            name: Set(format!("{first} {last}")),
            company: Set((rng.random_range(0..3) == 0)
                .then(|| COMPANIES[rng.random_range(0..COMPANIES.len())].to_string())),
            source: Set(Some(
                SOURCES[rng.random_range(0..SOURCES.len())].to_string(),
            )),
            owner_user_id: Set((i % 3 == 0).then_some(owner_id).flatten()),
            phone: Set(Some(format!("+1 555 01{:02}", i % 100))),
            country: Set(Some(COUNTRIES[i % COUNTRIES.len()].to_string())),
            custom: Set(custom_json),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        });
    }
    partner::Entity::insert_many(partners)
        .exec_without_returning(&tx)
        .await?;
    let saved = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(acc.id))
        .order_by_asc(partner::Column::Id)
        .all(&tx)
        .await?;
    for (p, values) in saved.iter().zip(&custom_values) {
        backend::partners::custom_fields::write_values(&tx, acc.id, p.id, values).await?;
    }
    for (name, query) in [
        (
            "Active Gold partners",
            r#"{"status":"active","tier":"Gold"}"#,
        ),
        ("Awaiting review", r#"{"status":"pending"}"#),
        (
            "Outdoor niche",
            r#"{"fields":[{"key":"niche","value":"Outdoor"}]}"#,
        ),
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
            (_, EnrollmentStatus::Active) | (_, EnrollmentStatus::Paused) => {
                match rng.random_range(0..10) {
                    0..=5 => 0,
                    6..=8 => 1,
                    _ => 2,
                }
            }
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
            status_changed_at: Set(if status == EnrollmentStatus::Pending {
                joined
            } else {
                changed
            }),
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
            summary: Set(format!(
                "Applied to {} (source: {})",
                prog.name,
                p.source.clone().unwrap_or_default()
            )),
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
                data: Set(
                    serde_json::json!({"from": "pending", "to": status.as_str()}).to_string(),
                ),
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
                data: Set(
                    serde_json::json!({"from": "Bronze", "to": tier_ids[tier_index].1}).to_string(),
                ),
                at: Set(changed + Duration::days(20).min(now - changed)),
                ..Default::default()
            });
        }
        timeline_event::Entity::insert_many(events)
            .exec_without_returning(&tx)
            .await?;
    }

    let first = &saved[0];
    create_user(
        &tx,
        clock,
        acc.id,
        NewUser {
            email: &first.email,
            name: Some(&first.name),
            password: DEMO_PASSWORD,
            roles: &[],
            partner_id: Some(first.id),
        },
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
