-- Every event the engine accepts must be projectable (docs/read-models.md).

-- Balances: a row is inserted once, with the limits its wallet was opened
-- with; later batches update posted/held/incoming in place. No default for
-- the limit: a writer that does not know it must not invent 0 (an upsert
-- proposing 0 failed the available >= 0 CHECK for a legitimate overdraft).
ALTER TABLE balances ALTER COLUMN overdraft_limit DROP DEFAULT;

-- The exact bytes of event strings that a text or jsonb column cannot hold
-- (NUL bytes, invalid UTF-8, the \u0000 escape in JSON). The column holds a
-- display form (U+FFFD for each such byte); this table holds the original.
-- field is "<table>.<column>", e.g. 'transactions.metadata'.
CREATE TABLE event_raw_fields (
  seq    bigint NOT NULL,
  field  text NOT NULL,
  raw    bytea NOT NULL,
  PRIMARY KEY (seq, field)
);

-- Events the projector could not project after repeated attempts: parked
-- here, with the reason, so that one bad event never stops the projection
-- for everyone. verify-read-models reports every row as drift.
CREATE TABLE projection_dead_letters (
  projection  text NOT NULL,
  seq         bigint NOT NULL,
  command     text NOT NULL,
  error       text NOT NULL,
  attempts    integer NOT NULL,
  chain_hash  bytea NOT NULL,
  parked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, seq)
);

-- Amounts written as a bare 0 (a deposit's fee, an open hold's posted
-- amount) now carry the asset's scale, like every other amount.
UPDATE transactions t SET fee = trunc(t.fee, a.scale)
  FROM assets a WHERE a.code = t.asset AND scale(t.fee) <> a.scale;
UPDATE holds h SET posted_amount = trunc(h.posted_amount, a.scale)
  FROM assets a WHERE a.code = h.asset AND scale(h.posted_amount) <> a.scale;
