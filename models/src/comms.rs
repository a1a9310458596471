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

/// A message thread in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadRow {
    /// Thread id.
    pub id: i64,
    /// The partner.
    pub partner_id: i64,
    /// The partner's name.
    pub partner_name: String,
    /// Subject.
    pub subject: String,
    /// Last message at, `YYYY-MM-DD HH:MM UTC`.
    pub last_message_at: String,
    /// The start of the last message.
    pub snippet: String,
    /// Messages the viewer has not read.
    pub unread: i32,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    /// Message id.
    pub id: i64,
    /// Who wrote it.
    pub author: String,
    /// Written by the viewer's side (the team, or the partner).
    pub mine: bool,
    /// Text.
    pub body: String,
    /// When, `YYYY-MM-DD HH:MM UTC`.
    pub at: String,
}

/// A thread with its messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadView {
    /// Thread id.
    pub id: i64,
    /// The partner.
    pub partner_id: i64,
    /// The partner's name.
    pub partner_name: String,
    /// Subject.
    pub subject: String,
    /// Messages.
    pub messages: Vec<MessageView>,
    /// Whether the viewer may reply.
    pub can_reply: bool,
}

/// The viewer's message threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// Threads, most recent first.
    pub threads: Vec<ThreadRow>,
    /// Unread messages over all threads.
    pub unread: i64,
    /// Whether the viewer may start a thread.
    pub can_write: bool,
    /// Broadcasts the partner received, newest first (empty for the team).
    pub announcements: Vec<Announcement>,
}

/// A broadcast to write: to a saved segment or to every active partner of a program.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BroadcastInput {
    /// The segment (its active members), or
    pub segment_id: Option<i64>,
    /// every active partner of this program.
    pub program_id: Option<i64>,
    /// Subject; variables (`{{name}}`, `{{program}}`, `{{tier}}`, …) are filled per recipient.
    pub subject: String,
    /// Text, with the same variables.
    pub body: String,
    /// Send later (`YYYY-MM-DDTHH:MM` UTC, as a datetime field gives it, or RFC 3339); none: now.
    pub send_at: Option<String>,
}

/// Who a broadcast would reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastPreview {
    /// Partners it reaches.
    pub recipients: u64,
    /// A few of their names.
    pub sample: Vec<String>,
    /// The audience in words.
    pub audience: String,
}

/// A broadcast with its delivery figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastRow {
    /// Id.
    pub id: i64,
    /// Subject as written.
    pub subject: String,
    /// The audience in words.
    pub audience: String,
    /// `scheduled` or `sent`.
    pub status: String,
    /// When it goes (or went) out, `YYYY-MM-DD HH:MM UTC`.
    pub send_at: String,
    /// Emails queued for it.
    pub recipients: u64,
    /// Emails delivered to the mail server.
    pub delivered: u64,
    /// Emails opened.
    pub opened: u64,
    /// Opened ÷ delivered, e.g. `42.0%`, `—` before any delivery.
    pub open_rate: String,
}

/// The Broadcasts tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastsPage {
    /// Broadcasts, newest first.
    pub items: Vec<BroadcastRow>,
    /// Saved segments to choose from: (id, name).
    pub segments: Vec<(i64, String)>,
    /// Programs to choose from: (id, name).
    pub programs: Vec<(i64, String)>,
    /// Whether the viewer may send.
    pub can_send: bool,
}

/// A broadcast as a partner received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    /// Subject.
    pub subject: String,
    /// Text.
    pub body: String,
    /// When, `YYYY-MM-DD HH:MM UTC`.
    pub at: String,
}
