import { BridgeError } from './errors.ts';
import { parseOrigin } from './origin.ts';

/** The query parameter the host puts on the iframe src to name its own origin. */
export const PARENT_ORIGIN_PARAM = 'parentOrigin';

/**
 * The origin of the host page embedding this frame: `explicit` or the `parentOrigin` query
 * parameter, checked against what the browser itself reports (`location.ancestorOrigins`)
 * when it reports anything. Throws when there is no valid origin or the two disagree.
 */
export function resolveParentOrigin(win: Window, explicit?: string): string {
  const requested = explicit ?? new URL(win.location.href).searchParams.get(PARENT_ORIGIN_PARAM);
  const reported = browserReportedParentOrigin(win);
  if (requested === null || requested === undefined) {
    if (reported) return reported;
    throw new BridgeError('E_BRIDGE_PARENT_ORIGIN', `No parent origin: the host sets ?${PARENT_ORIGIN_PARAM}= on the iframe src.`);
  }
  const origin = parseOrigin(requested);
  if (!origin) throw new BridgeError('E_BRIDGE_PARENT_ORIGIN', `"${requested}" is not an http(s) origin.`);
  if (reported && reported !== origin) {
    throw new BridgeError('E_BRIDGE_PARENT_ORIGIN', `The frame is embedded by ${reported}, not ${origin}.`);
  }
  return origin;
}

function browserReportedParentOrigin(win: Window): string | null {
  const ancestors = (win.location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  if (ancestors && ancestors.length > 0) return parseOrigin(ancestors[0]);
  return null;
}
