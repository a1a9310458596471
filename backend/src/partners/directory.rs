//! The partner directory: enrollments of the account's partners, filtered by program, status,
//! tier, source, owner, health band, custom fields and free text; sorted by name, join date,
//! 90-day performance, last conversion or health; counted by status; paginated on the server.
//! Performance figures come from the per-enrollment columns the `partner_stats` job keeps, so a
//! page at 100,000 partners sorts on an index rather than aggregating.

use crate::access::auth::Actor;
use crate::db::like_pattern;
use crate::entities::{enrollment, partner, partner_field_values as pfv, program, tier, user};
use crate::{partners::custom_fields, Error, Result};
use models::{
    Currency, CustomFieldDef, DirectoryPage, DirectoryQuery, DirectoryRow, DirectorySort, EnrollmentStatus, FieldFilter, HealthBand, MemberOption,
    Money, Page, ProgramSummary, Role, StatusCounts, HEALTHY_FROM,
};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};

/// Largest page the directory serves.
pub const MAX_PER_PAGE: u64 = 200;

/// Most enrollments a bulk action or export takes from a filter.
pub const MAX_MATCHING: u64 = 100_000;

#[derive(FromQueryResult)]
struct Row {
    enrollment_id: i64,
    partner_id: i64,
    name: String,
    email: String,
    company: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    program_id: i64,
    program: String,
    currency: String,
    at_risk_threshold: i32,
    tier: String,
    status: String,
    joined_at: chrono::DateTime<chrono::Utc>,
    revenue_90d_minor: i64,
    conversions_90d: i32,
    clicks_90d: i32,
    last_conversion_at: Option<chrono::DateTime<chrono::Utc>>,
    health_score: Option<i32>,
}

#[derive(FromQueryResult)]
struct CountRow {
    status: String,
    n: i64,
}

fn e(c: enrollment::Column) -> Expr {
    Expr::col((enrollment::Entity, c))
}
fn p(c: partner::Column) -> Expr {
    Expr::col((partner::Entity, c))
}

/// Checks a query and brings its custom-field values into their canonical form.
pub fn normalise(q: &DirectoryQuery, defs: &[CustomFieldDef]) -> Result<DirectoryQuery> {
    let mut q = q.clone();
    let mut fields = Vec::new();
    for f in &q.fields {
        let def = defs.iter().find(|d| d.key == f.key).ok_or_else(|| Error::invalid(format!("custom.{}", f.key), "no such custom field"))?;
        if let Some(value) = def.kind.canonical(&f.value, &def.options).map_err(|e| Error::invalid(format!("custom.{}", f.key), e.0))? {
            fields.push(FieldFilter { key: f.key.clone(), value });
        }
    }
    q.fields = fields;
    q.tier = q.tier.filter(|t| !t.trim().is_empty());
    q.source = q.source.filter(|t| !t.trim().is_empty());
    q.q = q.q.filter(|t| !t.trim().is_empty());
    Ok(q)
}

