//! Applying to a program on its public page, verifying the applicant's email and resetting a
//! forgotten password: the public side of the partner portal. Every email goes through the
//! outbox.

use crate::access::auth::{check_password_policy, hash_password, Actor};
use crate::entities::{account, partner, portal_application as pa, program, user};
use crate::outbox::{self, NewEmail};
use crate::partners::{self, NewPartner};
use crate::{access::team, partners::custom_fields, Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{Application, ApplyOutcome, ApplyPage, Currency, EnrollmentStatus, PartnerEmail, PartnerFields, Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};

/// How long an email verification link works.
pub const VERIFY_DAYS: i64 = 7;
/// How long a password reset link works.
pub const RESET_HOURS: i64 = 2;

fn link(public_url: &str, path: &str, token: &str) -> String {
    format!("{}/{path}/{token}", public_url.trim_end_matches('/'))
}

/// An open program, found by id across accounts (the page is public).
async fn open_program(db: &impl ConnectionTrait, program_id: i64) -> Result<program::Model> {
    program::Entity::find_by_id(program_id)
        .one(db)
        .await?
        .filter(|p| p.archived_at.is_none())
        .ok_or(Error::NotFound("program (it may have closed its applications)"))
}

/// What the public application page of a program shows.
pub async fn page(db: &DatabaseConnection, program_id: i64) -> Result<ApplyPage> {
    let prog = open_program(db, program_id).await?;
    let acc = account::Entity::find_by_id(prog.account_id).one(db).await?.ok_or(Error::NotFound("account"))?;
    let currency = Currency::parse(&prog.currency).map_err(|e| Error::Internal(e.0))?;
    let commission = models::CommissionRate::parse_stored(&prog.commission_kind, &prog.commission_value, currency)
        .map_err(|e| Error::Internal(e.0))?
        .display(currency);
    Ok(ApplyPage {
        program_id: prog.id,
        program: prog.name,
        account_name: acc.name,
        brand_color: prog.brand_color,
        logo_url: prog.logo_url.filter(|u| !u.trim().is_empty()),
        website: prog.website,
        commission,
        auto_approve: prog.auto_approve,
        questions: custom_fields::defs(db, prog.account_id).await?,
    })
}

/// Submits an application: creates the partner (source `application`), its portal user and its
/// enrollment (active when the program approves automatically, else pending), queues the
/// verification email and `application_received` (plus `application_approved` when approved at
/// once). An email already known in the account is refused, nothing written.
pub async fn apply(db: &DatabaseConnection, now: DateTime<Utc>, public_url: &str, input: &Application) -> Result<ApplyOutcome> {
    let email = PartnerEmail::parse(&input.email).map_err(Error::field("email"))?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "give your name (1 to 100 characters)"));
    }
    check_password_policy(&input.password)?;
    let hash = hash_password(&input.password)?.expose_for_storage();
    let txn = crate::db::begin_write(db).await?;
    let prog = open_program(&txn, input.program_id).await?;
    let taken =
        user::Entity::find().filter(user::Column::AccountId.eq(prog.account_id)).filter(user::Column::Email.eq(email.as_str())).count(&txn).await?
            + partner::Entity::find()
                .filter(partner::Column::AccountId.eq(prog.account_id))
                .filter(partner::Column::Email.eq(email.as_str()))
                .count(&txn)
                .await?;
    if taken > 0 {
        return Err(Error::Conflict(format!("{} is already registered: sign in, or use “Forgot password?” on the sign-in page", email.as_str())));
    }
    let acc = account::Entity::find_by_id(prog.account_id).one(&txn).await?.ok_or(Error::NotFound("account"))?;
    // The applicant acts for itself; the form may create exactly this partner.
    let applicant = Actor {
        user_id: -1,
        account_id: prog.account_id,
        account_name: acc.name.clone(),
        name: format!("Application form ({name})"),
        email: email.as_str().to_string(),
        roles: vec![Role::Admin],
        partner_id: None,
    };
    let trimmed = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let fields = PartnerFields {
        name: Some(name.to_string()),
        company: trimmed(&input.company),
        source: Some("application".into()),
        website: trimmed(&input.website),
        custom: input.answers.clone(),
        ..Default::default()
    };
    let partner_id = partners::create_in(
        &txn,
        now,
        &applicant,
        &NewPartner { email: email.as_str().to_string(), fields, program_id: Some(prog.id), status: None },
    )
    .await?;
    let u = user::ActiveModel {
        account_id: Set(prog.account_id),
        email: Set(email.as_str().to_string()),
        name: Set(name.to_string()),
        password_hash: Set(hash),
        kind: Set("partner".into()),
        roles: Set(String::new()),
        partner_id: Set(Some(partner_id)),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    pa::ActiveModel {
        account_id: Set(prog.account_id),
        program_id: Set(prog.id),
        partner_id: Set(partner_id),
        user_id: Set(u.id),
        answers: Set(serde_json::to_string(&input.answers).unwrap_or_else(|_| "{}".into())),
        created_at: Set(now),
        verified_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let (token, _) = team::issue_token(&txn, &u, "verify", None, None, now, Duration::days(VERIFY_DAYS)).await?;
    let url = link(public_url, "portal/verify", &token);
    let mail = |kind: &'static str, subject: String, text: String| NewEmail {
        account_id: prog.account_id,
        program_id: Some(prog.id),
        partner_id: Some(partner_id),
        kind,
        to: email.as_str(),
        subject,
        text,
        dedupe_key: None,
    };
    outbox::queue(
        &txn,
        now,
        mail(
            "partner_verify_email",
            format!("Confirm your email for {}", prog.name),
            format!(
                "Hello {name},\n\nPlease confirm your email address for the {} partner program (the link works for {VERIFY_DAYS} days):\n{url}\n",
                prog.name
            ),
        ),
    )
    .await?;
    let status = crate::db::enrollment_of(&txn, partner_id, prog.id).await?.map(|e| e.status).unwrap_or_default();
    let approved = status == EnrollmentStatus::Active.as_str();
    outbox::queue(&txn, now, mail(
        "application_received",
        format!("We received your application to {}", prog.name),
        if approved {
            format!("Hello {name},\n\nThanks for applying to the {} partner program of {}.\n", prog.name, acc.name)
        } else {
            format!("Hello {name},\n\nThanks for applying to the {} partner program of {}. The team reviews every application and will email you when it is decided.\n", prog.name, acc.name)
        },
    ))
    .await?;
    if approved {
        queue_approved(&txn, now, &prog, partner_id, email.as_str(), name).await?;
    }
    txn.commit().await?;
    Ok(ApplyOutcome { approved, email: email.as_str().to_string() })
}

