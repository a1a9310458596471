//! Email templates and behaviour-triggered sequences.

use serde::{Deserialize, Serialize};

/// A variable templates may use, as `{{name}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVariable {
    /// Name inside the braces.
    pub name: String,
    /// What it becomes.
    pub about: String,
}

/// One of a program's system emails, its wording and whether the program changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailTemplateView {
    /// `tier_upgraded`, `re_engagement`, `application_approved`.
    pub kind: String,
    /// What the email is for, in words.
    pub label: String,
    pub subject: String,
    pub body: String,
    /// False while the built-in wording applies.
    pub customized: bool,
    /// Who changed it last, and when.
    pub updated: Option<String>,
}

/// The Templates tab of one program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesPage {
    /// Programs to choose from (id, name).
    pub programs: Vec<(i64, String)>,
    /// The program shown.
    pub program_id: i64,
    /// Extra footer line of every email of the program.
    pub footer: String,
    pub templates: Vec<EmailTemplateView>,
    pub variables: Vec<TemplateVariable>,
    /// Partners of the program to preview with (id, name), active first.
    pub partners: Vec<(i64, String)>,
    /// Whether the actor may change the program's templates.
    pub can_edit: bool,
}

/// A template to save; saving the built-in wording returns to the default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TemplateInput {
    pub program_id: i64,
    pub kind: String,
    pub subject: String,
    pub body: String,
}

/// A subject and body to render with a real partner's data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PreviewInput {
    pub program_id: i64,
    /// The partner whose data fills the variables; none: the program's first active partner.
    pub partner_id: Option<i64>,
    pub subject: String,
    pub body: String,
}

/// An email as the partner would receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailPreview {
    /// Whose data filled it.
    pub partner: String,
    pub from: String,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part (for a sandboxed frame).
    pub html: String,
}

/// A step of a sequence.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SequenceStepInput {
    /// Hours after the previous step (the first step: after the partner entered).
    pub delay_hours: i32,
    pub subject: String,
    pub body: String,
}

/// A sequence to create (`id` none) or change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SequenceInput {
    pub id: Option<i64>,
    pub program_id: i64,
    pub name: String,
    /// `enrolled`, `approved`, `first_conversion`, `tier_upgraded`, `dormant`, `at_risk`.
    pub trigger: String,
    /// Stop a partner's run when the partner converts after entering.
    pub stop_on_conversion: bool,
    /// Inactive sequences take no new partners and send nothing.
    pub active: bool,
    pub steps: Vec<SequenceStepInput>,
}

/// A sequence in the list, with how many partners are in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceRow {
    pub id: i64,
    pub name: String,
    pub program: String,
    /// The trigger in words.
    pub trigger: String,
    pub steps: u32,
    pub active: bool,
    /// Partners on their way through it now.
    pub running: u64,
    pub completed: u64,
    pub stopped: u64,
}

/// The Sequences tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequencesPage {
    pub items: Vec<SequenceRow>,
    /// Programs the actor may add sequences to (id, name).
    pub programs: Vec<(i64, String)>,
    /// Triggers (value, words).
    pub triggers: Vec<(String, String)>,
    pub variables: Vec<TemplateVariable>,
    pub can_edit: bool,
}

/// One partner's way through a sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceRunRow {
    pub partner_id: i64,
    pub partner: String,
    /// `active`, `completed` or `stopped`.
    pub status: String,
    /// "step 2 of 3 sent", "stopped: converted".
    pub progress: String,
    pub entered: String,
    /// When the next step goes out.
    pub next_at: Option<String>,
}

/// A sequence with every partner's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceDetail {
    pub sequence: SequenceInput,
    pub program: String,
    pub runs: Vec<SequenceRunRow>,
    pub can_edit: bool,
}
