/**
 * A small validator for the JSON Schema 2020-12 subset the OpenAPI document uses: `$ref` (local),
 * `type` (a name or a list), `properties`, `required`, `additionalProperties: false`, `items`,
 * `enum`, `format: date-time`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`.
 * Any other keyword is an error, so the document cannot silently use something unchecked.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$ref',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'format',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'description',
  'default',
]);

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Returns every violation (empty when `value` is valid), each prefixed with its JSON path. */
export function validate(root: Schema, schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) errors.push(`${path}: schema uses unsupported keyword "${k}"`);

  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    if (!ref.startsWith('#/')) return [...errors, `${path}: only local $ref supported, got ${ref}`];
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) target = (target as Record<string, unknown> | undefined)?.[part];
    if (!target || typeof target !== 'object') return [...errors, `${path}: dangling $ref ${ref}`];
    return [...errors, ...validate(root, target as Schema, value, path)];
  }

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [...errors, `${path}: expected ${types.join(' or ')}, got ${t}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.format === 'date-time' && !(ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)))) errors.push(`${path}: "${value}" is not a date-time`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: below minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${path}: above maximum ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(root, schema.items as Schema, v, `${path}[${i}]`)));
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${path}: missing required "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validate(root, props[k], v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property "${k}"`);
    }
  }
  return errors;
}

/**
 * The response schema the document declares for `method path -> status` (JSON body), where
 * `path` is a concrete request path under the server URL (`/v1/workloads/x/status`).
 */
export function responseSchema(doc: Schema, method: string, path: string, status: number): Schema {
  const paths = doc.paths as Record<string, Record<string, Schema>>;
  const template = Object.keys(paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
  if (!template) throw new Error(`no path in the OpenAPI document matches ${path}`);
  const op = paths[template]![method.toLowerCase()];
  if (!op) throw new Error(`${method} ${template} is not in the OpenAPI document`);
  const res = (op.responses as Record<string, Schema>)[String(status)];
  if (!res) throw new Error(`${method} ${template} declares no ${status} response`);
  const schema = (res.content as Record<string, { schema: Schema }> | undefined)?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${template} ${status} has no application/json schema`);
  return schema;
}
