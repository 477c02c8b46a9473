-- Read models built from the ledger's event journal by the projector.
-- Disposable: every table here can be dropped and rebuilt from the journal.
-- Amounts are exact decimals in the asset's major unit ("25.00"), never floats.
-- *_seq columns are journal sequence numbers; *_at columns are log times.

CREATE TABLE projection_checkpoints (
  projection   text PRIMARY KEY,
  last_seq     bigint NOT NULL CHECK (last_seq >= 0),
  chain_hash   bytea NOT NULL,
  last_at      timestamptz,            -- log time of the last projected event
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assets (
  code            text PRIMARY KEY,
  scale           smallint NOT NULL CHECK (scale BETWEEN 0 AND 18),
  min_amount      numeric NOT NULL,
  max_amount      numeric NOT NULL,
  registered_seq  bigint NOT NULL,
  registered_at   timestamptz NOT NULL
);

-- User wallets and system accounts (clearing accounts, payouts, fees).
CREATE TABLE wallets (
  wallet_id    bigint PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('user', 'system')),
  owner        text NOT NULL,          -- user id, or the system account's name
  status       text NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
  opened_seq   bigint NOT NULL,
  opened_at    timestamptz NOT NULL,
  updated_seq  bigint NOT NULL
);
CREATE INDEX wallets_owner ON wallets (owner, wallet_id);

-- Current balance per wallet and asset. available = posted - held + overdraft_limit.
-- The CHECKs repeat the engine's rules as a second line of defence.
CREATE TABLE balances (
  wallet_id          bigint NOT NULL REFERENCES wallets (wallet_id),
  asset              text NOT NULL,
  is_system          boolean NOT NULL,
  posted             numeric NOT NULL,
  held               numeric NOT NULL CHECK (held >= 0),
  incoming           numeric NOT NULL CHECK (incoming >= 0),
  overdraft_limit    numeric NOT NULL DEFAULT 0 CHECK (overdraft_limit >= 0),
  daily_debit_limit  numeric,
  available          numeric GENERATED ALWAYS AS (posted - held + overdraft_limit) STORED,
  updated_seq        bigint NOT NULL,
  updated_at         timestamptz NOT NULL,
  PRIMARY KEY (wallet_id, asset),
  CHECK (is_system OR posted - held + overdraft_limit >= 0)
);

-- One row per money movement. Withdrawals and holds are rows of their own
-- ('pending' until settled/failed or captured/voided/expired); a settlement
-- or a capture is a further row whose related_id is the withdrawal or hold.
-- transaction_id is what POST /v1/transactions/{id}/reverse takes.
CREATE TABLE transactions (
  transaction_id   bigint PRIMARY KEY,   -- the seq of the event that created it
  type             text NOT NULL CHECK (type IN ('deposit', 'withdrawal', 'settlement', 'transfer', 'hold', 'capture', 'reversal')),
  status           text NOT NULL CHECK (status IN ('completed', 'pending', 'settled', 'failed',
                                                   'captured', 'voided', 'expired', 'reversed')),
  asset            text NOT NULL,
  amount           numeric NOT NULL CHECK (amount >= 0),
  fee              numeric NOT NULL DEFAULT 0 CHECK (fee >= 0),
  from_wallet_id   bigint,
  to_wallet_id     bigint,
  provider         text,
  reference        text,
  metadata         jsonb,
  related_id       bigint,               -- capture: its hold; settlement: its withdrawal; reversal: the reversed one
  reversed_by      bigint,
  principal        text NOT NULL,
  request_id       text,
  created_at       timestamptz NOT NULL,
  updated_seq      bigint NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX transactions_reference ON transactions (reference) WHERE reference IS NOT NULL;
CREATE INDEX transactions_from ON transactions (from_wallet_id, transaction_id);
CREATE INDEX transactions_to ON transactions (to_wallet_id, transaction_id);

-- Every leg of every event, with the balance after it. amount > 0 is a
-- credit, < 0 a debit; kind 'pending' legs move held/incoming amounts.
CREATE TABLE postings (
  seq              bigint NOT NULL,
  leg              smallint NOT NULL,
  transaction_id   bigint,               -- the transaction or hold the leg belongs to
  wallet_id        bigint NOT NULL,
  asset            text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('posted', 'pending')),
  amount           numeric NOT NULL,
  posted_after     numeric NOT NULL,
  held_after       numeric NOT NULL,
  incoming_after   numeric NOT NULL,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (seq, leg)
);
-- Serves per-wallet history by time and the balance at any past time.
CREATE INDEX postings_wallet_time ON postings (wallet_id, asset, created_at, seq);

-- Balance of a wallet in an asset after every event that changed it: the
-- balance at any past time is one indexed lookup (latest row with at <= t,
-- through postings_wallet_time). A view over postings, which carry the
-- balances after each leg, so the history is not written twice.
CREATE VIEW balance_history AS
  SELECT DISTINCT ON (wallet_id, asset, seq)
         wallet_id, asset, seq, created_at AS at,
         posted_after AS posted, held_after AS held, incoming_after AS incoming
  FROM postings
  ORDER BY wallet_id, asset, seq, leg DESC;

-- Holds and withdrawals (pending money) and how they ended.
CREATE TABLE holds (
  hold_id          bigint PRIMARY KEY,   -- the seq of the hold or withdrawal
  kind             text NOT NULL CHECK (kind IN ('hold', 'withdrawal')),
  wallet_id        bigint NOT NULL,
  to_account_id    bigint NOT NULL,
  asset            text NOT NULL,
  amount           numeric NOT NULL CHECK (amount > 0),
  expires_at       timestamptz,
  status           text NOT NULL CHECK (status IN ('open', 'captured', 'voided', 'expired', 'settled', 'failed')),
  posted_amount    numeric NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  resolved_seq     bigint,
  resolved_at      timestamptz
);
CREATE INDEX holds_wallet ON holds (wallet_id, hold_id);

-- Debits and credits per wallet, asset and UTC day of log time.
CREATE TABLE daily_wallet_totals (
  day          date NOT NULL,
  wallet_id    bigint NOT NULL,
  asset        text NOT NULL,
  debits       numeric NOT NULL DEFAULT 0,
  credits      numeric NOT NULL DEFAULT 0,
  postings     integer NOT NULL DEFAULT 0,
  PRIMARY KEY (day, wallet_id, asset)
);

CREATE VIEW daily_asset_totals AS
  SELECT day, asset, sum(debits) AS debits, sum(credits) AS credits, sum(postings) AS postings
  FROM daily_wallet_totals GROUP BY day, asset;

-- Every command, accepted or rejected, and every system event.
CREATE TABLE audit_log (
  seq              bigint PRIMARY KEY,
  at               timestamptz NOT NULL,
  command          text NOT NULL,        -- 'none' for system events (hold expiry)
  outcome          text NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
  reason           text,
  detail           text,
  principal        text NOT NULL,
  idempotency_key  text NOT NULL,
  request_id       text NOT NULL,
  chain_hash       bytea NOT NULL
);
CREATE INDEX audit_log_principal ON audit_log (principal, seq);
