import { AjvCompiler, type BuildCompilerFromPool, type RouteDefinition } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

const common = { removeAdditional: false, useDefaults: true, allErrors: false } as const;

/**
 * Two validators: bodies are checked exactly as sent (a number where a string belongs is a 400,
 * not silently converted), while query strings, params and headers, which are text on the wire,
 * are coerced to the schema's types.
 */
const buildValidator = ((externalSchemas: Parameters<BuildCompilerFromPool>[0], options?: { plugins?: [] }) => {
  const factory = AjvCompiler();
  const plugins = options?.plugins ?? [];
  const strict = factory(externalSchemas, { customOptions: { ...common, coerceTypes: false }, plugins });
  const coercing = factory(externalSchemas, { customOptions: { ...common, coerceTypes: 'array' }, plugins });
  return (route: RouteDefinition) => {
    // HttpParts is declared as an enum but not exported at run time: compare its string value.
    const part: string = route.httpPart;
    return part === 'body' ? strict(route) : finiteOnly(coercing(route) as Validate);
  };
}) as BuildCompilerFromPool;

type ValidationError = { instancePath: string; schemaPath: string; keyword: string; params: object; message: string };
type Validate = ((data: unknown) => boolean) & { errors?: ValidationError[] | null };

/**
 * ajv coerces "1e999" or "Infinity" to a non-finite number and then skips minimum and maximum for
 * it (ajv compares finite numbers only), so `?limit=1e999` would reach the database as Infinity:
 * after a coercing validation, a non-finite number in a value (or in an array of values) is refused.
 */
function finiteOnly(validate: Validate): Validate {
  const checked: Validate = (data) => {
    if (!validate(data)) {
      checked.errors = validate.errors ?? null;
      return false;
    }
    const values = data !== null && typeof data === 'object' ? Object.entries(data as Record<string, unknown>) : [];
    const [name] = values.find(([, value]) => [value].flat().some((v) => typeof v === 'number' && !Number.isFinite(v))) ?? [];
    checked.errors =
      name === undefined
        ? null
        : [{ instancePath: `/${name}`, schemaPath: '', keyword: 'type', params: {}, message: 'must be a finite number' }];
    return name === undefined;
  };
  return checked;
}

export const schemaController: FastifyServerOptions['schemaController'] = { compilersFactory: { buildValidator } };
