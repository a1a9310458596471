//! **Comms**: everything that reaches a partner in words. Mail delivery from the outbox, tracking
//! opens and unsubscribes ([`mail`]), templates, email sequences, broadcasts and two-way messages;
//! and the reactions that turn other areas' events into mail ([`reactions`]).

pub mod broadcasts;
pub mod mail;
pub mod messaging;
pub mod reactions;
pub mod sequences;
pub mod templates;
