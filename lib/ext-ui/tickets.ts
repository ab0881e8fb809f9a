import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signed part of an extension UI URL, `/ext-ui/{extensionId}/{contentHash}/{ticket}/{file}`.
 * The host mints it for a signed-in user's page; the runner serves the bundle's `ui/` files only
 * with a valid, unexpired ticket, only for that extension and content hash, only at the install's
 * own origin (docs/ui.md, "Who may load a UI").
 */
export interface UiTicket {
  tenantId: string;
  installId: string;
  /** The host page origin that may frame the UI (`frame-ancestors`). */
  parentOrigin: string;
  /** Unix seconds. */
  expiresAt: number;
}

/** Tickets stay the same for a window of this length, so browsers can cache the files… */
const windowSeconds = 6 * 60 * 60;
/** …and are good for 6–12 hours: longer than a page is usually open, shorter than a session. */
const windowsValid = 2;

/** The key host and runner share for tickets, derived from the runner service token (rotated with it). */
export function uiTicketKey(runnerServiceToken: string): Buffer {
  return createHmac('sha256', runnerServiceToken).update('alga ext-ui ticket key v1').digest();
}

function mac(key: Buffer, extensionId: string, contentHash: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`v1\0${extensionId}\0${contentHash}\0${payload}`).digest();
}

export function mintUiTicket(key: Buffer, input: { extensionId: string; contentHash: string; tenantId: string; installId: string; parentOrigin: string }, nowMs = Date.now()): string {
  const expiresAt = (Math.floor(nowMs / 1000 / windowSeconds) + windowsValid) * windowSeconds;
  const payload = Buffer.from(JSON.stringify({ t: input.tenantId, i: input.installId, o: input.parentOrigin, x: expiresAt })).toString('base64url');
  return `${payload}.${mac(key, input.extensionId, input.contentHash, payload).toString('base64url')}`;
}

/** The ticket when it is intact and was minted for this extension and content hash; `expired` when it was but is too old. */
export function readUiTicket(key: Buffer, ticket: string, extensionId: string, contentHash: string, nowMs = Date.now()): UiTicket | 'expired' | undefined {
  const [payload, signature, extra] = ticket.split('.');
  if (!payload || !signature || extra !== undefined || ticket.length > 2048) return undefined;
  // Compared as text: base64 decoding skips stray characters, and one ticket has one spelling.
  const expected = Buffer.from(mac(key, extensionId, contentHash, payload).toString('base64url'));
  const presented = Buffer.from(signature);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
  let fields: { t?: unknown; i?: unknown; o?: unknown; x?: unknown };
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof fields.t !== 'string' || typeof fields.i !== 'string' || typeof fields.o !== 'string' || typeof fields.x !== 'number') return undefined;
  if (fields.x * 1000 <= nowMs) return 'expired';
  return { tenantId: fields.t, installId: fields.i, parentOrigin: fields.o, expiresAt: fields.x };
}
