-- Transactions with a status (docs/read-models.md, "Transactions"):
-- payments and refunds join the types; processing and cancelled join the
-- statuses; every deposit, withdrawal, payment and refund carries its
-- description. A deposit, payment or refund opened pending is one row
-- whose status follows its events; the event that completes it adds a
-- 'settlement' row (related_id: the transaction it completed), as a
-- withdrawal's settlement always did.
ALTER TABLE transactions DROP CONSTRAINT transactions_type_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_type_check
  CHECK (type IN ('deposit', 'withdrawal', 'settlement', 'transfer', 'hold', 'capture', 'reversal', 'payment', 'refund'));
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_status_check
  CHECK (status IN ('completed', 'pending', 'processing', 'settled', 'failed', 'cancelled',
                    'captured', 'voided', 'expired', 'reversed'));
ALTER TABLE transactions ADD COLUMN description text;
-- Open items by kind, for back offices working through pending payments.
CREATE INDEX transactions_open ON transactions (type, transaction_id) WHERE status IN ('pending', 'processing');
