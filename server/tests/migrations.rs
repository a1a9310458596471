//! Every migration runs down and up again on both databases.

mod common;

use common::{Backend, TestDb};
use migrations::{Migrator, MigratorTrait};

on_both!(all_migrations_run_down_and_up_again, |b: Backend| async move {
    let t = TestDb::new(b).await;
    let db = t.connect().await;
    let applied = Migrator::get_applied_migrations(&db).await.unwrap().len();
    assert_eq!(applied, Migrator::migrations().len());
    Migrator::down(&db, None).await.unwrap();
    assert!(Migrator::get_applied_migrations(&db).await.unwrap().is_empty());
    assert!(!db_has_table(&db, "partners").await);
    Migrator::up(&db, None).await.unwrap();
    assert!(db_has_table(&db, "partners").await);
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
});

async fn db_has_table(db: &sea_orm::DatabaseConnection, table: &str) -> bool {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(&format!("SELECT 1 FROM {table} LIMIT 1")).await.is_ok()
}
