//! **Access**: who is acting and what they may do. Sign-in and password hashing, the actor and its
//! roles ([`auth`]), sessions in the database, accounts, the team (invitations, roles, program
//! managers), the user's own profile, API keys, and the audit log of every team change.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod profile;
pub mod session_store;
pub mod team;
