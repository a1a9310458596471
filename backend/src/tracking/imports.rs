//! CSV imports with a column-mapping step and a dry run. The file is stored on upload; the
//! mapping says which column feeds which field; a dry run executes every row exactly as the
//! import would, inside transactions that are rolled back, so its per-row errors are the real
//! ones. Imports run in the background in chunks, reporting progress. Partners are matched by
//! email and conversions by external id, so re-importing the same file changes nothing.

use super::import_rows::{partner_row, EnrolledRows, RowOutcome};
use crate::access::auth::Actor;
use crate::entities::{import, program};
use crate::{access::audit, partners::custom_fields, Clock, Error, Result};
use chrono::{DateTime, Utc};
use models::{ImportKind, ImportPreview, ImportProgress, ImportReport, ImportTarget, Role, RowError};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};
use std::collections::BTreeMap;

/// Largest file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// Rows per transaction (and per progress step).
pub const CHUNK: usize = 200;
const MAX_ERRORS: usize = 200;

/// The fields a column of `kind` can feed.
pub fn targets(kind: ImportKind, fields: &[models::CustomFieldDef]) -> Vec<ImportTarget> {
    let t = |key: &str, label: &str, required: bool| ImportTarget { key: key.into(), label: label.into(), required };
    let mut out = vec![t("email", "Email", true)];
    match kind {
        ImportKind::Partners => {
            out.extend([
                t("name", "Name", true),
                t("company", "Company", false),
                t("source", "Acquisition source", false),
                t("phone", "Phone", false),
                t("website", "Website", false),
                t("country", "Country", false),
                t("program", "Program (name or id)", false),
                t("status", "Status", false),
                t("tier", "Tier", false),
                t("invite", "Send re-enrollment invitation (yes/no)", false),
            ]);
            out.extend(fields.iter().map(|f| t(&format!("custom.{}", f.key), &f.label, false)));
        }
        ImportKind::Links => out.extend([t("program", "Program (name or id)", true), t("destination", "Destination URL", false)]),
        ImportKind::Conversions => out.extend([
            t("program", "Program (name or id)", true),
            t("external_id", "Order / external id", true),
            t("amount", "Amount", true),
            t("occurred_at", "Date (RFC 3339 or YYYY-MM-DD)", true),
            t("customer_id", "Customer", false),
        ]),
    }
    out
}

fn normal(h: &str) -> String {
    h.trim().to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// The target a header most likely means, `""` for none.
fn suggest(header: &str, targets: &[ImportTarget]) -> String {
    let h = normal(header);
    let alias = match h.as_str() {
        "emailaddress" | "mail" => "email",
        "fullname" | "partner" | "partnername" => "name",
        "organisation" | "organization" | "companyname" => "company",
        "order" | "orderid" | "externalid" | "id" => "external_id",
        "date" | "occurred" | "orderdate" | "occurredat" => "occurred_at",
        "url" | "destinationurl" | "landingpage" => "destination",
        "programname" | "programid" => "program",
        _ => "",
    };
    targets
        .iter()
        .find(|t| t.key == alias || normal(&t.key) == h || normal(t.key.trim_start_matches("custom.")) == h || normal(&t.label) == h)
        .map(|t| t.key.clone())
        .unwrap_or_default()
}

fn reader(content: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(content.as_bytes())
}

/// Stores an uploaded file and returns its mapping step (program managers and admins).
pub async fn upload(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    kind: ImportKind,
    filename: &str,
    content: &str,
) -> Result<ImportPreview> {
    actor.require_any(&[Role::ProgramManager])?;
    if content.len() > MAX_BYTES {
        return Err(Error::invalid("file", format!("is larger than {} MB", MAX_BYTES / 1024 / 1024)));
    }
    Error::check_line("filename", filename)?;
    for (n, line) in content.lines().enumerate() {
        if let Err(e) = models::text::check(line, models::text::TextKind::Multiline) {
            return Err(Error::invalid(format!("file line {}", n + 1), e.0));
        }
    }
    let content = content.trim_start_matches('\u{feff}');
    let mut r = reader(content);
    let headers = r.headers().map_err(|e| Error::invalid("file", format!("is not CSV: {e}")))?.clone();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(Error::invalid("file", "has no header row"));
    }
    let mut rows = 0u64;
    for rec in r.records() {
        rec.map_err(|e| Error::invalid("file", format!("is not valid CSV: {e}")))?;
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::invalid("file", "has a header but no rows"));
    }
    let name = filename.trim();
    let saved = import::ActiveModel {
        account_id: Set(actor.account_id),
        user_id: Set(Some(actor.user_id)),
        kind: Set(kind.as_str().into()),
        filename: Set(if name.is_empty() { "upload.csv".into() } else { name.chars().take(200).collect() }),
        content: Set(content.to_string()),
        mapping: Set(None),
        status: Set("uploaded".into()),
        total_rows: Set(rows as i32),
        done_rows: Set(0),
        report: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    preview(db, actor, saved.id).await
}

