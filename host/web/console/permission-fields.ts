import { html, type RawHtml } from '../html.ts';
import { badge } from './chrome.ts';
import { capabilityDetail, capabilityTitle, egressDetail } from './permission-text.ts';

/**
 * The consent fields: one checkbox per capability and per egress entry the version asks for.
 * Nothing is pre-ticked that the install does not grant already; what is new since the installed
 * version is marked, so an admin sees exactly what an upgrade adds.
 */
export interface PermissionChoice {
  value: string;
  checked: boolean;
  /** `new`: not asked for by the installed version (or a new install); `declined`: asked before, not granted. */
  tag?: 'new' | 'declined';
}

const tagBadge = (tag: PermissionChoice['tag']) => (tag === 'new' ? badge('new', 'warn') : tag === 'declined' ? badge('not granted before', 'info') : '');

export function capabilityFields(choices: PermissionChoice[], idPrefix: string): RawHtml {
  if (choices.length === 0) return html`<fieldset class="permissions" id="${idPrefix}-capabilities"><legend>Capabilities</legend><p class="muted">This version asks for no host capabilities.</p></fieldset>`;
  return html`<fieldset class="permissions" id="${idPrefix}-capabilities">
  <legend>Capabilities this version asks for</legend>
  <p class="hint">Tick what you allow. Calls that need a capability you do not allow are refused and show as "denied" in the execution log.</p>
  ${choices.map((choice) => {
    const id = `${idPrefix}-grant-${choice.value.replace(/[^a-z0-9]/gi, '-')}`;
    return html`<div class="choice">
    <input type="checkbox" id="${id}" name="grants" value="${choice.value}" aria-describedby="${id}-detail"${choice.checked ? html` checked` : ''}>
    <label for="${id}"><strong>${capabilityTitle(choice.value)}</strong> <code>${choice.value}</code> ${tagBadge(choice.tag)}</label>
    <p class="hint" id="${id}-detail">${capabilityDetail(choice.value)}</p>
  </div>`;
  })}
</fieldset>`;
}

export function egressFields(choices: PermissionChoice[], extraHosts: string[], idPrefix: string): RawHtml {
  if (choices.length === 0) return html`<fieldset class="permissions" id="${idPrefix}-egress"><legend>Network access</legend><p class="muted">This version asks to reach no hosts on the network.</p></fieldset>`;
  const hasWildcard = choices.some((choice) => choice.value.startsWith('*.'));
  return html`<fieldset class="permissions" id="${idPrefix}-egress">
  <legend>Network access this version asks for</legend>
  <p class="hint">Tick the hosts it may send requests to. It can never reach other hosts.</p>
  ${choices.map((choice) => {
    const id = `${idPrefix}-egress-${choice.value.replace(/[^a-z0-9]/gi, '-')}`;
    return html`<div class="choice">
    <input type="checkbox" id="${id}" name="egress" value="${choice.value}"${choice.checked ? html` checked` : ''}>
    <label for="${id}"><code>${choice.value}</code> <span class="muted">${egressDetail(choice.value)}</span> ${tagBadge(choice.tag)}</label>
  </div>`;
  })}
  ${hasWildcard || extraHosts.length > 0
    ? html`<div class="field">
    <label for="${idPrefix}-egress-hosts">Or only these hosts under a wildcard entry (one per line)</label>
    <textarea id="${idPrefix}-egress-hosts" name="egressHosts" rows="2" spellcheck="false">${extraHosts.join('\n')}</textarea>
  </div>`
    : ''}
</fieldset>`;
}
