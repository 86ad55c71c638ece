-- Ledger invariants enforced by PostgreSQL itself (the Python services check first for a
-- readable error; these rules hold even for code that bypasses them: .update(), raw SQL, psql).

-- 1. Entries are append-only: never updated, never deleted.
CREATE OR REPLACE FUNCTION ledger_entry_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (% on entry %)', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_ledgerentry;
CREATE TRIGGER ledger_entry_immutable
    BEFORE UPDATE OR DELETE ON ledger_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_immutable();

-- 2. Transactions: never deleted; once out of pending, never changed; while pending only the
--    status (to posted/voided/failed), its timestamps, reference and metadata may change.
CREATE OR REPLACE FUNCTION ledger_transaction_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger transactions cannot be deleted (transaction %)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'ledger transaction % is % and can no longer change', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status NOT IN ('pending', 'posted', 'voided', 'failed') THEN
        RAISE EXCEPTION 'invalid status % for transaction %', NEW.status, OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id <> OLD.id OR NEW.public_id <> OLD.public_id OR NEW.type <> OLD.type
       OR NEW.currency <> OLD.currency OR NEW.amount <> OLD.amount
       OR NEW.debit_wallet_id <> OLD.debit_wallet_id OR NEW.credit_wallet_id <> OLD.credit_wallet_id
       OR NEW.created_at <> OLD.created_at
       OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id
       OR NEW.initiated_by_id IS DISTINCT FROM OLD.initiated_by_id THEN
        RAISE EXCEPTION 'only the status of pending transaction % may change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS ledger_transaction_guard ON ledger_ledgertransaction;
CREATE TRIGGER ledger_transaction_guard
    BEFORE UPDATE OR DELETE ON ledger_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_guard();

-- 3. Double entry, checked at COMMIT (deferred): the entries of a transaction belong to a posted
--    transaction, are in its currency and in their wallet's currency, and net to zero per
--    currency; a posted transaction has entries.
CREATE OR REPLACE FUNCTION ledger_check_transaction_balanced(txn_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    txn_status text;
    txn_currency text;
    n_entries integer;
    n_bad_currency integer;
    unbalanced text;
BEGIN
    SELECT status, currency INTO txn_status, txn_currency FROM ledger_ledgertransaction WHERE id = txn_id;
    SELECT count(*),
           count(*) FILTER (WHERE e.currency <> txn_currency OR w.currency <> e.currency)
      INTO n_entries, n_bad_currency
      FROM ledger_ledgerentry e JOIN wallets_wallet w ON w.id = e.wallet_id
     WHERE e.transaction_id = txn_id;
    IF n_entries > 0 AND txn_status <> 'posted' THEN
        RAISE EXCEPTION 'transaction % has entries but is %', txn_id, txn_status
            USING ERRCODE = 'check_violation';
    END IF;
    IF txn_status = 'posted' AND n_entries < 2 THEN
        RAISE EXCEPTION 'posted transaction % has % entries', txn_id, n_entries
            USING ERRCODE = 'check_violation';
    END IF;
    IF n_bad_currency > 0 THEN
        RAISE EXCEPTION 'transaction % has entries in a foreign currency', txn_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(currency || ' ' || total::text, ', ') INTO unbalanced FROM (
        SELECT currency, sum(CASE direction WHEN 'credit' THEN amount ELSE -amount END) AS total
          FROM ledger_ledgerentry WHERE transaction_id = txn_id GROUP BY currency
    ) sums WHERE total <> 0;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % does not balance: %', txn_id, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_transaction_balanced(NEW.transaction_id);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_ledgerentry;
CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_transaction_balanced(NEW.id);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_ledgertransaction;
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT OR UPDATE ON ledger_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'posted')
    EXECUTE FUNCTION ledger_transaction_balanced();
