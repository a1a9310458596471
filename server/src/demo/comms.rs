//! Demo messages and email sequences.

use backend::entities::partner;
use backend::Result;
use chrono::Duration;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// A few conversations between the team and partners (the portal partner among them), some
/// unread on either side.
pub(super) async fn seed_messages(
    db: &DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
    portal_partner: i64,
) -> Result<()> {
    use backend::comms::messaging;
    use backend::entities::user;
    use sea_orm::QuerySelect;
    let user_id = |email: &'static str| async move {
        user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(db)
            .await
            .map(|u| u.map(|u| u.id))
    };
    let (Some(manager), Some(owner), Some(ava)) = (
        user_id("manager@demo.trellis.dev").await?,
        user_id("owner@demo.trellis.dev").await?,
        user::Entity::find()
            .filter(user::Column::PartnerId.eq(portal_partner))
            .one(db)
            .await?
            .map(|u| u.id),
    ) else {
        return Ok(());
    };
    let manager = backend::access::auth::actor_for_user(db, manager).await?;
    let owner = backend::access::auth::actor_for_user(db, owner).await?;
    let ava = backend::access::auth::actor_for_user(db, ava).await?;
    let ago = |d: i64, h: i64| now - Duration::days(d) - Duration::hours(h);
    // The demo is loaded before the server runs; links use the address it will serve on.
    let base = std::env::var("TRELLIS_PUBLIC_URL").unwrap_or_else(|_| {
        format!(
            "http://{}",
            std::env::var("TRELLIS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into())
        )
    });
    let base = base.as_str();
    let t = messaging::start(db, ago(6, 3), &manager, base, Some(portal_partner), "Welcome to the program", "Hi! Great to have you on board. Your links are in the portal; tell us if you need banners or a media kit.").await?;
    messaging::reply(
        db,
        ago(6, 1),
        &ava,
        base,
        t,
        "Thanks! A media kit would help — I'm planning a gear round-up for next month.",
    )
    .await?;
    messaging::reply(db, ago(5, 20), &manager, base, t, "Here you go: the kit is on our partner page. Ping me when the round-up is live and we'll feature it in the newsletter.").await?;
    messaging::start(
        db,
        ago(1, 4),
        &ava,
        base,
        None,
        "Payout schedule",
        "When does the November payout go out? I'd like to plan my own invoices.",
    )
    .await?;
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
pub(super) async fn seed_sequences(
    db: &DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
    program_id: i64,
) -> Result<()> {
    use backend::entities::{enrollment, user};
    use models::{SequenceInput, SequenceStepInput};
    use sea_orm::{QueryOrder, QuerySelect};
    let Some(manager) = user::Entity::find()
        .filter(user::Column::Email.eq("manager@demo.trellis.dev"))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let manager = backend::access::auth::actor_for_user(db, manager.id).await?;
    let step = |h: i32, s: &str, b: &str| SequenceStepInput {
        delay_hours: h,
        subject: s.into(),
        body: b.into(),
    };
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
        backend::comms::sequences::enter(db, start, e, "approved", format!("approved:{}", e.id))
            .await?;
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
        .col_expr(
            outbox_email::Column::SentAt,
            Expr::value(Some(sent + Duration::minutes(2))),
        )
        .col_expr(outbox_email::Column::Attempts, Expr::value(1))
        .filter(outbox_email::Column::BroadcastId.eq(id))
        .exec(db)
        .await?;
    let opened: Vec<i64> = emails.iter().copied().filter(|e| e % 5 < 2).collect();
    outbox_email::Entity::update_many()
        .col_expr(
            outbox_email::Column::OpenedAt,
            Expr::value(Some(sent + Duration::hours(3))),
        )
        .filter(outbox_email::Column::Id.is_in(opened))
        .exec(db)
        .await?;
    Ok(())
}
