-- Payment requests (docs/payment-requests.md), the activity log of
-- non-money actions, and the retention settings (docs/read-models.md,
-- "Retention"). Everything here is rebuilt from the journal.

CREATE TABLE payment_requests (
  request_id      bigint PRIMARY KEY,          -- the seq of the event that opened it
  requester       text NOT NULL,
  wallet_id       bigint NOT NULL,             -- the requester's wallet, credited when paid
  payer           text NOT NULL,
  asset           text NOT NULL,
  amount          numeric NOT NULL CHECK (amount > 0),
  note            text NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'paid', 'declined', 'expired', 'cancelled')),
  expires_at      timestamptz NOT NULL,
  created_at      timestamptz NOT NULL,
  closed_seq      bigint,
  closed_at       timestamptz,
  transaction_id  bigint,                      -- paid: the transfer that paid it
  payer_wallet_id bigint,                      -- paid: the wallet it was paid from
  reason          text                         -- declined or cancelled: the caller's words
);
CREATE INDEX payment_requests_requester ON payment_requests (requester, status, request_id);
CREATE INDEX payment_requests_payer ON payment_requests (payer, status, request_id);

-- Non-money actions by owner and log time, partitioned by calendar month
-- (UTC) of `at`: the projector creates each month's partition
-- (activity_log_pYYYYMM) before writing into it, and retention detaches or
-- drops whole partitions. There is no default partition, so a month's
-- partition can always be created or dropped as a unit.
CREATE TABLE activity_log (
  at         timestamptz NOT NULL,             -- log time
  seq        bigint NOT NULL,                  -- the event
  idx        integer NOT NULL,                 -- the effect within the event
  owner      text,                             -- whose activity (null: ledger-wide, or an unconnected address)
  action     text NOT NULL,
  principal  text NOT NULL,                    -- who issued the command ('' for system events)
  subject_id bigint,                           -- the session, wallet or request it concerns
  details    jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (at, seq, idx)
) PARTITION BY RANGE (at);
CREATE INDEX activity_log_owner_at ON activity_log (owner, at);

-- Archived months (older than activity_archive_after_days): detached from
-- activity_log and attached here, same shape, until they are deleted.
CREATE TABLE activity_log_archive (LIKE activity_log INCLUDING DEFAULTS) PARTITION BY RANGE (at);

-- Retention, in days of log time before the projection's last event.
CREATE TABLE retention_settings (
  name        text PRIMARY KEY,
  days        integer NOT NULL CHECK (days > 0 AND days <= 36600),
  description text NOT NULL
);
INSERT INTO retention_settings (name, days, description) VALUES
  ('sessions_after_end_days', 30, 'ended wallet sessions are deleted this long after they end'),
  ('activity_archive_after_days', 90, 'activity_log months move to activity_log_archive once entirely older than this'),
  ('activity_delete_after_days', 730, 'archived activity months are dropped once entirely older than this'),
  ('money_history_keep_days', 2557, 'money history (transactions, postings, audit_log) is kept at least this long');
