import { AlgaError } from '../../../lib/errors/index.ts';
import { html, type RawHtml } from '../html.ts';

/**
 * The install config as form fields, from the manifest's `configSchema`: one field per top-level
 * property (text, number, checkbox, a choice for `enum`, JSON for anything else), or one JSON
 * field when the version has no schema. The same descriptors read the posted form back.
 */
export interface ConfigField {
  name: string;
  label: string;
  description?: string;
  kind: 'text' | 'number' | 'integer' | 'boolean' | 'choice' | 'json';
  required: boolean;
  choices?: string[];
}

const fieldPrefix = 'config.';
const wholeConfigField = 'config';

/** The fields for a schema; undefined when the version has no usable schema (then the config is one JSON object). */
export function configFields(schema: Record<string, unknown> | undefined): ConfigField[] | undefined {
  const properties = schema && typeof schema.properties === 'object' && schema.properties ? (schema.properties as Record<string, Record<string, unknown>>) : undefined;
  if (!properties) return undefined;
  const required = Array.isArray(schema!.required) ? (schema!.required as unknown[]) : [];
  return Object.entries(properties).map(([name, property]) => {
    const type = property?.type;
    const choices = Array.isArray(property?.enum) && property.enum.every((choice) => typeof choice === 'string') ? (property.enum as string[]) : undefined;
    const kind: ConfigField['kind'] = choices ? 'choice' : type === 'string' ? 'text' : type === 'number' ? 'number' : type === 'integer' ? 'integer' : type === 'boolean' ? 'boolean' : 'json';
    return {
      name,
      label: typeof property?.title === 'string' ? property.title : name,
      ...(typeof property?.description === 'string' ? { description: property.description } : {}),
      kind,
      required: required.includes(name),
      ...(choices ? { choices } : {}),
    };
  });
}

/** A config value as the field shows it. */
function shown(field: ConfigField, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}

export function renderConfigFields(schema: Record<string, unknown> | undefined, values: Record<string, unknown>, idPrefix: string): RawHtml {
  const fields = configFields(schema);
  if (!fields) {
    const id = `${idPrefix}-config`;
    const empty = !values || Object.keys(values).length === 0;
    return html`<p class="muted">This version declares no settings.</p>
<details${empty ? '' : html` open`}>
  <summary>Advanced: the configuration as JSON</summary>
  <div class="field">
    <label for="${id}">Configuration (a JSON object)</label>
    <textarea id="${id}" name="${wholeConfigField}" rows="4" spellcheck="false">${JSON.stringify(values ?? {}, null, 2)}</textarea>
  </div>
</details>`;
  }
  if (fields.length === 0) return html`<p class="muted">This version has no settings.</p>`;
  return html`${fields.map((field) => {
    const id = `${idPrefix}-config-${field.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const hintId = `${id}-hint`;
    const hint = field.description ? html`<p class="hint" id="${hintId}">${field.description}</p>` : '';
    const described = field.description ? html` aria-describedby="${hintId}"` : '';
    const label = html`${field.label}${field.required ? html` <span class="required">(required)</span>` : ''}`;
    const value = values?.[field.name];
    const name = fieldPrefix + field.name;
    if (field.kind === 'boolean') {
      return html`<div class="field checkbox-field"><input type="checkbox" id="${id}" name="${name}" value="true"${described}${value === true ? html` checked` : ''}> <label for="${id}">${label}</label>${hint}</div>`;
    }
    if (field.kind === 'choice') {
      return html`<div class="field"><label for="${id}">${label}</label>${hint}<select id="${id}" name="${name}"${described}${field.required ? html` required` : ''}>
  ${field.required ? '' : html`<option value="">(not set)</option>`}
  ${field.choices!.map((choice) => html`<option value="${choice}"${choice === value ? html` selected` : ''}>${choice}</option>`)}
</select></div>`;
    }
    if (field.kind === 'json') {
      return html`<div class="field"><label for="${id}">${label} <span class="muted">(JSON)</span></label>${hint}<textarea id="${id}" name="${name}" rows="4" spellcheck="false"${described}>${shown(field, value)}</textarea></div>`;
    }
    const type = field.kind === 'text' ? 'text' : 'number';
    const step = field.kind === 'integer' ? html` step="1"` : field.kind === 'number' ? html` step="any"` : '';
    return html`<div class="field"><label for="${id}">${label}</label>${hint}<input type="${type}" id="${id}" name="${name}" value="${shown(field, value)}"${step}${described}${field.required ? html` required` : ''}></div>`;
  })}`;
}

/** The config a posted form describes; the manifest's schema then validates it (with its own errors). */
export function configFromForm(schema: Record<string, unknown> | undefined, form: Record<string, unknown>): Record<string, unknown> {
  const fields = configFields(schema);
  if (!fields) {
    const text = firstValue(form[wholeConfigField]).trim();
    if (text === '') return {};
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new AlgaError('E_INSTALL_CONFIG_INVALID', 'The configuration is not valid JSON.');
    }
  }
  const config: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = firstValue(form[fieldPrefix + field.name]);
    if (field.kind === 'boolean') {
      config[field.name] = raw === 'true';
      continue;
    }
    if (raw.trim() === '') continue; // an empty field is "not set": the schema's default (if any) applies
    if (field.kind === 'number' || field.kind === 'integer') {
      const number = Number(raw);
      config[field.name] = Number.isFinite(number) ? number : raw;
    } else if (field.kind === 'json') {
      try {
        config[field.name] = JSON.parse(raw);
      } catch {
        throw new AlgaError('E_INSTALL_CONFIG_INVALID', `${field.label} is not valid JSON.`);
      }
    } else {
      config[field.name] = raw;
    }
  }
  return config;
}

/** A form field's value: formbody gives a string, or an array when a name repeats. */
export function firstValue(value: unknown): string {
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : '';
  return typeof value === 'string' ? value : '';
}

/** Every value of a repeated form field (checkbox groups). */
export function allValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return typeof value === 'string' ? [value] : [];
}
