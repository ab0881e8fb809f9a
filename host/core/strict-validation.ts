import AjvModule from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const Ajv = AjvModule.default ?? AjvModule;
const ajv = new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });

/**
 * A validator for an encapsulated context that refuses what fastify's default quietly fixes:
 * no type coercion, no silently dropped properties. `app.setValidatorCompiler(strictValidatorCompiler)`.
 */
export const strictValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => {
  const validate = ajv.compile(schema as object);
  return (data: unknown) => (validate(data) ? { value: data } : { error: new Error(ajv.errorsText(validate.errors, { dataVar: 'body' })) });
};