/// Queues `application_approved` to a partner (on auto-approval, and when the team approves a
/// pending enrollment).
pub async fn queue_approved(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    prog: &program::Model,
    partner_id: i64,
    to: &str,
    _name: &str,
) -> Result<()> {
    let e = crate::db::enrollment_of(db, partner_id, prog.id).await?.ok_or(crate::Error::NotFound("enrollment"))?;
    let (subject, text) = crate::comms::templates::compose(db, &e, "application_approved", now, |_| {}).await?;
    outbox::queue(
        db,
        now,
        NewEmail {
            account_id: prog.account_id,
            program_id: Some(prog.id),
            partner_id: Some(partner_id),
            kind: "application_approved",
            to,
            subject,
            text,
            dedupe_key: Some(format!("application_approved:{}:{partner_id}", prog.id)),
        },
    )
    .await?;
    Ok(())
}

/// [`queue_approved`] for an enrollment the team moved from pending to active.
pub async fn on_approved(db: &impl ConnectionTrait, now: DateTime<Utc>, prog: &program::Model, partner_id: i64) -> Result<()> {
    if let Some(p) = partner::Entity::find_by_id(partner_id).one(db).await? {
        queue_approved(db, now, prog, partner_id, &p.email, &p.name).await?;
    }
    Ok(())
}

