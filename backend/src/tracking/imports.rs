//! CSV imports with a column-mapping step and a dry run. The file is stored on upload; the
//! mapping says which column feeds which field; a dry run executes every row exactly as the
//! import would, inside transactions that are rolled back, so its per-row errors are the real
//! ones. Imports run in the background in chunks, reporting progress. Partners are matched by
//! email and conversions by external id, so re-importing the same file changes nothing.

use crate::access::auth::Actor;
use crate::entities::{enrollment, import, link, partner, program};
use crate::partners::lifecycle::{self, Change, Outcome};
use crate::partners::{self, NewPartner};
use crate::{access::audit, outbox, partners::custom_fields, timeline, Clock, Error, Result};
use chrono::{DateTime, Utc};
use models::{
    EnrollmentStatus, ImportKind, ImportPreview, ImportProgress, ImportReport, ImportTarget,
    PartnerFields, Role, RowError,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};
use std::collections::BTreeMap;

/// Largest file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// Rows per transaction (and per progress step).
pub const CHUNK: usize = 200;
const MAX_ERRORS: usize = 200;

/// The fields a column of `kind` can feed.
pub fn targets(kind: ImportKind, fields: &[models::CustomFieldDef]) -> Vec<ImportTarget> {
    let t = |key: &str, label: &str, required: bool| ImportTarget {
        key: key.into(),
        label: label.into(),
        required,
    };
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
            out.extend(
                fields
                    .iter()
                    .map(|f| t(&format!("custom.{}", f.key), &f.label, false)),
            );
        }
        ImportKind::Links => out.extend([
            t("program", "Program (name or id)", true),
            t("destination", "Destination URL", false),
        ]),
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
    h.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
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
        .find(|t| {
            t.key == alias
                || normal(&t.key) == h
                || normal(t.key.trim_start_matches("custom.")) == h
                || normal(&t.label) == h
        })
        .map(|t| t.key.clone())
        .unwrap_or_default()
}

fn reader(content: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(content.as_bytes())
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
        return Err(Error::invalid(
            "file",
            format!("is larger than {} MB", MAX_BYTES / 1024 / 1024),
        ));
    }
    Error::check_line("filename", filename)?;
    for (n, line) in content.lines().enumerate() {
        if let Err(e) = models::text::check(line, models::text::TextKind::Multiline) {
            return Err(Error::invalid(format!("file line {}", n + 1), e.0));
        }
    }
    let content = content.trim_start_matches('\u{feff}');
    let mut r = reader(content);
    let headers = r
        .headers()
        .map_err(|e| Error::invalid("file", format!("is not CSV: {e}")))?
        .clone();
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
        filename: Set(if name.is_empty() {
            "upload.csv".into()
        } else {
            name.chars().take(200).collect()
        }),
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
    import::Entity::find_by_id(id)
        .filter(import::Column::AccountId.eq(actor.account_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("import"))
}

