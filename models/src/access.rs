//! Who is signed in, as the pages need it.

use crate::*;
use serde::{Deserialize, Serialize};

/// Who is signed in, as the pages need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The user's display name.
    pub name: String,
    /// The user's email.
    pub email: String,
    /// The account (organisation) name.
    pub account_name: String,
    /// Team roles; empty for a partner user.
    pub roles: Vec<Role>,
    /// True for a partner user of the portal.
    pub is_partner: bool,
}

impl SessionInfo {
    /// Where this user lands after signing in.
    pub fn home(&self) -> &'static str {
        if self.is_partner {
            "/portal"
        } else {
            "/directory"
        }
    }
}
