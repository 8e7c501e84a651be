import Ajv, { type ErrorObject, type FormatDefinition, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import type { TSchema } from '@sinclair/typebox';
import { isDateTime } from './dateTime';
import { badRequest, type ErrorDetail } from './errors';

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, strict: false });
  addFormats(ajv);
  // The same check, faster (see lib/dateTime.ts); comparisons stay ajv-formats' own.
  const { compare } = fullFormats['date-time'] as FormatDefinition<string>;
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime, compare });
  return ajv;
}

// Query strings and path parameters are text, so they are coerced; JSON bodies are not.
const coercing = makeAjv(true);
const strict = makeAjv(false);

export type Validator = (value: unknown) => void;

function toDetails(errors: ErrorObject[] | null | undefined, where: string): ErrorDetail[] {
  return (errors ?? []).map((e) => {
    const extra = e.params as { additionalProperty?: string; missingProperty?: string };
    const field = extra.additionalProperty ?? extra.missingProperty;
    const path = `${where}${e.instancePath}${field ? `/${field}` : ''}`;
    const message = extra.additionalProperty ? 'is not allowed' : (e.message ?? 'is invalid');
    return { path, message };
  });
}

/** Compiles a schema once; the validator throws a 400 envelope naming every problem. */
export function compileValidator(schema: TSchema, where: 'body' | 'query' | 'params'): Validator {
  const validate: ValidateFunction = (where === 'body' ? strict : coercing).compile(schema);
  return (value) => {
    if (!validate(value)) {
      throw badRequest('VALIDATION_FAILED', `the request ${where} is invalid`, toDetails(validate.errors, where));
    }
  };
}
