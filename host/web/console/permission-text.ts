/**
 * What each capability lets an extension do, in the words a tenant admin reads before granting it
 * (the console's consent pages). The WIT interfaces define what the calls are; this says what they mean.
 */
const capabilityText: Record<string, { title: string; detail: string }> = {
  'alga.storage': { title: 'Store data', detail: "Keep data in a key-value store private to this install (your tenant's data only)." },
  'alga.http': { title: 'Connect to the internet', detail: 'Send HTTP requests to the hosts allowed under network access below, and to no others.' },
  'alga.secrets': { title: 'Read its secrets', detail: 'Read the secret values you set on this install (API keys, passwords).' },
  'alga.log': { title: 'Write logs', detail: 'Write log lines that appear in the debug stream.' },
  'alga.metrics': { title: 'Record metrics', detail: 'Record counters and measurements about its own work.' },
  'alga.ui_proxy': { title: 'Read install and tenant details', detail: "Ask the host for this install's settings (never secret values), your tenant's name and the extension's versions." },
};

export function capabilityTitle(capability: string): string {
  return capabilityText[capability]?.title ?? capability;
}

export function capabilityDetail(capability: string): string {
  return capabilityText[capability]?.detail ?? 'A host capability this console does not describe.';
}

export function egressDetail(entry: string): string {
  return entry.startsWith('*.') ? `any host under ${entry.slice(2)}` : `the host ${entry}`;
}
