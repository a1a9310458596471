//! Custom fields: admins define them per account; every write path (form, bulk, import, REST)
//! validates values through [`merge`], which stores them in one canonical form.

use crate::access::auth::Actor;
use crate::entities::{custom_field, partner_field_values as pfv};
use crate::{access::audit, Error, Result};
use chrono::{DateTime, Utc};
use models::{CustomFieldDef, FieldKind, Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::BTreeMap;

/// The account's custom fields, in the order they were defined.
pub async fn defs(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<CustomFieldDef>> {
    custom_field::Entity::find()
        .filter(custom_field::Column::AccountId.eq(account_id))
        .order_by_asc(custom_field::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|f| {
            Ok(CustomFieldDef {
                kind: FieldKind::parse(&f.kind).map_err(|e| Error::Internal(e.0))?,
                options: f.options.map(|o| o.split('\n').map(str::to_string).filter(|s| !s.is_empty()).collect()).unwrap_or_default(),
                key: f.key,
                label: f.label,
                required: f.required,
            })
        })
        .collect()
}

/// Checks a field definition: key `[a-z][a-z0-9_]*` up to 64, a label, options for a select.
pub fn check_def(def: &CustomFieldDef) -> Result<CustomFieldDef> {
    let key = def.key.trim().to_lowercase();
    let ok = !key.is_empty()
        && key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(Error::invalid("key", "use lowercase letters, digits and _, starting with a letter (at most 64)"));
    }
    let label = def.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Error::invalid("label", "give a label of 1 to 100 characters"));
    }
    let mut options: Vec<String> = def.options.iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
    options.dedup();
    if def.kind == FieldKind::Select && options.is_empty() {
        return Err(Error::invalid("options", "a choice field needs at least one option"));
    }
    if def.kind != FieldKind::Select {
        options.clear();
    }
    Ok(CustomFieldDef { key, label: label.to_string(), kind: def.kind, options, required: def.required })
}