/// Enrollments filtered by everything but status, joined only to what the filter needs: the
/// partner for text, source, owner (and `with_partner`, e.g. to sort by name), the program for the
/// health band's threshold. A tier name becomes a set of tier ids (one per program), so a
/// tier + status filter is answered from the `(tier_id, status, revenue_90d_minor)` index.
fn base(account_id: i64, q: &DirectoryQuery, with_partner: bool) -> SelectStatement {
    let mut s = Query::select();
    s.from(enrollment::Entity).and_where(e(enrollment::Column::AccountId).eq(account_id));
    if with_partner || q.q.is_some() || q.source.is_some() || q.owner.is_some() {
        s.inner_join(partner::Entity, p(partner::Column::Id).equals((enrollment::Entity, enrollment::Column::PartnerId)));
    }
    if let Some(program_id) = q.program_id {
        s.and_where(e(enrollment::Column::ProgramId).eq(program_id));
    }
    if let Some(t) = &q.tier {
        let mut ids = Query::select();
        ids.column(tier::Column::Id)
            .from(tier::Entity)
            .and_where(Expr::col(tier::Column::AccountId).eq(account_id))
            .and_where(Expr::col(tier::Column::Name).eq(t.trim()));
        s.and_where(e(enrollment::Column::TierId).in_subquery(ids));
    }
    if let Some(src) = &q.source {
        s.and_where(p(partner::Column::Source).eq(src.trim()));
    }
    if let Some(owner) = q.owner {
        s.and_where(p(partner::Column::OwnerUserId).eq(owner));
    }
    if let Some(band) = q.health {
        s.inner_join(program::Entity, Expr::col((program::Entity, program::Column::Id)).equals((enrollment::Entity, enrollment::Column::ProgramId)));
        let score = e(enrollment::Column::HealthScore);
        let threshold = Expr::col((program::Entity, program::Column::AtRiskThreshold));
        match band {
            HealthBand::Unscored => s.and_where(score.is_null()),
            HealthBand::AtRisk => s.and_where(score.lt(threshold)),
            HealthBand::Watch => {
                s.and_where(e(enrollment::Column::HealthScore).gte(threshold)).and_where(e(enrollment::Column::HealthScore).lt(HEALTHY_FROM))
            }
            HealthBand::Healthy => s.and_where(score.gte(HEALTHY_FROM)),
        };
    }
    for f in &q.fields {
        let mut sub = Query::select();
        sub.expr(Expr::val(1))
            .from(pfv::Entity)
            .and_where(Expr::col((pfv::Entity, pfv::Column::PartnerId)).equals((enrollment::Entity, enrollment::Column::PartnerId)))
            .and_where(Expr::col((pfv::Entity, pfv::Column::Key)).eq(f.key.as_str()))
            .and_where(Expr::col((pfv::Entity, pfv::Column::Value)).eq(f.value.as_str()));
        s.and_where(Expr::exists(sub));
    }
    if let Some(text) = &q.q {
        let pattern = like_pattern(text);
        let like = |col: partner::Column| Expr::expr(Func::lower(p(col))).like(LikeExpr::new(pattern.clone()).escape('\\'));
        s.cond_where(Cond::any().add(like(partner::Column::Name)).add(like(partner::Column::Email)).add(like(partner::Column::Company)));
    }
    s
}

fn with_status(mut s: SelectStatement, q: &DirectoryQuery) -> SelectStatement {
    if let Some(status) = q.status {
        s.and_where(e(enrollment::Column::Status).eq(status.as_str()));
    }
    s
}

fn order(s: &mut SelectStatement, q: &DirectoryQuery) {
    let dir = if q.desc { Order::Desc } else { Order::Asc };
    let key: SimpleExpr = match q.sort.unwrap_or(DirectorySort::Name) {
        DirectorySort::Name => p(partner::Column::Name).into(),
        DirectorySort::Joined => e(enrollment::Column::JoinedAt).into(),
        DirectorySort::Revenue => e(enrollment::Column::Revenue90dMinor).into(),
        DirectorySort::Conversions => e(enrollment::Column::Conversions90d).into(),
        DirectorySort::ConversionRate => {
            Expr::cust("CASE WHEN enrollments.clicks_90d > 0 THEN CAST(enrollments.conversions_90d AS REAL) / enrollments.clicks_90d ELSE 0 END")
        }
        DirectorySort::LastConversion => {
            // Never-converted partners go last in either direction.
            s.order_by_expr(e(enrollment::Column::LastConversionAt).is_null(), Order::Asc);
            e(enrollment::Column::LastConversionAt).into()
        }
        DirectorySort::Health => {
            s.order_by_expr(e(enrollment::Column::HealthScore).is_null(), Order::Asc);
            e(enrollment::Column::HealthScore).into()
        }
    };
    s.order_by_expr(key, dir.clone());
    s.order_by((enrollment::Entity, enrollment::Column::Id), dir);
}

fn per_page(q: &DirectoryQuery) -> Result<u64> {
    match q.per_page {
        0 => Ok(50),
        n if n > MAX_PER_PAGE => Err(Error::invalid("per_page", format!("at most {MAX_PER_PAGE}"))),
        n => Ok(n),
    }
}

/// Counts by status for a filter (the status filter itself ignored).
pub async fn counts(db: &impl ConnectionTrait, account_id: i64, q: &DirectoryQuery) -> Result<StatusCounts> {
    let mut counts_q = base(account_id, q, false);
    counts_q
        .column((enrollment::Entity, enrollment::Column::Status))
        .expr_as(e(enrollment::Column::Id).count(), Alias::new("n"))
        .group_by_col((enrollment::Entity, enrollment::Column::Status));
    let mut counts = StatusCounts::default();
    for c in CountRow::find_by_statement(db.get_database_backend().build(&counts_q)).all(db).await? {
        let n = c.n as u64;
        counts.all += n;
        match EnrollmentStatus::parse(&c.status) {
            Ok(EnrollmentStatus::Active) => counts.active += n,
            Ok(EnrollmentStatus::Pending) => counts.pending += n,
            Ok(EnrollmentStatus::Paused) => counts.paused += n,
            Ok(EnrollmentStatus::Suspended) => counts.suspended += n,
            Ok(EnrollmentStatus::Rejected) => counts.rejected += n,
            Err(_) => {}
        }
    }
    Ok(counts)
}

