-- The audit trail is append-only: PostgreSQL refuses every UPDATE and DELETE of a row, whoever
-- issues it (ORM .update(), raw SQL, psql). TRUNCATE (a whole-table reset, e.g. the test
-- runner's flush) is an explicit DBA action and is not blocked here; revoke it from the
-- application role in production.
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% of event % refused)', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
