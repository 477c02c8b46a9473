-- Money history partitioned by calendar month (UTC) of log time, like
-- activity_log (docs/read-models.md, "Retention"): transactions, postings,
-- holds, audit_log, daily_wallet_totals and payment_requests grow with time
-- and are kept money_history_keep_days (seven years); retention drops whole
-- months, never rows. Each table's partitions are named <table>_pYYYYMM;
-- there is no default partition, so a month is always created and dropped
-- as a unit. The projector calls ensure_money_partitions for every month of
-- a batch before writing it.
--
-- A partitioned table's unique keys must hold the partition key, so the
-- primary keys now lead with the time column; ids stay unique because the
-- journal gives each event one seq and one log time, and each id keeps an
-- index of its own for lookups.

CREATE FUNCTION ensure_money_partitions(month date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', month)::date;
  next date := (date_trunc('month', month) + interval '1 month')::date;
  t text;
  name text;
  from_bound text;
  to_bound text;
BEGIN
  FOREACH t IN ARRAY ARRAY['transactions', 'postings', 'holds', 'audit_log', 'daily_wallet_totals', 'payment_requests'] LOOP
    name := t || '_p' || to_char(first, 'YYYYMM');
    CONTINUE WHEN to_regclass(format('%I.%I', current_schema(), name)) IS NOT NULL;
    from_bound := first::text;
    to_bound := next::text;
    IF t <> 'daily_wallet_totals' THEN  -- timestamptz bounds, in UTC whatever the session's TimeZone
      from_bound := from_bound || ' 00:00:00+00';
      to_bound := to_bound || ' 00:00:00+00';
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, t, from_bound, to_bound);
  END LOOP;
END $$;

-- Each table: renamed aside, recreated partitioned with the same columns,
-- defaults and checks, its months created, rows copied, the old one dropped
-- (with the views over it, recreated below), then keys and indexes under
-- their old names.
ALTER TABLE transactions RENAME TO transactions_v9;
CREATE TABLE transactions (LIKE transactions_v9 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at);
ALTER TABLE postings RENAME TO postings_v9;
CREATE TABLE postings (LIKE postings_v9 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at);
ALTER TABLE holds RENAME TO holds_v9;
CREATE TABLE holds (LIKE holds_v9 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (created_at);
ALTER TABLE audit_log RENAME TO audit_log_v9;
CREATE TABLE audit_log (LIKE audit_log_v9 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (at);
ALTER TABLE daily_wallet_totals RENAME TO daily_wallet_totals_v9;
CREATE TABLE daily_wallet_totals (LIKE daily_wallet_totals_v9 INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (day);
ALTER TABLE payment_requests RENAME TO payment_requests_v9;
CREATE TABLE payment_requests (LIKE payment_requests_v9 INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (created_at);

SELECT ensure_money_partitions(m::date) FROM (
  SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AS m FROM transactions_v9
  UNION SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM postings_v9
  UNION SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM holds_v9
  UNION SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC') FROM audit_log_v9
  UNION SELECT DISTINCT date_trunc('month', day) FROM daily_wallet_totals_v9
  UNION SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') FROM payment_requests_v9) months;

INSERT INTO transactions SELECT * FROM transactions_v9;
INSERT INTO postings SELECT * FROM postings_v9;
INSERT INTO holds SELECT * FROM holds_v9;
INSERT INTO audit_log SELECT * FROM audit_log_v9;
INSERT INTO daily_wallet_totals SELECT * FROM daily_wallet_totals_v9;
INSERT INTO payment_requests SELECT * FROM payment_requests_v9;
DROP VIEW balance_history;
DROP VIEW daily_asset_totals;
DROP TABLE transactions_v9, postings_v9, holds_v9, audit_log_v9, daily_wallet_totals_v9, payment_requests_v9;

ALTER TABLE transactions ADD PRIMARY KEY (created_at, transaction_id);
CREATE INDEX transactions_id ON transactions (transaction_id);
CREATE INDEX transactions_reference ON transactions (reference) WHERE reference IS NOT NULL;
CREATE INDEX transactions_from ON transactions (from_wallet_id, transaction_id);
CREATE INDEX transactions_to ON transactions (to_wallet_id, transaction_id);
CREATE INDEX transactions_open ON transactions (type, transaction_id) WHERE status IN ('pending', 'processing');

ALTER TABLE postings ADD PRIMARY KEY (created_at, seq, leg);
CREATE INDEX postings_seq ON postings (seq, leg);
CREATE INDEX postings_wallet_time ON postings (wallet_id, asset, created_at, seq);

ALTER TABLE holds ADD PRIMARY KEY (created_at, hold_id);
CREATE INDEX holds_id ON holds (hold_id);
CREATE INDEX holds_wallet ON holds (wallet_id, hold_id);

ALTER TABLE audit_log ADD PRIMARY KEY (at, seq);
CREATE INDEX audit_log_seq ON audit_log (seq);
CREATE INDEX audit_log_principal ON audit_log (principal, seq);

ALTER TABLE daily_wallet_totals ADD PRIMARY KEY (day, wallet_id, asset);

ALTER TABLE payment_requests ADD PRIMARY KEY (created_at, request_id);
CREATE INDEX payment_requests_id ON payment_requests (request_id);
CREATE INDEX payment_requests_requester ON payment_requests (requester, status, request_id);
CREATE INDEX payment_requests_payer ON payment_requests (payer, status, request_id);

-- The views over the old tables, unchanged.
CREATE VIEW balance_history AS
  SELECT DISTINCT ON (wallet_id, asset, seq)
         wallet_id, asset, seq, created_at AS at,
         posted_after AS posted, held_after AS held, incoming_after AS incoming
  FROM postings
  ORDER BY wallet_id, asset, seq, leg DESC;

CREATE VIEW daily_asset_totals AS
  SELECT day, asset, sum(debits) AS debits, sum(credits) AS credits, sum(postings) AS postings
  FROM daily_wallet_totals GROUP BY day, asset;

UPDATE retention_settings
  SET description = 'money history (transactions, postings, holds, audit_log, daily_wallet_totals, payment_requests) is kept this long: its months are dropped once entirely older'
  WHERE name = 'money_history_keep_days';
