import type { Knex } from 'knex';

/**
 * The insert-only trigger of audit_events: only a pending outcome may change, once; `deletable`
 * names the rows a delete may remove, if any.
 */
const insertOnly = (deletable: string | null, refusal: string) => `
  CREATE OR REPLACE FUNCTION audit_events_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' AND OLD.outcome = 'pending'
       AND (to_jsonb(NEW) - 'outcome') = (to_jsonb(OLD) - 'outcome') THEN
      RETURN NEW;
    END IF;
    ${deletable ? `IF TG_OP = 'DELETE' AND ${deletable} THEN RETURN OLD; END IF;` : ''}
    RAISE EXCEPTION '${refusal}';
  END $$`;

/** audit_events become a retention entity (SPEC §5, 730 days by default): rows older than 90 days may be deleted. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    insertOnly(
      `OLD.at < now() - interval '90 days'`,
      'audit_events are insert-only (only a pending outcome is settled, only rows older than 90 days are deleted)',
    ),
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(insertOnly(null, 'audit_events are insert-only (only a pending outcome is settled)'));
}
