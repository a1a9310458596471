//! Delivery of the outbox over SMTP (`TRELLIS_SMTP_URL`), open tracking and unsubscribe.
//!
//! Exactly once (targets.md R5): a deliverer first *claims* an email (a guarded UPDATE to
//! `sending` with a claim expiry), then sends it, then marks it `sent`. Two deliverers never
//! claim the same email; a deliverer that dies between send and mark leaves the email `sending`
//! until its claim expires, when the next run sends it again — the only case of a second copy,
//! and both copies carry the same `Message-ID`, so mail clients show one. Nothing is lost: an
//! email leaves the outbox only as `sent`, `failed` (permanent refusal or 8 attempts) or
//! `suppressed` (the address unsubscribed from non-essential mail).
//!
//! Every email gets an HTML part (the program's branding: name, colour, logo) and a plain-text
//! part, an open-tracking pixel `GET /o/{token}` and, for non-essential kinds, an unsubscribe
//! link `/u/{token}` (also as `List-Unsubscribe`).

use crate::entities::{account, email_suppression, outbox_email, partner, program};
use crate::report::Report;
use crate::{timeline, Error, Result};
use chrono::{DateTime, Duration, Utc};
use lettre::message::{header, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::sync::OnceLock;

/// How long a claim lasts: a deliverer that has not marked its email by then is presumed dead.
pub const CLAIM_SECS: i64 = 300;

/// Attempts before an email is given up as `failed`.
pub const MAX_ATTEMPTS: i32 = 8;

/// Emails one delivery run takes at most.
const BATCH: u64 = 200;

/// Where and how mail goes out.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://host:port` (plain or STARTTLS when offered), `smtps://host:port` (TLS), with
    /// optional `user:password@`.
    pub smtp_url: String,
    /// Base of the tracking and unsubscribe links.
    pub public_url: String,
}

static CONFIG: OnceLock<MailConfig> = OnceLock::new();

/// Sets the process's mail configuration (at start-up, when `TRELLIS_SMTP_URL` is set).
pub fn configure(cfg: MailConfig) {
    let _ = CONFIG.set(cfg);
}

static PUBLIC_URL: OnceLock<String> = OnceLock::new();

/// Sets the address partners reach Trellis at (`TRELLIS_PUBLIC_URL`), for links in emails.
pub fn set_public_url(url: &str) {
    let _ = PUBLIC_URL.set(url.trim_end_matches('/').to_string());
}

/// The address for links in emails: the configured public URL, else `TRELLIS_PUBLIC_URL`, else
/// the default listen address.
pub fn public_url() -> String {
    PUBLIC_URL
        .get()
        .cloned()
        .or_else(|| std::env::var("TRELLIS_PUBLIC_URL").ok().map(|u| u.trim_end_matches('/').to_string()))
        .unwrap_or_else(|| "http://127.0.0.1:3000".into())
}

/// The process's mail configuration; `None` keeps mail in the outbox.
pub fn config() -> Option<&'static MailConfig> {
    CONFIG.get()
}

/// Mail the partner asked for or needs to act (invitations, password resets, verification,
/// application answers) is always sent; the rest can be unsubscribed from.
pub fn is_essential(kind: &str) -> bool {
    !matches!(kind, "re_engagement" | "tier_upgraded" | "broadcast" | "sequence")
}

/// Wait before attempt `attempts + 1` after a temporary failure: 1, 2, 4 … 60 minutes.
pub fn backoff(attempts: i32) -> Duration {
    let n = std::cmp::min(std::cmp::max(attempts, 1) - 1, 6);
    Duration::minutes(std::cmp::min(1i64 << n, 60))
}

