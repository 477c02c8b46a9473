-- Exchanges between assets (docs/exchange.md): one 'exchange' row per
-- exchange, in the from_asset with its fee; the to_asset side, the rate and
-- the quote are in its metadata and its postings (one per leg, per asset).
ALTER TABLE transactions DROP CONSTRAINT transactions_type_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_type_check
  CHECK (type IN ('deposit', 'withdrawal', 'settlement', 'transfer', 'hold', 'capture', 'reversal', 'payment', 'refund',
                  'exchange'));
-- Balances as seed 003 shows them (docs/read-models.md, "Balances"): total,
-- and pending incoming and outgoing apart, beside available. The same
-- figures as posted, incoming and held, under the seed's names.
ALTER TABLE balances
  ADD COLUMN total numeric GENERATED ALWAYS AS (posted) STORED,
  ADD COLUMN pending_incoming numeric GENERATED ALWAYS AS (incoming) STORED,
  ADD COLUMN pending_outgoing numeric GENERATED ALWAYS AS (held) STORED;