/// The first column of every row of `s`, as ids.
async fn ids_of(db: &impl ConnectionTrait, s: &SelectStatement) -> Result<Vec<i64>> {
    Ok(db
        .query_all_raw(db.get_database_backend().build(s))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<std::result::Result<_, _>>()?)
}

/// One page of rows in two steps: the ids of the page from the filtered, sorted enrollments
/// (joined only where the filter or sort needs it, so a deep page walks an index), then the
/// display columns of those ids alone.
async fn rows(db: &impl ConnectionTrait, account_id: i64, q: &DirectoryQuery, limit: u64, offset: u64) -> Result<Vec<DirectoryRow>> {
    let by_name = matches!(q.sort.unwrap_or(DirectorySort::Name), DirectorySort::Name);
    let mut ids_q = with_status(base(account_id, q, by_name), q);
    ids_q.expr(e(enrollment::Column::Id)).limit(limit).offset(offset);
    order(&mut ids_q, q);
    let ids = ids_of(db, &ids_q).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Query::select();
    s.from(enrollment::Entity)
        .inner_join(partner::Entity, p(partner::Column::Id).equals((enrollment::Entity, enrollment::Column::PartnerId)))
        .inner_join(program::Entity, Expr::col((program::Entity, program::Column::Id)).equals((enrollment::Entity, enrollment::Column::ProgramId)))
        .inner_join(tier::Entity, Expr::col((tier::Entity, tier::Column::Id)).equals((enrollment::Entity, enrollment::Column::TierId)))
        .left_join(user::Entity, Expr::col((user::Entity, user::Column::Id)).equals((partner::Entity, partner::Column::OwnerUserId)))
        .and_where(e(enrollment::Column::AccountId).eq(account_id))
        .and_where(e(enrollment::Column::Id).is_in(ids.iter().copied()))
        .expr_as(e(enrollment::Column::Id), Alias::new("enrollment_id"))
        .expr_as(p(partner::Column::Id), Alias::new("partner_id"))
        .column((partner::Entity, partner::Column::Name))
        .column((partner::Entity, partner::Column::Email))
        .column((partner::Entity, partner::Column::Company))
        .column((partner::Entity, partner::Column::Source))
        .expr_as(Expr::col((user::Entity, user::Column::Name)), Alias::new("owner"))
        .expr_as(Expr::col((program::Entity, program::Column::Id)), Alias::new("program_id"))
        .expr_as(Expr::col((program::Entity, program::Column::Name)), Alias::new("program"))
        .column((program::Entity, program::Column::Currency))
        .column((program::Entity, program::Column::AtRiskThreshold))
        .expr_as(Expr::col((tier::Entity, tier::Column::Name)), Alias::new("tier"))
        .column((enrollment::Entity, enrollment::Column::Status))
        .column((enrollment::Entity, enrollment::Column::JoinedAt))
        .column((enrollment::Entity, enrollment::Column::Revenue90dMinor))
        .column((enrollment::Entity, enrollment::Column::Conversions90d))
        .column((enrollment::Entity, enrollment::Column::Clicks90d))
        .column((enrollment::Entity, enrollment::Column::LastConversionAt))
        .column((enrollment::Entity, enrollment::Column::HealthScore));
    let mut by_id: std::collections::HashMap<i64, Row> =
        Row::find_by_statement(db.get_database_backend().build(&s)).all(db).await?.into_iter().map(|r| (r.enrollment_id, r)).collect();
    ids.iter()
        .filter_map(|id| by_id.remove(id))
        .map(|r| {
            let currency = Currency::parse(&r.currency).map_err(|x| Error::Internal(x.0))?;
            Ok(DirectoryRow {
                enrollment_id: r.enrollment_id,
                partner_id: r.partner_id,
                name: r.name,
                email: r.email,
                company: r.company,
                source: r.source,
                owner: r.owner,
                program_id: r.program_id,
                program: r.program,
                tier: r.tier,
                status: EnrollmentStatus::parse(&r.status).map_err(|x| Error::Internal(x.0))?,
                joined: r.joined_at.format("%Y-%m-%d").to_string(),
                revenue_90d: Money::from_minor(r.revenue_90d_minor, currency),
                conversions_90d: r.conversions_90d.into(),
                clicks_90d: r.clicks_90d.into(),
                last_conversion: r.last_conversion_at.map(|d| d.format("%Y-%m-%d").to_string()),
                health: r.health_score,
                health_band: HealthBand::of(r.health_score, r.at_risk_threshold),
            })
        })
        .collect()
}

