//! Tracking: links, conversions and refunds, and the bodies of creating a link and refunding.

use super::enum_of;
use backend::programs::commission::input_of_label as commission_of_label;
use crate::edge::Problem;
use backend::programs::CommissionInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tracking link.
#[derive(Serialize, ToSchema)]
pub struct Link {
    pub id: i64,
    pub code: String,
    /// `{TRELLIS_PUBLIC_URL}/r/{code}`.
    pub url: String,
    pub destination: String,
}

/// How a conversion was attributed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributedVia {
    ClickId,
    LinkCode,
    PartnerId,
}

/// Whether a conversion earns.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversionStatus {
    Attributed,
    Unattributed,
    Ineligible,
}

/// What a conversion earned.
#[derive(Serialize, ToSchema)]
pub struct ConversionCommission {
    /// Zero when nothing was earned.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "18.52")]
    amount: String,
    /// The rate applied; null when nothing was earned.
    rate: Option<CommissionInput>,
    /// The tier at the time; null when nothing was earned.
    tier: Option<String>,
}

/// A conversion as first answered.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 5012, "external_id": "order-1001", "program_id": 1, "amount": "123.45", "currency": "USD",
    "partner_id": 12, "attributed_via": "click_id", "click_path": ["c_8f2k3m9x"], "status": "attributed", "reason": null,
    "occurred_at": "2026-12-01T14:03:00Z", "commission": {"amount": "18.52", "rate": {"percent": "15"}, "tier": "Silver"}}))]
pub struct Conversion {
    id: i64,
    /// The merchant's id of the sale, unique per program.
    external_id: String,
    program_id: i64,
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "123.45")]
    amount: String,
    #[schema(example = "USD")]
    currency: String,
    /// The partner credited; null when unattributed.
    partner_id: Option<i64>,
    /// Null when unattributed.
    attributed_via: Option<AttributedVia>,
    /// The visitor's clicks inside the cookie window, oldest first.
    click_path: Vec<String>,
    status: ConversionStatus,
    /// Why it earns nothing, if it does not.
    reason: Option<String>,
    #[schema(format = DateTime)]
    occurred_at: String,
    commission: ConversionCommission,
}

impl Conversion {
    /// The resource of a conversion answer (also of answers stored before this shape).
    pub fn of(a: backend::tracking::conversions::ConversionAnswer) -> Result<Self, Problem> {
        Ok(Self {
            id: a.id,
            external_id: a.external_id,
            program_id: a.program_id,
            amount: a.amount,
            currency: a.currency,
            partner_id: a.partner_id,
            attributed_via: a.attributed_via.as_deref().map(enum_of).transpose()?,
            click_path: a.click_path,
            status: enum_of(&a.status)?,
            reason: a.reason,
            occurred_at: a.occurred_at,
            commission: ConversionCommission {
                amount: a.commission.amount,
                rate: a.commission.rate.as_deref().and_then(commission_of_label),
                tier: a.commission.tier,
            },
        })
    }
}

/// A conversion after a refund.
#[derive(Serialize, ToSchema)]
pub struct RefundedConversion {
    id: i64,
    external_id: String,
    program_id: i64,
    /// The original amount.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    amount: String,
    currency: String,
    partner_id: Option<i64>,
    attributed_via: Option<AttributedVia>,
    click_path: Vec<String>,
    status: ConversionStatus,
    reason: Option<String>,
    #[schema(format = DateTime)]
    occurred_at: String,
    /// What it earned when it arrived.
    commission: ConversionCommission,
    /// Refunded so far.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    refunded: String,
    /// Commission net of clawbacks and adjustments.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    commission_net: String,
}

/// An amount clawed back.
#[derive(Serialize, ToSchema)]
pub struct Clawback {
    /// Positive; the ledger entry is negative.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    amount: String,
}

/// A refund's answer.
#[derive(Serialize, ToSchema)]
pub struct Refund {
    conversion: RefundedConversion,
    clawback: Clawback,
}

impl Refund {
    /// The resource of a refund outcome.
    pub fn of(r: backend::tracking::refunds::RefundOutcome) -> Result<Self, Problem> {
        let c = Conversion::of(r.conversion.conversion)?;
        Ok(Self {
            conversion: RefundedConversion {
                id: c.id,
                external_id: c.external_id,
                program_id: c.program_id,
                amount: c.amount,
                currency: c.currency,
                partner_id: c.partner_id,
                attributed_via: c.attributed_via,
                click_path: c.click_path,
                status: c.status,
                reason: c.reason,
                occurred_at: c.occurred_at,
                commission: c.commission,
                refunded: r.conversion.refunded,
                commission_net: r.conversion.commission_net,
            },
            clawback: Clawback { amount: r.clawback.amount },
        })
    }
}

/// A new tracking link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    pub(crate) partner_id: i64,
    pub(crate) program_id: i64,
    /// http(s) URL on the program's website or allowed domains; default the website.
    #[serde(default)]
    pub(crate) destination: Option<String>,
}

/// A refund; no amount refunds everything that remains.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// The amount to refund (decimal string); everything that remains when absent.
    #[serde(default)]
    #[schema(pattern = r"^\d+(\.\d+)?$", example = "12.50")]
    pub(crate) amount: Option<String>,
    /// Your idempotency key for this refund (1–200 characters, unique per conversion): a retry
    /// with the same key is applied once and answers like the first; the same key with another
    /// amount answers 409.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, example = "re_3PqX2")]
    pub(crate) refund_id: Option<String>,
}
