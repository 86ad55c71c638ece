DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_ledgertransaction;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_ledgerentry;
DROP TRIGGER IF EXISTS ledger_transaction_guard ON ledger_ledgertransaction;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_ledgerentry;
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
DROP FUNCTION IF EXISTS ledger_entry_balanced();
DROP FUNCTION IF EXISTS ledger_check_transaction_balanced(bigint);
DROP FUNCTION IF EXISTS ledger_transaction_guard();
DROP FUNCTION IF EXISTS ledger_entry_immutable();