/// One page of the directory for a team member of the account. Pickers (programs, tiers,
/// sources, owners, fields) come from [`options`], loaded once per page view.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor, q: &DirectoryQuery) -> Result<(StatusCounts, Page<DirectoryRow>)> {
    actor.require_team()?;
    let defs = custom_fields::defs(db, actor.account_id).await?;
    list_with(db, actor, q, &defs).await
}

async fn list_with(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: &DirectoryQuery,
    defs: &[CustomFieldDef],
) -> Result<(StatusCounts, Page<DirectoryRow>)> {
    let q = normalise(q, defs)?;
    let per_page = per_page(&q)?;
    let page = std::cmp::max(q.page, 1);
    let counts = counts(db, actor.account_id, &q).await?;
    let total = counts.of(q.status);
    let items = match crate::db::offset_within(page, per_page, total) {
        Some(offset) => rows(db, actor.account_id, &q, per_page, offset).await?,
        None => Vec::new(),
    };
    Ok((counts, Page { items, total, page, per_page }))
}

/// A directory page with its pickers.
pub async fn page(db: &impl ConnectionTrait, actor: &Actor, q: &DirectoryQuery) -> Result<DirectoryPage> {
    let o = options(db, actor).await?;
    let (counts, list) = list_with(db, actor, q, &o.fields).await?;
    Ok(DirectoryPage {
        programs: o.programs,
        tiers: o.tiers,
        sources: o.sources,
        owners: o.owners,
        fields: o.fields,
        counts,
        list,
        can_edit: actor.has_any(&[Role::ProgramManager, Role::RelationshipOwner]),
        me: actor.user_id,
    })
}

/// What the directory's pickers offer.
pub struct Options {
    /// Programs, oldest first.
    pub programs: Vec<ProgramSummary>,
    /// Tier names, lowest rank first.
    pub tiers: Vec<String>,
    /// Acquisition sources in use.
    pub sources: Vec<String>,
    /// Team members who can own partners.
    pub owners: Vec<MemberOption>,
    /// Custom fields.
    pub fields: Vec<CustomFieldDef>,
}

const SOURCES_SQL: &str = "WITH RECURSIVE s(v) AS (\
    SELECT MIN(source) FROM partners WHERE account_id = $1 \
    UNION ALL \
    SELECT (SELECT MIN(source) FROM partners WHERE account_id = $1 AND source > s.v) FROM s WHERE s.v IS NOT NULL\
) SELECT v FROM s WHERE v IS NOT NULL";

/// The pickers of the directory.
pub async fn options(db: &impl ConnectionTrait, actor: &Actor) -> Result<Options> {
    actor.require_team()?;
    let mut tiers: Vec<(String, i32)> = tier::Entity::find()
        .select_only()
        .column(tier::Column::Name)
        .column_as(tier::Column::Rank.min(), "r")
        .filter(tier::Column::AccountId.eq(actor.account_id))
        .group_by(tier::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    tiers.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    // The distinct sources by a loose index scan over `(account_id, source)`: one index probe per
    // distinct value rather than a pass over every partner of the account.
    let sources: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => SOURCES_SQL.to_string(),
                _ => SOURCES_SQL.replace("$1", "?1"),
            },
            [actor.account_id.into()],
        ))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Options {
        programs: crate::programs::summaries(db, actor.account_id).await?,
        tiers: tiers.into_iter().map(|t| t.0).collect(),
        sources,
        owners: owners(db, actor.account_id).await?,
        fields: custom_fields::defs(db, actor.account_id).await?,
    })
}

