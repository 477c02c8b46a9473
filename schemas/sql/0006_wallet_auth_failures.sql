-- Refused wallet sign-ins (docs/wallet-sessions.md), from the auth_failed
-- events the API records (command record_auth_failure) for attempts both
-- auth rate limits admitted. No secret is here: not the message, not the
-- signature. Retention: the projector deletes rows more than 30 days older
-- than the newest failure it writes (by log time, so a rebuild keeps the
-- same rows), which bounds the table by the rate limits times 30 days.
CREATE TABLE wallet_auth_failures (
  seq      bigint PRIMARY KEY,       -- the event that recorded it
  at       timestamptz NOT NULL,     -- log time
  chain    text NOT NULL CHECK (chain IN ('ethereum', 'solana', 'stacks')),
  network  text NOT NULL,
  address  text NOT NULL,
  client   text NOT NULL,            -- the client address the attempt came from
  reason   text NOT NULL             -- the check that failed (signature_mismatch, ...)
);
CREATE INDEX wallet_auth_failures_at ON wallet_auth_failures (at);
CREATE INDEX wallet_auth_failures_address ON wallet_auth_failures (address, at);
