import { Window as DomWindow } from 'happy-dom';
import { createBridge, type BridgeOptions, type Envelope, type ExtensionBridge } from '../../sdk/iframe/index.ts';

export const hostOrigin = 'http://host.test';
export const runnerOrigin = 'http://runner.test';

/**
 * An extension UI frame (happy-dom window at the runner's origin) and its host page (another
 * window at the host's origin). Messages the frame posts to the host are collected in `sent`.
 */
export function frameWithHost(options: { query?: string; parentUrl?: string; bridge?: BridgeOptions } = {}) {
  const query = options.query ?? `?parentOrigin=${encodeURIComponent(hostOrigin)}`;
  const frame = new DomWindow({ url: `${runnerOrigin}/ext-ui/com.example.kv/sha256-abc/index.html${query}` });
  const parent = new DomWindow({ url: options.parentUrl ?? `${hostOrigin}/ext/com.example.kv` });
  const sent: Envelope[] = [];
  const waiters: Array<() => void> = [];
  parent.addEventListener('message', (event) => {
    sent.push((event as unknown as MessageEvent).data as Envelope);
    waiters.splice(0).forEach((wake) => wake());
  });

  const makeBridge = (extra: BridgeOptions = {}): ExtensionBridge =>
    createBridge({
      window: frame as unknown as Window,
      parent: parent as unknown as Window,
      timeoutMs: 300,
      ...options.bridge,
      ...extra,
    });

  /** Delivers `data` to the frame as the browser would, with the given origin and source. */
  const deliver = (data: unknown, from: { origin?: string; source?: unknown } = {}) => {
    const event = new frame.MessageEvent('message', {
      data,
      origin: from.origin ?? hostOrigin,
      source: ('source' in from ? from.source : parent) as never,
    });
    frame.dispatchEvent(event);
  };

  /** Resolves with the next envelope the frame posts to the host (or one already waiting). */
  const nextSent = async (index: number): Promise<Envelope> => {
    while (sent.length <= index) await new Promise<void>((wake) => waiters.push(wake));
    return sent[index];
  };

  const close = async () => {
    await frame.happyDOM.close();
    await parent.happyDOM.close();
  };

  return { frame, parent, sent, makeBridge, deliver, nextSent, close };
}