/// Active team members of the account who can own partners (relationship owners, program
/// managers and admins), by name.
pub async fn owners(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<MemberOption>> {
    Ok(user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(user::Column::Kind.eq("team"))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .filter(|u| {
            Role::parse_list(&u.roles).is_ok_and(|r| r.iter().any(|r| matches!(r, Role::Admin | Role::ProgramManager | Role::RelationshipOwner)))
        })
        .map(|u| MemberOption { id: u.id, name: u.name })
        .collect())
}

/// Ids of every enrollment matching a filter (paging ignored), at most [`MAX_MATCHING`].
pub async fn matching_ids(db: &impl ConnectionTrait, actor: &Actor, q: &DirectoryQuery) -> Result<Vec<i64>> {
    actor.require_team()?;
    let q = normalise(q, &custom_fields::defs(db, actor.account_id).await?)?;
    let mut s = with_status(base(actor.account_id, &q, false), &q);
    s.expr(e(enrollment::Column::Id)).order_by((enrollment::Entity, enrollment::Column::Id), Order::Asc).limit(MAX_MATCHING + 1);
    let ids = ids_of(db, &s).await?;
    if ids.len() as u64 > MAX_MATCHING {
        return Err(Error::invalid("filter", format!("matches more than {MAX_MATCHING} enrollments; narrow it down")));
    }
    Ok(ids)
}

/// The whole filtered view as CSV (R11: formula cells neutralised, RFC 4180 quoting).
pub async fn export_csv(db: &impl ConnectionTrait, actor: &Actor, q: &DirectoryQuery) -> Result<String> {
    actor.require_team()?;
    let q = normalise(q, &custom_fields::defs(db, actor.account_id).await?)?;
    let mut out = vec![[
        "partner_id",
        "name",
        "email",
        "company",
        "source",
        "owner",
        "program",
        "tier",
        "status",
        "joined",
        "revenue_90d",
        "conversions_90d",
        "clicks_90d",
        "conversion_rate",
        "last_conversion",
        "health",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    let chunk = 5_000;
    let mut offset = 0;
    loop {
        let batch = rows(db, actor.account_id, &q, chunk, offset).await?;
        let n = batch.len() as u64;
        for r in batch {
            let conversion_rate = r.conversion_rate_display();
            out.push(vec![
                r.partner_id.to_string(),
                r.name,
                r.email,
                r.company.unwrap_or_default(),
                r.source.unwrap_or_default(),
                r.owner.unwrap_or_default(),
                r.program,
                r.tier,
                r.status.as_str().into(),
                r.joined,
                r.revenue_90d.display(),
                r.conversions_90d.to_string(),
                r.clicks_90d.to_string(),
                conversion_rate,
                r.last_conversion.unwrap_or_default(),
                r.health.map(|h| h.to_string()).unwrap_or_default(),
            ]);
        }
        offset += n;
        if n < chunk || offset >= MAX_MATCHING {
            break;
        }
    }
    crate::csv_export::to_csv(&out)
}

/// A filter in words, e.g. `active · tier Gold · source Blog`.
pub fn describe(q: &DirectoryQuery, programs: &[ProgramSummary], owners: &[MemberOption]) -> String {
    let mut parts = Vec::new();
    if let Some(p) = q.program_id {
        parts.push(programs.iter().find(|x| x.id == p).map(|x| x.name.clone()).unwrap_or_else(|| format!("program {p}")));
    }
    if let Some(s) = q.status {
        parts.push(s.label().to_lowercase());
    }
    if let Some(t) = &q.tier {
        parts.push(format!("tier {t}"));
    }
    if let Some(s) = &q.source {
        parts.push(format!("source {s}"));
    }
    if let Some(o) = q.owner {
        parts.push(format!("owner {}", owners.iter().find(|m| m.id == o).map(|m| m.name.clone()).unwrap_or_else(|| o.to_string())));
    }
    if let Some(h) = q.health {
        parts.push(format!("health {}", h.label().to_lowercase()));
    }
    for f in &q.fields {
        parts.push(format!("{} = {}", f.key, f.value));
    }
    if let Some(t) = &q.q {
        parts.push(format!("“{t}”"));
    }
    if parts.is_empty() {
        "every partner".into()
    } else {
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;
    use models::percent_display as rate;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(" Ab%_ "), "%ab\\%\\_%");
    }

    #[test]
    fn conversion_rates_round_to_one_decimal() {
        assert_eq!(rate(1, 8), "12.5%");
        assert_eq!(rate(0, 0), "—");
        assert_eq!(rate(2, 3), "66.7%");
    }
}
