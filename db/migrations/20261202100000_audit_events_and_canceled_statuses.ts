import type { Knex } from 'knex';

/**
 * The audit trail of privileged actions (insert-only but for its outcome, which a
 * pending row settles once), and the `canceled` statuses a canceled run records.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('actor_sub').notNullable();
    t.specificType('actor_roles', 'text[]').notNullable();
    t.text('action').notNullable();
    t.text('target').notNullable();
    t.text('reason');
    t.jsonb('before');
    t.jsonb('after');
    t.text('outcome').notNullable().checkIn(['pending', 'succeeded', 'failed'], 'audit_events_outcome_check');
    t.text('request_id');
    t.index(['action', 'id'], 'audit_events_action_idx');
    t.index(['target', 'id'], 'audit_events_target_idx');
    t.index(['actor_sub', 'id'], 'audit_events_actor_idx');
  });
  // Only a pending outcome may change, once; nothing else is ever updated or deleted.
  await knex.raw(`
    CREATE FUNCTION audit_events_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.outcome = 'pending'
         AND (to_jsonb(NEW) - 'outcome') = (to_jsonb(OLD) - 'outcome') THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'audit_events are insert-only (only a pending outcome is settled)';
    END $$`);
  await knex.raw(`
    CREATE TRIGGER audit_events_insert_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_insert_only()`);

  await replaceCheck(knex, 'refunds', 'refunds_status_check', ['pending', 'succeeded', 'failed', 'canceled']);
  await replaceCheck(knex, 'retention_runs', 'retention_runs_status_check', ['running', 'completed', 'failed', 'canceled']);
}

export async function down(knex: Knex): Promise<void> {
  await replaceCheck(knex, 'retention_runs', 'retention_runs_status_check', ['running', 'completed', 'failed']);
  await replaceCheck(knex, 'refunds', 'refunds_status_check', ['pending', 'succeeded', 'failed']);
  await knex.schema.dropTable('audit_events');
  await knex.raw('DROP FUNCTION audit_events_insert_only()');
}

async function replaceCheck(knex: Knex, table: string, name: string, values: string[]): Promise<void> {
  const list = values.map((v) => `'${v}'`).join(', ');
  await knex.raw(`ALTER TABLE ?? DROP CONSTRAINT ??`, [table, name]);
  await knex.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? CHECK (status IN (${list}))`, [table, name]);
}
