//! SeaORM entities, one per table, kept free of behaviour (that lives in the services).

pub mod account;
pub mod api_key;
pub mod audit_entry;
pub mod custom_field;
pub mod enrollment;
pub mod login_attempt;
pub mod partner;
pub mod program;
pub mod session;
pub mod tier;
pub mod timeline_event;
pub mod user;
pub mod click;
pub mod conversion;
pub mod daily_rollup;
pub mod ledger_entry;
pub mod link;
pub mod payout_batch;
pub mod job_lease;
pub mod job_run;
pub mod outbox_email;
pub mod user_token;
pub mod program_manager;
