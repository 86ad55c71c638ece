DROP TRIGGER IF EXISTS ledger_approval_guard ON ledger_approvalrequest;
DROP FUNCTION IF EXISTS ledger_approval_guard();