/// Emails ready to go as of `now`: queued and due, or claimed by a deliverer whose claim expired.
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Result<Vec<i64>> {
    Ok(outbox_email::Entity::find()
        .select_only()
        .column(outbox_email::Column::Id)
        .filter(
            sea_orm::Condition::any()
                .add(outbox_email::Column::Status.eq("queued").and(outbox_email::Column::NextAttemptAt.lte(now)))
                .add(outbox_email::Column::Status.eq("sending").and(outbox_email::Column::ClaimedUntil.lt(now))),
        )
        .order_by_asc(outbox_email::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Claims an email for sending; `None` when it is not due or another deliverer holds it.
pub async fn claim(db: &impl ConnectionTrait, now: DateTime<Utc>, id: i64) -> Result<Option<outbox_email::Model>> {
    let claimed = outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::Status, Expr::value("sending"))
        .col_expr(outbox_email::Column::ClaimedUntil, Expr::value(now + Duration::seconds(CLAIM_SECS)))
        .col_expr(outbox_email::Column::Attempts, Expr::col(outbox_email::Column::Attempts).add(1))
        .filter(outbox_email::Column::Id.eq(id))
        .filter(
            sea_orm::Condition::any()
                .add(outbox_email::Column::Status.eq("queued").and(outbox_email::Column::NextAttemptAt.lte(now)))
                .add(outbox_email::Column::Status.eq("sending").and(outbox_email::Column::ClaimedUntil.lt(now))),
        )
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Ok(None);
    }
    let mut e = outbox_email::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("email"))?;
    if e.token.is_none() {
        // Emails queued before open tracking existed get their token now.
        let token = crate::outbox::new_token();
        outbox_email::Entity::update_many()
            .col_expr(outbox_email::Column::Token, Expr::value(token.clone()))
            .filter(outbox_email::Column::Id.eq(id))
            .exec(db)
            .await?;
        e.token = Some(token);
    }
    Ok(Some(e))
}

/// An email as it goes over the wire.
pub struct Rendered {
    /// The whole message.
    pub message: Message,
}

