-- Approval requests (maker-checker) are records of decisions: never deleted, and once approved
-- or rejected never changed again. A pending request may only move to approved/rejected.
CREATE OR REPLACE FUNCTION ledger_approval_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'approval requests cannot be deleted (request %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'approval request % is already %; it cannot change', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.kind <> OLD.kind OR NEW.wallet_id IS DISTINCT FROM OLD.wallet_id OR NEW.direction <> OLD.direction
       OR NEW.original_id IS DISTINCT FROM OLD.original_id OR NEW.currency <> OLD.currency
       OR NEW.amount <> OLD.amount OR NEW.reason <> OLD.reason OR NEW.proposed_by_id <> OLD.proposed_by_id
       OR NEW.proposed_at <> OLD.proposed_at OR NEW.public_id <> OLD.public_id THEN
        RAISE EXCEPTION 'approval request % : only its decision may be recorded', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_approval_guard
    BEFORE UPDATE OR DELETE ON ledger_approvalrequest
    FOR EACH ROW EXECUTE FUNCTION ledger_approval_guard();
