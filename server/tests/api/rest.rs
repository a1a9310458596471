//! REST resources, cursor pages, key scopes and rate limits.

#[allow(unused_imports)]
use crate::common;
