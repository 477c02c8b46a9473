-- Reconciliation of provider reports against the ledger's deposits
-- (docs/read-models.md, "Reconciliation"). Unlike the other tables these
-- rows are not derived from the journal: they record imports, so a rebuild
-- of the read models carries them over (projections/maintenance.cpp).

-- One imported report. The same report (same bytes) for the same webhook
-- account is one reconciliation however often it is imported.
CREATE TABLE reconciliations (
  reconciliation_id    bigserial PRIMARY KEY,
  account              text NOT NULL,          -- the webhook account: deposits from clearing:<account>
  report_sha256        text NOT NULL,
  report_format        text NOT NULL,
  report_rows          integer NOT NULL,
  window_from          timestamptz,            -- earliest and latest row of the report
  window_to            timestamptz,
  matched              integer NOT NULL DEFAULT 0,
  missing_in_ledger    integer NOT NULL DEFAULT 0,
  missing_at_provider  integer NOT NULL DEFAULT 0,
  amount_mismatch      integer NOT NULL DEFAULT 0,
  status_mismatch      integer NOT NULL DEFAULT 0,
  projected_seq        bigint NOT NULL,        -- the read models' position it was compared with
  imported_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account, report_sha256)
);

CREATE TABLE reconciliation_items (
  reconciliation_id  bigint NOT NULL REFERENCES reconciliations ON DELETE CASCADE,
  item               integer NOT NULL,
  outcome            text NOT NULL CHECK (outcome IN ('matched', 'missing_in_ledger', 'missing_at_provider',
                                                      'amount_mismatch', 'status_mismatch')),
  reference          text NOT NULL,
  report_line        integer,                  -- null for missing_at_provider
  report_amount      numeric,
  report_currency    text,
  report_status      text,
  transaction_id     bigint,                   -- the ledger's deposit, when there is one
  ledger_amount      numeric,
  ledger_asset       text,
  PRIMARY KEY (reconciliation_id, item)
);
