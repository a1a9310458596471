//! Outgoing webhooks: signing, delivery, retries, disabling and replay.

#[allow(unused_imports)]
use crate::common;