/// Builds the message: the program's sender and branding, HTML and text parts, the tracking
/// pixel and, for non-essential mail, the unsubscribe link.
pub async fn render(db: &impl ConnectionTrait, cfg: &MailConfig, e: &outbox_email::Model) -> Result<Rendered> {
    let acc = account::Entity::find_by_id(e.account_id).one(db).await?.ok_or(Error::NotFound("account"))?;
    let prog = match e.program_id {
        Some(id) => program::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let base = cfg.public_url.trim_end_matches('/');
    let token = e.token.clone().unwrap_or_default();
    let brand = match &prog {
        Some(p) => Brand::of(p, &acc.name, base),
        None => Brand::plain(&acc.name, base),
    };
    let from = Mailbox::new(
        Some(brand.sender_name.clone()),
        brand.sender_email.parse().map_err(|_| Error::invalid("sender_email", "is not an email address"))?,
    );
    let to: Mailbox = e.to_email.parse().map_err(|_| Error::invalid("to", format!("'{}' is not an email address", e.to_email)))?;
    let unsubscribe = (!is_essential(&e.kind)).then(|| format!("{base}/u/{token}"));
    let text = brand.text(&e.body_text, unsubscribe.as_deref());
    let html = brand.html(&e.body_text, unsubscribe.as_deref(), Some(&format!("{base}/o/{token}")));
    let mut builder = Message::builder().from(from).to(to).subject(e.subject.clone()).message_id(Some(format!("<{token}@{}>", brand.host)));
    if let Some(u) = &unsubscribe {
        builder = builder.header(ListUnsubscribe(format!("<{u}>")));
    }
    let message = builder
        .multipart(MultiPart::alternative().singlepart(SinglePart::plain(text)).singlepart(SinglePart::html(html)))
        .map_err(|x| Error::Internal(format!("building email {}: {x}", e.id)))?;
    Ok(Rendered { message })
}

/// How a program's emails look: sender, colour, logo, footer.
#[derive(Debug, Clone)]
pub struct Brand {
    /// Sender name (the program's, else its name, else the account's).
    pub sender_name: String,
    /// Sender address (the program's, else `no-reply@` the public host).
    pub sender_email: String,
    /// The account's name, in the footer.
    pub account_name: String,
    /// Header colour.
    pub colour: String,
    /// Logo in the header.
    pub logo: Option<String>,
    /// Extra footer line.
    pub footer: Option<String>,
    /// Host of the public URL (for Message-IDs).
    pub host: String,
}

impl Brand {
    fn host_of(public_url: &str) -> String {
        url::Url::parse(public_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| "localhost".into())
    }

    /// The branding of program `p` of account `account_name`.
    pub fn of(p: &program::Model, account_name: &str, public_url: &str) -> Brand {
        let host = Self::host_of(public_url);
        Brand {
            sender_name: p.sender_name.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| p.name.clone()),
            sender_email: p.sender_email.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| format!("no-reply@{host}")),
            account_name: account_name.to_string(),
            colour: Some(p.brand_color.clone()).filter(|c| c.starts_with('#') && c.len() <= 9).unwrap_or_else(|| "#1f5f3f".into()),
            logo: p.logo_url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            footer: p.email_footer.clone().filter(|f| !f.trim().is_empty()),
            host,
        }
    }

    /// Mail of the account itself (invitations): its name, the default colour.
    pub fn plain(account_name: &str, public_url: &str) -> Brand {
        let host = Self::host_of(public_url);
        Brand {
            sender_name: account_name.to_string(),
            sender_email: format!("no-reply@{host}"),
            account_name: account_name.to_string(),
            colour: "#1f5f3f".into(),
            logo: None,
            footer: None,
            host,
        }
    }

    /// The plain-text part: the body, the signature, the footer and the unsubscribe link.
    pub fn text(&self, body: &str, unsubscribe: Option<&str>) -> String {
        let mut text = body.trim_end().to_string();
        text.push_str(&format!("\n\n— {}, {}\n", self.sender_name, self.account_name));
        if let Some(f) = &self.footer {
            text.push_str(f.trim());
            text.push('\n');
        }
        if let Some(u) = unsubscribe {
            text.push_str(&format!("Unsubscribe from these emails: {u}\n"));
        }
        text
    }

    /// The HTML part: header in the brand colour with the logo, paragraphs, footer, and the
    /// open-tracking pixel when given.
    pub fn html(&self, body: &str, unsubscribe: Option<&str>, pixel: Option<&str>) -> String {
        let esc = |s: &str| html_escape::encode_text(s).to_string();
        let attr = |s: &str| html_escape::encode_double_quoted_attribute(s).to_string();
        let paragraphs: String =
            body.trim().split("\n\n").map(|p| format!("<p style=\"margin:0 0 14px\">{}</p>", esc(p.trim()).replace('\n', "<br>"))).collect();
        let header_html = match &self.logo {
            Some(l) => format!("<img src=\"{}\" alt=\"{}\" style=\"max-height:40px\">", attr(l), attr(&self.sender_name)),
            None => format!("<strong style=\"font-size:18px;color:#fff\">{}</strong>", esc(&self.sender_name)),
        };
        let mut footer = format!("{} · {}", esc(&self.sender_name), esc(&self.account_name));
        if let Some(f) = &self.footer {
            footer.push_str(&format!("<br>{}", esc(f.trim())));
        }
        if let Some(u) = unsubscribe {
            footer.push_str(&format!(" · <a href=\"{}\" style=\"color:#667\">Unsubscribe</a>", attr(u)));
        }
        let pixel = pixel.map(|p| format!("<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block\">", attr(p))).unwrap_or_default();
        format!(
            "<!doctype html><html><body style=\"margin:0;background:#f4f6f5;font-family:-apple-system,Segoe UI,Roboto,sans-serif;color:#1b2420\">\
<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td align=\"center\" style=\"padding:24px\">\
<table role=\"presentation\" width=\"560\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#fff;border-radius:8px;overflow:hidden;max-width:100%\">\
<tr><td style=\"background:{};padding:16px 24px\">{header_html}</td></tr>\
<tr><td style=\"padding:24px;font-size:15px;line-height:1.5\">{paragraphs}</td></tr>\
<tr><td style=\"padding:16px 24px;font-size:12px;color:#667;border-top:1px solid #e3e8e5\">{footer}</td></tr>\
</table></td></tr></table>{pixel}</body></html>",
            self.colour
        )
    }
}

/// The `List-Unsubscribe` header.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The SMTP transport of a configuration.
pub fn transport(cfg: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.smtp_url)
        .map_err(|e| Error::Internal(format!("TRELLIS_SMTP_URL: {e}")))?
        .timeout(Some(std::time::Duration::from_secs(20)))
        .build())
}

