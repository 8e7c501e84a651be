import { Model } from 'objection';

/** Base of every model; column names are mapped to camelCase by the knex instance (lib/db.ts). */
export class BaseModel extends Model {}