/// Creates or redefines a field (admins). Existing values stay; they are re-validated on the
/// partner's next write.
pub async fn define(db: &impl ConnectionTrait, actor: &Actor, now: DateTime<Utc>, def: &CustomFieldDef) -> Result<CustomFieldDef> {
    actor.require_any(&[Role::Admin])?;
    let def = check_def(def)?;
    let existing = custom_field::Entity::find()
        .filter(custom_field::Column::AccountId.eq(actor.account_id))
        .filter(custom_field::Column::Key.eq(&def.key))
        .one(db)
        .await?;
    let options = (!def.options.is_empty()).then(|| def.options.join("\n"));
    let before = existing.as_ref().map(|f| format!("{} ({}{})", f.label, f.kind, if f.required { ", required" } else { "" }));
    match existing {
        Some(f) => {
            let mut a: custom_field::ActiveModel = f.into();
            a.label = Set(def.label.clone());
            a.kind = Set(def.kind.as_str().into());
            a.options = Set(options);
            a.required = Set(def.required);
            a.update(db).await?;
        }
        None => {
            custom_field::ActiveModel {
                account_id: Set(actor.account_id),
                key: Set(def.key.clone()),
                label: Set(def.label.clone()),
                kind: Set(def.kind.as_str().into()),
                options: Set(options),
                required: Set(def.required),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    let after = format!("{} ({}{})", def.label, def.kind, if def.required { ", required" } else { "" });
    audit::record(db, actor, now, audit::Change { kind: "custom_field_defined", subject: def.key.clone(), before, after: Some(after) }).await?;
    Ok(def)
}

/// Removes a field and every partner's value of it (admins).
pub async fn remove(db: &impl ConnectionTrait, actor: &Actor, now: DateTime<Utc>, key: &str) -> Result<()> {
    actor.require_any(&[Role::Admin])?;
    let f = custom_field::Entity::find()
        .filter(custom_field::Column::AccountId.eq(actor.account_id))
        .filter(custom_field::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or(Error::NotFound("custom field"))?;
    pfv::Entity::delete_many().filter(pfv::Column::AccountId.eq(actor.account_id)).filter(pfv::Column::Key.eq(key)).exec(db).await?;
    custom_field::Entity::delete_by_id(f.id).exec(db).await?;
    audit::record(db, actor, now, audit::Change { kind: "custom_field_removed", subject: f.key, before: Some(f.label), after: None }).await
}

/// Applies `changes` to a partner's `current` values: unknown keys and invalid values are
/// refused (field `custom.{key}`), empty text removes a value, and every required field must end
/// with a value. Returns the complete new set, canonical.
pub fn merge(defs: &[CustomFieldDef], current: &BTreeMap<String, String>, changes: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut out: BTreeMap<String, String> =
        current.iter().filter(|(k, _)| defs.iter().any(|d| &d.key == *k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, raw) in changes {
        let def = defs.iter().find(|d| d.key == *key).ok_or_else(|| Error::invalid(format!("custom.{key}"), "no such custom field"))?;
        match def.kind.canonical(raw, &def.options).map_err(|e| Error::invalid(format!("custom.{key}"), e.0))? {
            Some(v) => out.insert(key.clone(), v),
            None => out.remove(key),
        };
    }
    if let Some(missing) = defs.iter().find(|d| d.required && !out.contains_key(&d.key)) {
        return Err(Error::invalid(format!("custom.{}", missing.key), format!("{} is required", missing.label)));
    }
    Ok(out)
}

/// Parses the stored JSON object of a partner's values.
pub fn parse_stored(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str::<BTreeMap<String, serde_json::Value>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            )
        })
        .collect()
}

/// Replaces a partner's indexed values (the rows the directory filters on).
pub async fn write_values(db: &impl ConnectionTrait, account_id: i64, partner_id: i64, values: &BTreeMap<String, String>) -> Result<()> {
    pfv::Entity::delete_many().filter(pfv::Column::PartnerId.eq(partner_id)).exec(db).await?;
    if !values.is_empty() {
        pfv::Entity::insert_many(values.iter().map(|(k, v)| pfv::ActiveModel {
            account_id: Set(account_id),
            partner_id: Set(partner_id),
            key: Set(k.clone()),
            value: Set(v.clone()),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<CustomFieldDef> {
        vec![
            CustomFieldDef {
                key: "niche".into(),
                label: "Niche".into(),
                kind: FieldKind::Select,
                options: vec!["Tech".into(), "Travel".into()],
                required: true,
            },
            CustomFieldDef { key: "audience".into(), label: "Audience".into(), kind: FieldKind::Number, options: vec![], required: false },
        ]
    }

    #[test]
    fn merging_refuses_unknown_fields_bad_values_and_missing_required_ones() {
        let none = BTreeMap::new();
        let ch = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        let ok = merge(&defs(), &none, &ch(&[("niche", "tech"), ("audience", "1200.0")])).unwrap();
        assert_eq!(ok, ch(&[("niche", "Tech"), ("audience", "1200")]));
        assert!(matches!(merge(&defs(), &none, &ch(&[("audience", "5")])), Err(Error::Invalid { field, .. }) if field == "custom.niche"));
        assert!(matches!(merge(&defs(), &none, &ch(&[("niche", "Food")])), Err(Error::Invalid { field, .. }) if field == "custom.niche"));
        assert!(
            matches!(merge(&defs(), &none, &ch(&[("niche", "Tech"), ("shoe", "9")])), Err(Error::Invalid { field, .. }) if field == "custom.shoe")
        );
        // Clearing a required value is refused; clearing an optional one works.
        assert!(merge(&defs(), &ok, &ch(&[("niche", "")])).is_err());
        assert_eq!(merge(&defs(), &ok, &ch(&[("audience", " ")])).unwrap(), ch(&[("niche", "Tech")]));
    }

    #[test]
    fn field_keys_are_checked() {
        let d = |key: &str| CustomFieldDef { key: key.into(), label: "L".into(), kind: FieldKind::Text, options: vec![], required: false };
        assert_eq!(check_def(&d(" Niche_2 ")).unwrap().key, "niche_2");
        assert!(check_def(&d("2niche")).is_err());
        assert!(check_def(&d("ni-che")).is_err());
        let mut s = d("tag");
        s.kind = FieldKind::Select;
        assert!(check_def(&s).is_err());
    }
}
