//! Schema migrations. Every migration is written once with SeaQuery's builders and runs on both
//! SQLite and PostgreSQL. Migrations are expand/contract: each must work with the previous
//! release still running, so columns are added nullable or with defaults and dropped a release later.

pub use sea_orm_migration::prelude::*;

mod m0001_core;
mod m0002_tracking;
mod m0003_scheduler;
mod m0004_directory;
mod m0005_settings;
mod m0006_analytics;
mod m0007_communication;
mod m0008_portal;
mod m0009_directory_speed;
mod m0010_sequences;
mod m0011_compliance;
mod m0012_storage_probe;
mod m0013_range_edges;
mod m0014_money_guards;

/// The ordered list of migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_core::Migration),
            Box::new(m0002_tracking::Migration),
            Box::new(m0003_scheduler::Migration),
            Box::new(m0004_directory::Migration),
            Box::new(m0005_settings::Migration),
            Box::new(m0006_analytics::Migration),
            Box::new(m0007_communication::Migration),
            Box::new(m0008_portal::Migration),
            Box::new(m0009_directory_speed::Migration),
            Box::new(m0010_sequences::Migration),
            Box::new(m0011_compliance::Migration),
            Box::new(m0012_storage_probe::Migration),
            Box::new(m0013_range_edges::Migration),
            Box::new(m0014_money_guards::Migration),
        ]
    }
}

/// An index named `ix_{table}_{name}` on `cols`.
fn index(table: &str, name: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{name}")).table(Alias::new(table));
    for c in cols {
        idx.col(Alias::new(*c));
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}
