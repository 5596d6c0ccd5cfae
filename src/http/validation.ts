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
    return part === 'body' ? strict(route) : coercing(route);
  };
}) as BuildCompilerFromPool;

export const schemaController: FastifyServerOptions['schemaController'] = { compilersFactory: { buildValidator } };