/// Marks a claimed email sent (and notes it on the partner's timeline).
pub async fn mark_sent(db: &impl ConnectionTrait, now: DateTime<Utc>, e: &outbox_email::Model) -> Result<()> {
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::Status, Expr::value("sent"))
        .col_expr(outbox_email::Column::SentAt, Expr::value(now))
        .col_expr(outbox_email::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox_email::Column::LastError, Expr::value(Option::<String>::None))
        .filter(outbox_email::Column::Id.eq(e.id))
        .filter(outbox_email::Column::Status.eq("sending"))
        .exec(db)
        .await?;
    on_timeline(db, now, e, "Email sent", serde_json::json!({"outbox_id": e.id, "kind": e.kind, "to": e.to_email})).await
}

/// Notes what happened to an email on its partner's timeline (emails about no partner: nothing).
async fn on_timeline(db: &impl ConnectionTrait, now: DateTime<Utc>, e: &outbox_email::Model, what: &str, data: serde_json::Value) -> Result<()> {
    let Some(pid) = e.partner_id else {
        return Ok(());
    };
    timeline::record(
        db,
        timeline::Event {
            account_id: e.account_id,
            partner_id: pid,
            enrollment_id: None,
            kind: "email",
            actor: "system",
            summary: format!("{what}: {}", e.subject),
            data,
            at: now,
        },
    )
    .await
}

/// After a failed attempt: back to `queued` after the backoff, or `failed` for good when the
/// server refused permanently or the attempts are used up.
pub async fn mark_failed(db: &impl ConnectionTrait, now: DateTime<Utc>, e: &outbox_email::Model, error: &str, permanent: bool) -> Result<()> {
    let give_up = permanent || e.attempts >= MAX_ATTEMPTS;
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::Status, Expr::value(if give_up { "failed" } else { "queued" }))
        .col_expr(outbox_email::Column::NextAttemptAt, Expr::value(now + backoff(e.attempts)))
        .col_expr(outbox_email::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox_email::Column::LastError, Expr::value(error.chars().take(500).collect::<String>()))
        .filter(outbox_email::Column::Id.eq(e.id))
        .filter(outbox_email::Column::Status.eq("sending"))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether an address unsubscribed from the account's non-essential mail.
pub async fn suppressed(db: &impl ConnectionTrait, account_id: i64, email: &str) -> Result<bool> {
    Ok(email_suppression::Entity::find_by_id((account_id, email.trim().to_lowercase())).one(db).await?.is_some())
}

