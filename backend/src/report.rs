//! What a job run did: the leaf type every area's job returns, so that areas need not know the
//! scheduler that runs them (the jobs area).

/// What a job did, for the log and the jobs page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Items looked at.
    pub examined: u64,
    /// Items changed.
    pub changed: u64,
}
