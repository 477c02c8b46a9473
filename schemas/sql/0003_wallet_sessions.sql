-- Wallet sessions and wallet connections (docs/wallet-sessions.md), from
-- the session events: session_opened inserts a session, session_closed
-- marks it revoked or expired; wallet_connected inserts a connection,
-- wallet_disconnected marks it disconnected. Rows are never deleted, so the
-- tables answer incident questions about the past as well as the present.
CREATE TABLE wallet_sessions (
  session_id   bigint PRIMARY KEY,           -- the seq of the event that opened it
  owner        text NOT NULL,
  chain        text NOT NULL CHECK (chain IN ('ethereum', 'solana', 'stacks')),
  network      text NOT NULL,
  address      text NOT NULL,
  status       text NOT NULL CHECK (status IN ('active', 'revoked', 'expired')),
  opened_at    timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  closed_seq   bigint,
  closed_at    timestamptz
);
CREATE INDEX wallet_sessions_address ON wallet_sessions (address, status, expires_at);
CREATE INDEX wallet_sessions_owner ON wallet_sessions (owner, status);
CREATE INDEX wallet_sessions_status ON wallet_sessions (status, expires_at);

CREATE TABLE wallet_connections (
  chain            text NOT NULL CHECK (chain IN ('ethereum', 'solana', 'stacks')),
  address          text NOT NULL,
  owner            text NOT NULL,
  connected_seq    bigint NOT NULL,
  connected_at     timestamptz NOT NULL,
  disconnected_seq bigint,
  disconnected_at  timestamptz,
  -- One row per connection; an address reconnected later gets a new row.
  PRIMARY KEY (chain, address, connected_seq)
);
CREATE INDEX wallet_connections_owner ON wallet_connections (owner);