/// One delivery run as of `now`: every due email is claimed, sent and marked.
pub async fn deliver(db: &DatabaseConnection, cfg: &MailConfig, now: DateTime<Utc>) -> Result<Report> {
    let smtp = transport(cfg)?;
    let mut report = Report::default();
    for id in due(db, now, BATCH).await? {
        let Some(e) = claim(db, now, id).await? else {
            continue;
        };
        report.examined += 1;
        if !is_essential(&e.kind) && suppressed(db, e.account_id, &e.to_email).await? {
            outbox_email::Entity::update_many()
                .col_expr(outbox_email::Column::Status, Expr::value("suppressed"))
                .col_expr(outbox_email::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(outbox_email::Column::Id.eq(e.id))
                .exec(db)
                .await?;
            continue;
        }
        let rendered = match render(db, cfg, &e).await {
            Ok(r) => r,
            Err(err) => {
                mark_failed(db, now, &e, &err.to_string(), true).await?;
                continue;
            }
        };
        match smtp.send(rendered.message).await {
            Ok(_) => {
                mark_sent(db, now, &e).await?;
                report.changed += 1;
            }
            Err(err) => {
                tracing::warn!(email = e.id, error = %err, "SMTP delivery failed");
                mark_failed(db, now, &e, &err.to_string(), err.is_permanent()).await?;
            }
        }
    }
    Ok(report)
}

/// Records the first open of the email with this token; false for an unknown token or a
/// repeated open.
pub async fn record_open(db: &impl ConnectionTrait, now: DateTime<Utc>, token: &str) -> Result<bool> {
    let opened = outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::OpenedAt, Expr::value(now))
        .filter(outbox_email::Column::Token.eq(token))
        .filter(outbox_email::Column::OpenedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if opened == 0 {
        return Ok(false);
    }
    let e = outbox_email::Entity::find().filter(outbox_email::Column::Token.eq(token)).one(db).await?.ok_or(Error::NotFound("email"))?;
    on_timeline(db, now, &e, "Email opened", serde_json::json!({"outbox_id": e.id, "kind": e.kind, "opened": true})).await?;
    Ok(true)
}

/// What an unsubscribe link is about: (sender, address, already unsubscribed).
pub async fn unsubscribe_info(db: &impl ConnectionTrait, token: &str) -> Result<(String, String, bool)> {
    let e = outbox_email::Entity::find().filter(outbox_email::Column::Token.eq(token)).one(db).await?.ok_or(Error::NotFound("email"))?;
    let sender = match e.program_id {
        Some(id) => program::Entity::find_by_id(id).one(db).await?.map(|p| p.name),
        None => None,
    };
    let sender = match sender {
        Some(s) => s,
        None => account::Entity::find_by_id(e.account_id).one(db).await?.map(|a| a.name).unwrap_or_default(),
    };
    let done = suppressed(db, e.account_id, &e.to_email).await?;
    Ok((sender, e.to_email, done))
}

/// Unsubscribes the address of the email with this token from the account's non-essential mail.
pub async fn unsubscribe(db: &impl ConnectionTrait, now: DateTime<Utc>, token: &str) -> Result<()> {
    let e = outbox_email::Entity::find().filter(outbox_email::Column::Token.eq(token)).one(db).await?.ok_or(Error::NotFound("email"))?;
    let email = e.to_email.trim().to_lowercase();
    let inserted = email_suppression::Entity::insert(email_suppression::ActiveModel {
        account_id: Set(e.account_id),
        email: Set(email.clone()),
        reason: Set("unsubscribed".into()),
        created_at: Set(now),
    })
    .on_conflict(OnConflict::columns([email_suppression::Column::AccountId, email_suppression::Column::Email]).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    if inserted == 1 {
        if let Some(p) =
            partner::Entity::find().filter(partner::Column::AccountId.eq(e.account_id)).filter(partner::Column::Email.eq(email)).one(db).await?
        {
            timeline::record(
                db,
                timeline::Event {
                    account_id: e.account_id,
                    partner_id: p.id,
                    enrollment_id: None,
                    kind: "email",
                    actor: "partner",
                    summary: "Unsubscribed from non-essential email".into(),
                    data: serde_json::json!({"outbox_id": e.id}),
                    at: now,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// A page of the account's outbox, newest first, optionally of one status and matching a text
/// (recipient or subject). Admins only.
pub async fn outbox_page(
    db: &impl ConnectionTrait,
    actor: &crate::Actor,
    status: Option<&str>,
    q: Option<&str>,
    page: u64,
) -> Result<models::OutboxPage> {
    use sea_orm::sea_query::{Func, LikeExpr};

    actor.require_admin()?;
    const PER_PAGE: u64 = 50;
    let mut find = outbox_email::Entity::find().filter(outbox_email::Column::AccountId.eq(actor.account_id));
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        if !matches!(s, "queued" | "sending" | "sent" | "failed" | "suppressed") {
            return Err(Error::invalid("status", "one of queued, sending, sent, failed, suppressed"));
        }
        find = find.filter(outbox_email::Column::Status.eq(s));
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::db::like_pattern(q);
        let like = |c: outbox_email::Column| Expr::expr(Func::lower(Expr::col(c))).like(LikeExpr::new(pattern.clone()).escape('\\'));
        find = find.filter(sea_orm::Condition::any().add(like(outbox_email::Column::ToEmail)).add(like(outbox_email::Column::Subject)));
    }
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let list = crate::db::fetch_page(db, find.order_by_desc(outbox_email::Column::Id), page, PER_PAGE).await?.map(|e| models::OutboxRow {
        id: e.id,
        kind: e.kind,
        to: e.to_email,
        partner_id: e.partner_id,
        subject: e.subject,
        body: e.body_text,
        next_attempt: (e.status == "queued").then(|| fmt(e.next_attempt_at)),
        status: e.status,
        attempts: e.attempts,
        created: fmt(e.created_at),
        sent: e.sent_at.map(fmt),
        opened: e.opened_at.map(fmt),
        last_error: e.last_error,
    });
    Ok(models::OutboxPage { list, delivering: config().is_some() })
}
