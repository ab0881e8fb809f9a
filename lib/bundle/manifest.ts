import AjvModule, { type ErrorObject } from 'ajv';
import semver from 'semver';
import { AlgaError } from '../errors/index.ts';
import { isValidPathPattern } from '../../sdk/runtime/path-pattern.ts';
import { capabilities, type Capability } from './capabilities.ts';
import { parseEgressEntry } from './egress.ts';

/** Manifest v2: what an extension is, what it may use and what it serves. */
export interface Manifest {
  name: string;
  publisher: string;
  version: string;
  runtime: 'wasm-js@1';
  displayName?: string;
  description?: string;
  capabilities: Capability[];
  api?: {
    endpoints: { method: HttpMethod; path: string }[];
    /** Origins (`https://login.example.com`) a `Location` the extension answers may point to, besides its own API. */
    redirectOrigins?: string[];
  };
  ui?: {
    iframe?: { entry: string };
    hooks?: { type: 'menu' | 'tab' | 'placeholder'; label: string; path: string }[];
  };
  egress?: string[];
  limits?: { memoryMb?: number; timeoutMs?: number };
  configSchema?: Record<string, unknown>;
  /** Secrets the extension reads with `secrets.get(name)`, so the console can show which are set. */
  secrets?: { name: string; description?: string }[];
  /** `ui/<path>` → `sha256:<hex>`, filled in by pack. */
  assets?: Record<string, string>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

const relativeFilePath = '^(?!/)(?!.*(^|/)\\.\\.?(/|$))(?!.*//)[^\\\\\\u0000-\\u001f]+$';

/** The one JSON schema of manifest v2. */
export const manifestSchema = {
  $id: 'https://alga.dev/schemas/manifest-v2.json',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'publisher', 'version', 'runtime', 'capabilities'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', maxLength: 128, format: 'reverse-dns' },
    publisher: { type: 'string', minLength: 1, maxLength: 64, format: 'publisher' },
    version: { type: 'string', maxLength: 64, format: 'semver' },
    runtime: { const: 'wasm-js@1' },
    displayName: { type: 'string', maxLength: 128 },
    description: { type: 'string', maxLength: 2000 },
    capabilities: { type: 'array', uniqueItems: true, items: { enum: [...capabilities] } },
    api: {
      type: 'object',
      additionalProperties: false,
      required: ['endpoints'],
      properties: {
        endpoints: {
          type: 'array',
          maxItems: 500,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['method', 'path'],
            properties: {
              method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] },
              path: { type: 'string', maxLength: 512, format: 'route-path' },
            },
          },
        },
        redirectOrigins: { type: 'array', uniqueItems: true, maxItems: 20, items: { type: 'string', maxLength: 255, format: 'redirect-origin' } },
      },
    },
    ui: {
      type: 'object',
      additionalProperties: false,
      properties: {
        iframe: {
          type: 'object',
          additionalProperties: false,
          required: ['entry'],
          properties: { entry: { type: 'string', maxLength: 255, pattern: relativeFilePath } },
        },
        hooks: {
          type: 'array',
          maxItems: 50,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'label', 'path'],
            properties: {
              type: { enum: ['menu', 'tab', 'placeholder'] },
              label: { type: 'string', minLength: 1, maxLength: 64 },
              path: { type: 'string', maxLength: 512, format: 'route-path' },
            },
          },
        },
      },
    },
    egress: { type: 'array', uniqueItems: true, maxItems: 100, items: { type: 'string', format: 'egress-host' } },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        memoryMb: { type: 'integer', minimum: 1, maximum: 4096 },
        timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
      },
    },
    configSchema: { type: 'object', isJsonSchema: true },
    secrets: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$' },
          description: { type: 'string', maxLength: 500 },
        },
      },
    },
    assets: {
      type: 'object',
      propertyNames: { pattern: '^ui/', maxLength: 255 },
      additionalProperties: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    },
  },
} as const;

const formatDescriptions: Record<string, string> = {
  'reverse-dns': 'reverse-DNS name such as com.example.hello',
  publisher: 'publisher id (letters, digits, ".", "_" or "-")',
  semver: 'semver',
  'route-path': 'path pattern such as /items/:id or /files/* (starting with "/", no empty segments, "*" only last)',
  'egress-host': 'host name, "*." and a domain, IPv4 address or [IPv6] address, each optionally with ":port" (1–65535)',
  'redirect-origin': 'origin such as https://login.example.com (https, or http only for localhost and 127.0.0.1; no path)',
};

const Ajv = AjvModule.default ?? AjvModule;
const schemaChecker = new Ajv({ allErrors: false, strict: false });

const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addFormat('reverse-dns', /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/);
ajv.addFormat('publisher', /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
ajv.addFormat('semver', (value: string) => semver.valid(value) === value);
ajv.addFormat('route-path', (value: string) => /^\/[^\s?#]*$/.test(value) && isValidPathPattern(value));
ajv.addFormat('egress-host', (value: string) => parseEgressEntry(value) !== undefined);
ajv.addFormat('redirect-origin', isRedirectOrigin);
ajv.addKeyword({
  keyword: 'isJsonSchema',
  type: 'object',
  schemaType: 'boolean',
  validate: (_flag: boolean, value: object) => schemaChecker.validateSchema(value) === true,
});
const validate = ajv.compile(manifestSchema);

/** An exact https origin, or an http one on loopback (for development). */
function isRedirectOrigin(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.origin !== value) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'));
}

/** Validates a parsed manifest; throws E_MANIFEST_INVALID naming every bad field and why. */
export function validateManifest(value: unknown): Manifest {
  if (validate(value)) return value as unknown as Manifest;
  const problems = (validate.errors ?? []).map(describeError);
  throw new AlgaError('E_MANIFEST_INVALID', [...new Set(problems)].join('; '));
}

/** Parses and validates manifest.json bytes or text. */
export function parseManifest(source: Uint8Array | string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(typeof source === 'string' ? source : new TextDecoder('utf-8', { fatal: true }).decode(source));
  } catch (error) {
    throw new AlgaError('E_MANIFEST_INVALID', `manifest.json is not JSON: ${(error as Error).message}`);
  }
  return validateManifest(value);
}

/** The canonical manifest.json bytes stored in a bundle. */
export function serializeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}

function describeError(error: ErrorObject): string {
  const path = error.instancePath || '';
  switch (error.keyword) {
    case 'required':
      return `${path}/${(error.params as { missingProperty: string }).missingProperty}: is required`;
    case 'additionalProperties':
      return `${path}/${(error.params as { additionalProperty: string }).additionalProperty}: is not a known field`;
    case 'format': {
      const format = (error.params as { format: string }).format;
      return `${path || '/'}: must be a ${formatDescriptions[format] ?? format}`;
    }
    case 'enum':
      return `${path || '/'}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'isJsonSchema':
      return `${path || '/'}: must be a valid JSON schema (${schemaChecker.errorsText(schemaChecker.errors)})`;
    case 'const':
      return `${path || '/'}: must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    default:
      return `${path || '/'}: ${error.message ?? 'is invalid'}`;
  }
}
