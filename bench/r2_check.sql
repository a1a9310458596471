-- R2 verification (docs/drills.md): after a tier pass that was killed with -9 and run again,
-- recompute from scratch — from the raw conversions and the tier rules only — which tier every
-- enrollment must be in and what every conversion must have earned, and compare with what the
-- product wrote. Prints `check|expected|actual|ok` rows; every ok must be t.
--
-- Preconditions (true for a database loaded by trellis-gen and touched only by tier passes):
-- every enrollment started in its program's lowest tier, every `earned` entry was written at
-- that tier's rate, tiers are percent rates, and no conversion arrived after the load.
--
-- The as-of moment of an enrollment is the time of its tier_changed event (= the `now` of the
-- pass that changed it); for the others, the `as_of` of the last successful tier_evaluation run.
-- The rule (README, backend/src/tiers.rs doc): over the window that ends at the as-of moment,
-- both ends included, attributed conversions not fully refunded reach every minimum the tier
-- gives; revenue is net of refunds; the highest rank met wins. A retroactive tier re-rates the
-- enrollment's conversions inside its window that are neither voided nor refunded (partly or
-- fully) to its rate: earned + adjustment = max(base rate, new rate) on each, to the cent
-- (rounded half away from zero, which is what numeric round() does).
\set ON_ERROR_STOP on
SET TIME ZONE 'UTC';

CREATE TEMP TABLE r2_final AS
SELECT max(as_of) AS as_of FROM job_runs WHERE job = 'tier_evaluation' AND outcome = 'ok';

CREATE TEMP TABLE r2_events AS
SELECT enrollment_id, count(*) AS n, min(at) AS at, min(data) AS data
  FROM timeline_events WHERE kind = 'tier_changed' GROUP BY enrollment_id;

CREATE TEMP TABLE r2_enr AS
SELECT e.id, e.program_id, e.status, e.tier_id, e.commission_kind,
       coalesce(ev.at, (SELECT as_of FROM r2_final)) AS as_of,
       coalesce(ev.n, 0) AS events,
       ev.data AS event_data,
       (SELECT t.id FROM tiers t WHERE t.program_id = e.program_id ORDER BY t.rank LIMIT 1) AS base_tier
  FROM enrollments e LEFT JOIN r2_events ev ON ev.enrollment_id = e.id;

ALTER TABLE r2_enr ADD COLUMN qualified bigint;
UPDATE r2_enr x SET qualified = CASE WHEN x.status <> 'active' THEN x.base_tier ELSE coalesce((
    SELECT t.id
      FROM tiers t
      CROSS JOIN LATERAL (
            SELECT count(*) AS n, coalesce(sum(c.amount_minor - c.refunded_minor), 0) AS revenue
              FROM conversions c
             WHERE c.enrollment_id = x.id AND c.status = 'attributed'
               AND c.occurred_at >= x.as_of - make_interval(days => t.window_days) AND c.occurred_at <= x.as_of
               AND (c.refunded_minor < c.amount_minor OR c.amount_minor = 0)) s
     WHERE t.program_id = x.program_id
       AND (t.min_conversions IS NOT NULL OR t.min_revenue_minor IS NOT NULL)
       AND (t.min_conversions IS NULL OR s.n >= t.min_conversions)
       AND (t.min_revenue_minor IS NULL OR s.revenue >= t.min_revenue_minor)
     ORDER BY t.rank DESC LIMIT 1), x.base_tier) END;
CREATE INDEX ON r2_enr (id);
ANALYZE r2_enr;

CREATE TEMP TABLE r2_conv AS
SELECT c.id, c.enrollment_id, c.amount_minor, c.refunded_minor, (c.occurred_at AT TIME ZONE 'UTC')::date AS day,
       round(c.amount_minor * bt.commission_value::numeric / 100)::bigint AS base,
       CASE WHEN x.qualified <> x.base_tier AND qt.retroactive AND x.commission_kind IS NULL
             AND c.status = 'attributed' AND c.refunded_minor = 0
             AND c.occurred_at >= x.as_of - make_interval(days => qt.window_days) AND c.occurred_at <= x.as_of
            THEN greatest(round(c.amount_minor * bt.commission_value::numeric / 100),
                          round(c.amount_minor * qt.commission_value::numeric / 100))::bigint
            ELSE round(c.amount_minor * bt.commission_value::numeric / 100)::bigint END AS expected,
       CASE WHEN c.refunded_minor > 0
            THEN -round(round(c.amount_minor * bt.commission_value::numeric / 100) * c.refunded_minor / c.amount_minor)::bigint
            ELSE 0 END AS expected_clawback,
       qt.name AS qualified_name
  FROM conversions c
  JOIN r2_enr x ON x.id = c.enrollment_id
  JOIN tiers bt ON bt.id = x.base_tier
  JOIN tiers qt ON qt.id = x.qualified;

CREATE TEMP TABLE r2_led AS
SELECT conversion_id,
       sum(amount_minor) FILTER (WHERE kind IN ('earned', 'adjustment') AND status <> 'void') AS earned_adj,
       coalesce(sum(amount_minor) FILTER (WHERE kind = 'clawback' AND status <> 'void'), 0) AS clawback,
       count(*) FILTER (WHERE kind = 'earned') AS n_earned,
       count(*) FILTER (WHERE kind = 'adjustment') AS n_adjustment,
       sum(amount_minor) AS total
  FROM ledger_entries WHERE conversion_id IS NOT NULL GROUP BY conversion_id;

