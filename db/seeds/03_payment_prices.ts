import type { Knex } from 'knex';

/** Demo prices with fixed ids, so seeding twice changes nothing and a price finance changed stays changed. */
export const DEMO_PRICES = [
  { id: '5b0e6a8e-1c1f-4c3e-9a51-0d6f1c2a7b01', description: 'Course: Foundations (monthly)', amountCents: 1900, currency: 'usd' },
  { id: '5b0e6a8e-1c1f-4c3e-9a51-0d6f1c2a7b02', description: 'Course: Foundations (yearly)', amountCents: 19000, currency: 'usd' },
  { id: '5b0e6a8e-1c1f-4c3e-9a51-0d6f1c2a7b03', description: 'Workshop seat', amountCents: 4500, currency: 'eur' },
  { id: '5b0e6a8e-1c1f-4c3e-9a51-0d6f1c2a7b04', description: 'Certificate exam', amountCents: 7500, currency: 'gbp' },
] as const;

export async function seed(knex: Knex): Promise<void> {
  await knex('payment_prices')
    .insert(DEMO_PRICES.map((p) => ({ ...p, active: true })))
    .onConflict('id')
    .ignore();
}