/// Confirms an applicant's email from its link; returns the address.
pub async fn verify(db: &DatabaseConnection, now: DateTime<Utc>, token: &str) -> Result<String> {
    let txn = crate::db::begin_write(db).await?;
    let (t, u) = team::find_token(&txn, token, &["verify"], now).await?;
    let mut a: crate::entities::user_token::ActiveModel = t.into();
    a.used_at = Set(Some(now));
    a.update(&txn).await?;
    pa::Entity::update_many()
        .col_expr(pa::Column::VerifiedAt, sea_orm::sea_query::Expr::value(Some(now)))
        .filter(pa::Column::UserId.eq(u.id))
        .filter(pa::Column::VerifiedAt.is_null())
        .exec(&txn)
        .await?;
    if let Some(pid) = u.partner_id {
        crate::timeline::record(
            &txn,
            crate::timeline::Event::partner(
                u.account_id,
                pid,
                "email_verified",
                &format!("{} <{}>", u.name, u.email),
                format!("Email {} confirmed", u.email),
                now,
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(u.email)
}

/// True when the user applied on the portal and has not confirmed the email yet.
pub async fn unverified(db: &impl ConnectionTrait, user_id: i64) -> Result<bool> {
    Ok(pa::Entity::find().filter(pa::Column::UserId.eq(user_id)).filter(pa::Column::VerifiedAt.is_null()).count(db).await? > 0)
}

/// Sends a fresh verification link to a signed-in partner user who has not confirmed yet.
pub async fn resend_verification(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>, public_url: &str) -> Result<()> {
    actor.require_partner()?;
    let txn = crate::db::begin_write(db).await?;
    let app = pa::Entity::find()
        .filter(pa::Column::UserId.eq(actor.user_id))
        .filter(pa::Column::VerifiedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| Error::Conflict("your email is already confirmed".into()))?;
    let u = user::Entity::find_by_id(actor.user_id).one(&txn).await?.ok_or(Error::NotFound("user"))?;
    let (token, _) = team::issue_token(&txn, &u, "verify", None, None, now, Duration::days(VERIFY_DAYS)).await?;
    let url = link(public_url, "portal/verify", &token);
    outbox::queue(
        &txn,
        now,
        NewEmail {
            account_id: u.account_id,
            program_id: Some(app.program_id),
            partner_id: Some(app.partner_id),
            kind: "partner_verify_email",
            to: &u.email,
            subject: "Confirm your email".into(),
            text: format!("Hello {},\n\nPlease confirm your email address (the link works for {VERIFY_DAYS} days):\n{url}\n", u.name),
            dedupe_key: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// "Forgot password?": queues a reset link (kind `password_reset`) to every active user with
/// this email. Answers the same whether or not the address is known, so it reveals nothing.
pub async fn forgot_password(db: &DatabaseConnection, now: DateTime<Utc>, public_url: &str, email: &str) -> Result<()> {
    let email = PartnerEmail::parse(email).map_err(Error::field("email"))?;
    let txn = crate::db::begin_write(db).await?;
    let users = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).filter(user::Column::Active.eq(true)).all(&txn).await?;
    for u in users {
        let (token, _) = team::issue_token(&txn, &u, "reset", None, None, now, Duration::hours(RESET_HOURS)).await?;
        let url = link(public_url, "invite", &token);
        outbox::queue(&txn, now, NewEmail {
            account_id: u.account_id,
            program_id: None,
            partner_id: u.partner_id,
            kind: "password_reset",
            to: &u.email,
            subject: "Reset your Trellis password".into(),
            text: format!(
                "Hello {},\n\nSomeone (hopefully you) asked to reset your password. Choose a new one here (the link works for {RESET_HOURS} hours):\n{url}\n\nIf it was not you, ignore this email.\n",
                u.name
            ),
            dedupe_key: None,
        })
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