CREATE TEMP TABLE r2_result (n serial, check_name text, expected text, actual text);

INSERT INTO r2_result (check_name, expected, actual)
SELECT 'tier_evaluation runs ok / still marked running (killed)', 'ok>=1', 
       (SELECT count(*) FILTER (WHERE outcome = 'ok') || ' ok, ' || count(*) FILTER (WHERE outcome = 'running') || ' running, '
               || count(*) FILTER (WHERE outcome = 'failed') || ' failed' FROM job_runs WHERE job = 'tier_evaluation');
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'active enrollments examined', (SELECT count(*) FROM enrollments WHERE status = 'active')::text,
       (SELECT examined FROM job_runs WHERE job = 'tier_evaluation' AND outcome = 'ok' ORDER BY id DESC LIMIT 1)::text;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'enrollments that must move up (recomputed)', count(*) FILTER (WHERE qualified <> base_tier)::text,
       count(*) FILTER (WHERE tier_id <> base_tier)::text FROM r2_enr;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'enrollments whose tier differs from the recomputed one', '0', count(*)::text FROM r2_enr WHERE tier_id <> qualified;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'enrollments with a tier_changed count other than 1 if moved, 0 if not', '0',
       count(*)::text FROM r2_enr WHERE events <> (qualified <> base_tier)::int;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'enrollments with 2+ tier_changed events', '0', count(*)::text FROM r2_enr WHERE events > 1;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'tier_changed events whose from/to names are wrong', '0', count(*)::text
  FROM r2_enr x JOIN tiers b ON b.id = x.base_tier JOIN tiers q ON q.id = x.qualified
 WHERE x.events = 1 AND (x.event_data::jsonb ->> 'from' <> b.name OR x.event_data::jsonb ->> 'to' <> q.name);
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'tier_changed events not at the as_of of a tier_evaluation run', '0', count(*)::text
  FROM timeline_events t WHERE t.kind = 'tier_changed'
   AND t.at NOT IN (SELECT as_of FROM job_runs WHERE job = 'tier_evaluation');
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'upgraded enrollments without exactly one tier_upgraded email in the outbox', '0', count(*)::text
  FROM r2_enr x
 WHERE x.qualified <> x.base_tier
   AND (SELECT count(*) FROM outbox o WHERE o.kind = 'tier_upgraded' AND split_part(o.dedupe_key, ':', 2) = x.id::text) <> 1;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'tier_upgraded emails in total', count(*) FILTER (WHERE qualified <> base_tier)::text,
       (SELECT count(*) FROM outbox WHERE kind = 'tier_upgraded')::text FROM r2_enr;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'conversions whose earned+adjustment differs from the recomputation', '0', count(*)::text
  FROM r2_conv c LEFT JOIN r2_led l ON l.conversion_id = c.id WHERE coalesce(l.earned_adj, 0) <> c.expected;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'conversions whose clawback differs from the recomputation', '0', count(*)::text
  FROM r2_conv c LEFT JOIN r2_led l ON l.conversion_id = c.id WHERE coalesce(l.clawback, 0) <> c.expected_clawback;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'conversions with other than 1 earned entry, or 2+ adjustments', '0', count(*)::text
  FROM r2_conv c LEFT JOIN r2_led l ON l.conversion_id = c.id WHERE coalesce(l.n_earned, 0) <> 1 OR coalesce(l.n_adjustment, 0) > 1;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'conversions re-rated (adjustment expected / written)', count(*) FILTER (WHERE c.expected <> c.base)::text,
       (SELECT count(*) FROM ledger_entries WHERE kind = 'adjustment')::text FROM r2_conv c;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'adjustment entries not labelled with the qualified tier', '0', count(*)::text
  FROM ledger_entries l JOIN r2_conv c ON c.id = l.conversion_id WHERE l.kind = 'adjustment' AND l.tier <> c.qualified_name;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'ledger total, minor units (recomputed earned+adjustment+clawback)',
       (SELECT sum(expected + expected_clawback) FROM r2_conv)::text, (SELECT sum(amount_minor) FROM ledger_entries)::text;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'adjustments total, minor units', (SELECT sum(expected - base) FROM r2_conv)::text,
       (SELECT coalesce(sum(amount_minor), 0) FROM ledger_entries WHERE kind = 'adjustment')::text;
INSERT INTO r2_result (check_name, expected, actual)
SELECT 'daily rollups whose commission differs from the ledger of that day', '0', count(*)::text
  FROM (SELECT c.enrollment_id, c.day, sum(coalesce(l.total, 0)) AS commission
          FROM r2_conv c LEFT JOIN r2_led l ON l.conversion_id = c.id GROUP BY 1, 2) truth
  FULL JOIN daily_rollups r ON r.enrollment_id = truth.enrollment_id AND r.day = truth.day
 WHERE coalesce(r.commission_minor, 0) <> coalesce(truth.commission, 0);

SELECT check_name, expected, actual,
       CASE WHEN expected = 'ok>=1' THEN actual NOT LIKE '0 ok%' ELSE expected = actual END AS ok
  FROM r2_result ORDER BY n;