/// The mapping step of an uploaded file.
pub async fn preview(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<ImportPreview> {
    actor.require_any(&[Role::ProgramManager])?;
    let imp = load(db, actor, id).await?;
    let kind = ImportKind::parse(&imp.kind).ok_or(Error::Internal("bad import kind".into()))?;
    let targets = targets(kind, &custom_fields::defs(db, actor.account_id).await?);
    let mut r = reader(&imp.content);
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| Error::Internal(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let sample = r
        .records()
        .take(5)
        .filter_map(|x| x.ok())
        .map(|x| x.iter().map(str::to_string).collect())
        .collect();
    let suggested = headers.iter().map(|h| suggest(h, &targets)).collect();
    Ok(ImportPreview {
        id,
        kind,
        filename: imp.filename,
        headers,
        sample,
        rows: imp.total_rows as u64,
        targets,
        suggested,
        status: imp.status,
    })
}

/// Progress of an import.
pub async fn progress(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
) -> Result<ImportProgress> {
    actor.require_any(&[Role::ProgramManager])?;
    let imp = load(db, actor, id).await?;
    if stalled(&imp, now) {
        let report = ImportReport {
            errors: vec![RowError { line: 0, message: "the import was interrupted (the server stopped); nothing after the last completed chunk was written — start it again".into() }],
            error_count: 1,
            ..Default::default()
        };
        return Ok(ImportProgress {
            status: "failed".into(),
            total: imp.total_rows as u64,
            done: imp.done_rows as u64,
            report: Some(report),
        });
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
fn check_mapping(
    kind: ImportKind,
    targets: &[ImportTarget],
    headers: usize,
    mapping: &[String],
) -> Result<Vec<Option<String>>> {
    if mapping.len() != headers {
        return Err(Error::invalid(
            "mapping",
            format!("map each of the {headers} columns (or skip it)"),
        ));
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
            return Err(Error::invalid(
                "mapping",
                format!("'{m}' is not a field of a {} import", kind.as_str()),
            ));
        }
        if !seen.insert(m.to_string()) {
            return Err(Error::invalid(
                "mapping",
                format!("two columns map to '{m}'"),
            ));
        }
        out.push(Some(m.to_string()));
    }
    if let Some(t) = targets
        .iter()
        .find(|t| t.required && !seen.contains(&t.key))
    {
        return Err(Error::invalid(
            "mapping",
            format!("map a column to {}", t.label),
        ));
    }
    Ok(out)
}

/// Starts a dry run (`dry_run`) or the import itself in the background; poll [`progress`].
pub async fn start(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &Actor,
    id: i64,
    mapping: &[String],
    dry_run: bool,
) -> Result<()> {
    actor.require_any(&[Role::ProgramManager])?;
    let imp = load(db, actor, id).await?;
    if matches!(imp.status.as_str(), "running" | "checking") && !stalled(&imp, clock.now()) {
        return Err(Error::Conflict("this import is already running".into()));
    }
    if imp.status == "done" {
        return Err(Error::Conflict(
            "this file was imported already; upload it again to re-import".into(),
        ));
    }
    let kind = ImportKind::parse(&imp.kind).ok_or(Error::Internal("bad import kind".into()))?;
    let targets = targets(kind, &custom_fields::defs(db, actor.account_id).await?);
    let headers = reader(&imp.content)
        .headers()
        .map_err(|e| Error::Internal(e.to_string()))?
        .len();
    let map = check_mapping(kind, &targets, headers, mapping)?;
    let claimed = import::Entity::update_many()
        .col_expr(
            import::Column::Status,
            Expr::value(if dry_run { "checking" } else { "running" }),
        )
        .col_expr(
            import::Column::Mapping,
            Expr::value(serde_json::to_string(mapping).unwrap_or_default()),
        )
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
        return Err(Error::Conflict(
            "this import changed meanwhile; reload".into(),
        ));
    }
    let (db, clock, actor) = (db.clone(), clock.clone(), actor.clone());
    tokio::spawn(async move {
        let outcome = run(&db, &clock, &actor, &imp, kind, &map, dry_run).await;
        let (status, report) = match outcome {
            Ok(r) => (if dry_run { "checked" } else { "done" }, r),
            Err(e) => {
                tracing::error!(import = imp.id, error = ?e, "import failed");
                let r = ImportReport {
                    errors: vec![RowError {
                        line: 0,
                        message: format!("the import stopped: {e}"),
                    }],
                    error_count: 1,
                    ..Default::default()
                };
                ("failed", r)
            }
        };
        let _ = import::Entity::update_many()
            .col_expr(import::Column::Status, Expr::value(status))
            .col_expr(
                import::Column::Report,
                Expr::value(serde_json::to_string(&report).ok()),
            )
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
    let mut report = ImportReport {
        committed: !dry_run,
        ..Default::default()
    };
    let mut r = reader(&imp.content);
    let programs = program::Entity::find()
        .filter(program::Column::AccountId.eq(actor.account_id))
        .all(db)
        .await?;
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
                for (line, row) in &chunk {
                    let result = if kind == ImportKind::Links {
                        link_row(db, clock, actor, &programs, row, dry_run).await
                    } else {
                        conversion_row(db, clock, actor, &programs, row, dry_run).await
                    };
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

/// What a row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    /// Something new.
    Created,
    /// Something existing changed.
    Updated,
    /// Already as the file says.
    Unchanged,
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

fn get<'a>(row: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    row.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn find_program<'a>(programs: &'a [program::Model], text: &str) -> Result<&'a program::Model> {
    programs
        .iter()
        .find(|p| p.id.to_string() == text || p.name.eq_ignore_ascii_case(text))
        .ok_or_else(|| Error::invalid("program", format!("no program '{text}' in this account")))
}

async fn partner_row(
    txn: &sea_orm::DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    programs: &[program::Model],
    row: &BTreeMap<String, String>,
) -> Result<RowOutcome> {
    let email = models::PartnerEmail::parse(get(row, "email").unwrap_or(""))
        .map_err(Error::field("email"))?;
    // An empty cell leaves the value as it is: a file fills in, it never erases.
    let cell = |k: &str| get(row, k).map(str::to_string);
    let fields = PartnerFields {
        name: cell("name"),
        company: cell("company"),
        source: cell("source"),
        phone: cell("phone"),
        website: cell("website"),
        country: cell("country"),
        owner_user_id: None,
        custom: row
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .filter_map(|(k, v)| {
                k.strip_prefix("custom.")
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect(),
    };
    let status = get(row, "status")
        .map(EnrollmentStatus::parse)
        .transpose()
        .map_err(Error::field("status"))?;
    let prog = get(row, "program")
        .map(|p| find_program(programs, p))
        .transpose()?;
    if prog.is_none() && (status.is_some() || get(row, "tier").is_some()) {
        return Err(Error::invalid(
            "program",
            "a status or tier needs a program column",
        ));
    }
    let existing = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .filter(partner::Column::Email.eq(email.as_str()))
        .one(txn)
        .await?;
    let mut outcome = RowOutcome::Unchanged;
    let p = match existing {
        Some(p) => {
            if !partners::update_in(txn, now, actor, p.id, &fields)
                .await?
                .is_empty()
            {
                outcome = RowOutcome::Updated;
            }
            partners::find(txn, actor.account_id, p.id).await?
        }
        None => {
            let id = partners::create_in(
                txn,
                now,
                actor,
                &NewPartner {
                    email: email.as_str().into(),
                    fields,
                    program_id: None,
                    status: None,
                },
            )
            .await?;
            outcome = RowOutcome::Created;
            partners::find(txn, actor.account_id, id).await?
        }
    };
    if let Some(prog) = prog {
        let e = match enrollment::Entity::find()
            .filter(enrollment::Column::PartnerId.eq(p.id))
            .filter(enrollment::Column::ProgramId.eq(prog.id))
            .one(txn)
            .await?
        {
            Some(e) => {
                // Statuses in a file are where the partner should be, not a transition: a
                // changed status goes through the lifecycle.
                if let Some(s) = status {
                    if lifecycle::apply(
                        txn,
                        actor,
                        now,
                        prog,
                        &e,
                        &p.name,
                        &Change::Status(s, Some("import".into())),
                    )
                    .await?
                        == Outcome::Changed
                    {
                        outcome = outcome.max_with(RowOutcome::Updated);
                    }
                }
                enrollment::Entity::find_by_id(e.id)
                    .one(txn)
                    .await?
                    .ok_or(Error::NotFound("enrollment"))?
            }
            None => {
                outcome = outcome.max_with(RowOutcome::Updated);
                partners::enroll_in(txn, now, actor, &p, prog.id, status).await?
            }
        };
        if let Some(t) = get(row, "tier") {
            if lifecycle::apply(
                txn,
                actor,
                now,
                prog,
                &e,
                &p.name,
                &Change::Tier(t.to_string()),
            )
            .await?
                == Outcome::Changed
            {
                outcome = outcome.max_with(RowOutcome::Updated);
            }
        }
        let invite = get(row, "invite")
            .map(|v| models::FieldKind::Boolean.canonical(v, &[]))
            .transpose()
            .map_err(Error::field("invite"))?
            .flatten();
        if invite.as_deref() == Some("true") {
            let key = format!("invite:{}:{}", p.id, prog.id);
            let queued = outbox::queue(txn, now, outbox::NewEmail {
                account_id: actor.account_id,
                program_id: Some(prog.id),
                partner_id: Some(p.id),
                kind: "invitation",
                to: &p.email,
                subject: format!("You're invited to {}", prog.name),
                text: format!("Hello {},\n\n{} has moved its partner program to Trellis. Sign in to the partner portal to see your links, earnings and tier.\n", p.name, prog.name),
                dedupe_key: Some(key),
            })
            .await?;
            if queued {
                timeline::record(
                    txn,
                    timeline::Event {
                        account_id: actor.account_id,
                        partner_id: p.id,
                        enrollment_id: Some(e.id),
                        kind: "email",
                        actor: &actor.label(),
                        summary: format!("Re-enrollment invitation to {} queued", prog.name),
                        data: serde_json::json!({"kind": "invitation"}),
                        at: now,
                    },
                )
                .await?;
                outcome = outcome.max_with(RowOutcome::Updated);
            }
        }
    }
    if outcome != RowOutcome::Unchanged {
        timeline::record(
            txn,
            timeline::Event {
                account_id: actor.account_id,
                partner_id: p.id,
                enrollment_id: None,
                kind: "import",
                actor: &actor.label(),
                summary: "Imported from a CSV file".into(),
                data: serde_json::json!({}),
                at: now,
            },
        )
        .await?;
    }
    Ok(outcome)
}

impl RowOutcome {
    /// Created stays created; otherwise the stronger of the two.
    fn max_with(self, other: RowOutcome) -> RowOutcome {
        match (self, other) {
            (RowOutcome::Created, _) | (_, RowOutcome::Created) => RowOutcome::Created,
            (RowOutcome::Updated, _) | (_, RowOutcome::Updated) => RowOutcome::Updated,
            _ => RowOutcome::Unchanged,
        }
    }
}

async fn enrolled(
    db: &DatabaseConnection,
    actor: &Actor,
    programs: &[program::Model],
    row: &BTreeMap<String, String>,
) -> Result<(partner::Model, program::Model, enrollment::Model)> {
    let email = models::PartnerEmail::parse(get(row, "email").unwrap_or(""))
        .map_err(Error::field("email"))?;
    let prog = find_program(programs, get(row, "program").unwrap_or(""))?.clone();
    let p = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .filter(partner::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "email",
                format!("no partner with the email {}", email.as_str()),
            )
        })?;
    let e = enrollment::Entity::find()
        .filter(enrollment::Column::PartnerId.eq(p.id))
        .filter(enrollment::Column::ProgramId.eq(prog.id))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "program",
                format!("{} is not enrolled in {}", p.name, prog.name),
            )
        })?;
    Ok((p, prog, e))
}

async fn link_row(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &Actor,
    programs: &[program::Model],
    row: &BTreeMap<String, String>,
    dry_run: bool,
) -> Result<RowOutcome> {
    let (p, prog, _) = enrolled(db, actor, programs, row).await?;
    let destination = get(row, "destination")
        .map(str::to_string)
        .unwrap_or_else(|| prog.website.clone());
    let loaded = crate::programs::load(db, actor.account_id, prog.id).await?;
    let (url, host) = crate::programs::parse_web_url("destination", &destination)?;
    if !loaded.allows_host(&host) {
        return Err(Error::invalid(
            "destination",
            format!("{host} is not an allowed domain of {}", prog.name),
        ));
    }
    let exists = link::Entity::find()
        .filter(link::Column::PartnerId.eq(p.id))
        .filter(link::Column::ProgramId.eq(prog.id))
        .filter(link::Column::Destination.is_in([url.to_string(), destination.clone()]))
        .one(db)
        .await?;
    if exists.is_some() {
        return Ok(RowOutcome::Unchanged);
    }
    if !dry_run {
        crate::tracking::create_link(
            db,
            clock,
            actor.account_id,
            "",
            p.id,
            prog.id,
            Some(&destination),
        )
        .await?;
    }
    Ok(RowOutcome::Created)
}

async fn conversion_row(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &Actor,
    programs: &[program::Model],
    row: &BTreeMap<String, String>,
    dry_run: bool,
) -> Result<RowOutcome> {
    let (p, prog, _) = enrolled(db, actor, programs, row).await?;
    let external_id = get(row, "external_id")
        .ok_or_else(|| Error::invalid("external_id", "is empty"))?
        .to_string();
    let occurred =
        get(row, "occurred_at").ok_or_else(|| Error::invalid("occurred_at", "is empty"))?;
    let occurred_at = crate::clock::parse_bound("occurred_at", occurred)?;
    if occurred_at > clock.now() {
        return Err(Error::invalid("occurred_at", "is in the future"));
    }
    let currency = models::Currency::parse(&prog.currency).map_err(|e| Error::Internal(e.0))?;
    let amount = models::Money::parse(get(row, "amount").unwrap_or(""), currency)
        .map_err(Error::field("amount"))?;
    if crate::entities::conversion::Entity::find()
        .filter(crate::entities::conversion::Column::ProgramId.eq(prog.id))
        .filter(crate::entities::conversion::Column::ExternalId.eq(&external_id))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(RowOutcome::Unchanged);
    }
    if dry_run {
        return Ok(RowOutcome::Created);
    }
    let input = crate::tracking::conversions::ConversionInput {
        program_id: prog.id,
        external_id,
        amount: amount.amount_string(),
        currency: None,
        click_id: None,
        link_code: None,
        partner_id: Some(p.id),
        customer_id: get(row, "customer_id").map(str::to_string),
        occurred_at: Some(occurred_at.to_rfc3339()),
    };
    let raw = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
    crate::tracking::conversions::ingest(
        db,
        None,
        clock,
        actor.account_id,
        &input,
        &crate::tracking::conversions::request_hash(&raw),
    )
    .await?;
    Ok(RowOutcome::Created)
}