async fn load(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<import::Model> {
    crate::db::find_in_account(db, import::Column::AccountId, actor.account_id, id, "import").await
}

/// The mapping step of an uploaded file.
pub async fn preview(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<ImportPreview> {
    actor.require_any(&[Role::ProgramManager])?;
    let imp = load(db, actor, id).await?;
    let kind = ImportKind::parse(&imp.kind).ok_or(Error::Internal("bad import kind".into()))?;
    let targets = targets(kind, &custom_fields::defs(db, actor.account_id).await?);
    let mut r = reader(&imp.content);
    let headers: Vec<String> = r.headers().map_err(|e| Error::Internal(e.to_string()))?.iter().map(str::to_string).collect();
    let sample = r.records().take(5).filter_map(|x| x.ok()).map(|x| x.iter().map(str::to_string).collect()).collect();
    let suggested = headers.iter().map(|h| suggest(h, &targets)).collect();
    Ok(ImportPreview { id, kind, filename: imp.filename, headers, sample, rows: imp.total_rows as u64, targets, suggested, status: imp.status })
}

/// Progress of an import.
pub async fn progress(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, id: i64) -> Result<ImportProgress> {
    actor.require_any(&[Role::ProgramManager])?;
    let imp = load(db, actor, id).await?;
    if stalled(&imp, now) {
        let report = ImportReport {
            errors: vec![RowError {
                line: 0,
                message: "the import was interrupted (the server stopped); nothing after the last completed chunk was written — start it again"
                    .into(),
            }],
            error_count: 1,
            ..Default::default()
        };
        return Ok(ImportProgress { status: "failed".into(), total: imp.total_rows as u64, done: imp.done_rows as u64, report: Some(report) });
    }
    Ok(ImportProgress {
        status: imp.status,
        total: imp.total_rows as u64,
        done: imp.done_rows as u64,
        report: imp.report.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

/// How long a running import may go without finishing a chunk before it counts as interrupted
/// (its server stopped); a chunk of rows takes seconds.
const STALL: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A run whose server stopped: still marked running, but no chunk finished for [`STALL`].
fn stalled(imp: &import::Model, now: DateTime<Utc>) -> bool {
    matches!(imp.status.as_str(), "running" | "checking") && now - imp.updated_at > STALL
}

/// Checks a mapping against the file and its kind; returns it as `column → target`.
fn check_mapping(kind: ImportKind, targets: &[ImportTarget], headers: usize, mapping: &[String]) -> Result<Vec<Option<String>>> {
    if mapping.len() != headers {
        return Err(Error::invalid("mapping", format!("map each of the {headers} columns (or skip it)")));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for m in mapping {
        let m = m.trim();
        if m.is_empty() {
            out.push(None);
            continue;
        }
        if !targets.iter().any(|t| t.key == m) {
            return Err(Error::invalid("mapping", format!("'{m}' is not a field of a {} import", kind.as_str())));
        }
        if !seen.insert(m.to_string()) {
            return Err(Error::invalid("mapping", format!("two columns map to '{m}'")));
        }
        out.push(Some(m.to_string()));
    }
    if let Some(t) = targets.iter().find(|t| t.required && !seen.contains(&t.key)) {
        return Err(Error::invalid("mapping", format!("map a column to {}", t.label)));
    }
    Ok(out)
}

/// Starts a dry run (`dry_run`) or the import itself in the background; poll [`progress`].
pub async fn start(db: &DatabaseConnection, clock: &Clock, actor: &Actor, id: i64, mapping: &[String], dry_run: bool) -> Result<()> {
    actor.require_any(&[Role::ProgramManager])?;
    let imp = load(db, actor, id).await?;
    if matches!(imp.status.as_str(), "running" | "checking") && !stalled(&imp, clock.now()) {
        return Err(Error::Conflict("this import is already running".into()));
    }
    if imp.status == "done" {
        return Err(Error::Conflict("this file was imported already; upload it again to re-import".into()));
    }
    let kind = ImportKind::parse(&imp.kind).ok_or(Error::Internal("bad import kind".into()))?;
    let targets = targets(kind, &custom_fields::defs(db, actor.account_id).await?);
    let headers = reader(&imp.content).headers().map_err(|e| Error::Internal(e.to_string()))?.len();
    let map = check_mapping(kind, &targets, headers, mapping)?;
    let claimed = import::Entity::update_many()
        .col_expr(import::Column::Status, Expr::value(if dry_run { "checking" } else { "running" }))
        .col_expr(import::Column::Mapping, Expr::value(serde_json::to_string(mapping).unwrap_or_default()))
        .col_expr(import::Column::DoneRows, Expr::value(0))
        .col_expr(import::Column::Report, Expr::value(Option::<String>::None))
        .col_expr(import::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(import::Column::Id.eq(id))
        .filter(import::Column::Status.eq(imp.status.clone()))
        .filter(import::Column::UpdatedAt.eq(imp.updated_at))
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Err(Error::Conflict("this import changed meanwhile; reload".into()));
    }
    let (db, clock, actor) = (db.clone(), clock.clone(), actor.clone());
    tokio::spawn(async move {
        let outcome = run(&db, &clock, &actor, &imp, kind, &map, dry_run).await;
        let (status, report) = match outcome {
            Ok(r) => (if dry_run { "checked" } else { "done" }, r),
            Err(e) => {
                tracing::error!(import = imp.id, error = ?e, "import failed");
                let r = ImportReport {
                    errors: vec![RowError { line: 0, message: format!("the import stopped: {e}") }],
                    error_count: 1,
                    ..Default::default()
                };
                ("failed", r)
            }
        };
        let _ = import::Entity::update_many()
            .col_expr(import::Column::Status, Expr::value(status))
            .col_expr(import::Column::Report, Expr::value(serde_json::to_string(&report).ok()))
            .col_expr(import::Column::UpdatedAt, Expr::value(clock.now()))
            .filter(import::Column::Id.eq(imp.id))
            .exec(&db)
            .await;
    });
    Ok(())
}

/// Runs an import to the end (the background task of [`start`]; tests call it directly).
pub async fn run(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &Actor,
    imp: &import::Model,
    kind: ImportKind,
    map: &[Option<String>],
    dry_run: bool,
) -> Result<ImportReport> {
    let mut report = ImportReport { committed: !dry_run, ..Default::default() };
    let mut r = reader(&imp.content);
    let programs = program::Entity::find().filter(program::Column::AccountId.eq(actor.account_id)).all(db).await?;
    let mut records = r.records();
    let mut done = 0;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        for rec in records.by_ref().take(CHUNK) {
            let rec = rec.map_err(|e| Error::invalid("file", e.to_string()))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let mut row: BTreeMap<String, String> = BTreeMap::new();
            for (i, v) in rec.iter().enumerate() {
                if let Some(Some(k)) = map.get(i) {
                    row.insert(k.clone(), v.to_string());
                }
            }
            chunk.push((line, row));
        }
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        let now = clock.now();
        match kind {
            ImportKind::Partners => {
                let txn = crate::db::begin_write(db).await?;
                for (line, row) in &chunk {
                    let sp = txn.begin().await?;
                    match partner_row(&sp, now, actor, &programs, row).await {
                        Ok(o) => {
                            sp.commit().await?;
                            tally(&mut report, o);
                        }
                        Err(e) => {
                            sp.rollback().await?;
                            refuse(&mut report, *line, e)?;
                        }
                    }
                }
                if dry_run {
                    txn.rollback().await?
                } else {
                    txn.commit().await?
                }
            }
            ImportKind::Links | ImportKind::Conversions => {
                let rows = EnrolledRows { db, clock, actor, programs: &programs, dry_run };
                for (line, row) in &chunk {
                    let result = if kind == ImportKind::Links { rows.link(row).await } else { rows.conversion(row).await };
                    match result {
                        Ok(o) => tally(&mut report, o),
                        Err(e) => refuse(&mut report, *line, e)?,
                    }
                }
            }
        }
        report.rows += n as u64;
        done += n;
        import::Entity::update_many()
            .col_expr(import::Column::DoneRows, Expr::value(done as i32))
            .col_expr(import::Column::UpdatedAt, Expr::value(clock.now()))
            .filter(import::Column::Id.eq(imp.id))
            .exec(db)
            .await?;
    }
    if !dry_run {
        audit::record(
            db,
            actor,
            clock.now(),
            audit::Change {
                kind: "import_committed",
                subject: format!("{} ({} import)", imp.filename, imp.kind),
                before: None,
                after: Some(format!(
                    "{} created, {} updated, {} unchanged, {} refused",
                    report.created, report.updated, report.unchanged, report.error_count
                )),
            },
        )
        .await?;
    }
    Ok(report)
}

fn tally(r: &mut ImportReport, o: RowOutcome) {
    match o {
        RowOutcome::Created => r.created += 1,
        RowOutcome::Updated => r.updated += 1,
        RowOutcome::Unchanged => r.unchanged += 1,
    }
}

fn refuse(r: &mut ImportReport, line: u64, e: Error) -> Result<()> {
    let message = match e {
        Error::Invalid { field, message } => format!("{field}: {message}"),
        Error::Conflict(m) => m,
        Error::NotFound(what) => format!("{what} not found"),
        Error::Forbidden => "not allowed for your role".into(),
        other => return Err(other),
    };
    r.error_count += 1;
    if r.errors.len() < MAX_ERRORS {
        r.errors.push(RowError { line, message });
    }
    Ok(())
}
