import type { Knex } from 'knex';

/**
 * audit_events become a retention entity (SPEC §5, 730 days by default): the insert-only trigger
 * now also lets a row older than 90 days be deleted, and nothing younger. Only a pending outcome
 * may still change, once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION audit_events_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.outcome = 'pending'
         AND (to_jsonb(NEW) - 'outcome') = (to_jsonb(OLD) - 'outcome') THEN
        RETURN NEW;
      END IF;
      IF TG_OP = 'DELETE' AND OLD.at < now() - interval '90 days' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events are insert-only (only a pending outcome is settled, only rows older than 90 days are deleted)';
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION audit_events_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.outcome = 'pending'
         AND (to_jsonb(NEW) - 'outcome') = (to_jsonb(OLD) - 'outcome') THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'audit_events are insert-only (only a pending outcome is settled)';
    END $$`);
}
