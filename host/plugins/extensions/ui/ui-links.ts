import { defaultUiOriginTemplate, parseUiOriginTemplate, uiOriginLabel } from '../../../../lib/ext-ui/origins.ts';
import { mintUiTicket, uiTicketKey } from '../../../../lib/ext-ui/tickets.ts';
import { extensionFrame, type ExtensionFrame } from '../../../web/frame.ts';

export interface UiLinkSettings {
  /** RUNNER_UI_ORIGIN, when set. */
  uiOrigin?: string;
  /** Where browsers reach the runner (RUNNER_PUBLIC_BASE or its URL); undefined while it starts. */
  runnerPublicBase(): string | undefined;
  runnerServiceToken: string;
}

export type UiFrameAnswer = { frame: ExtensionFrame } | { unavailable: 'starting' | 'no-origin' };

/**
 * The iframe for one install's UI on a signed-in user's page: at the install's own origin, with a
 * ticket signed for that install, content hash and host page origin (docs/ui.md).
 */
export function uiFrames(settings: UiLinkSettings) {
  const key = uiTicketKey(settings.runnerServiceToken);
  return (input: { tenantId: string; installId: string; extensionId: string; contentHash: string; entry: string; hostOrigin: string }): UiFrameAnswer => {
    const publicBase = settings.runnerPublicBase();
    if (!settings.uiOrigin && !publicBase) return { unavailable: 'starting' };
    const text = settings.uiOrigin ?? defaultUiOriginTemplate(publicBase);
    const template = text ? parseUiOriginTemplate(text) : undefined;
    if (!template || typeof template === 'string') return { unavailable: 'no-origin' };
    const label = uiOriginLabel(input);
    const ticket = mintUiTicket(key, { extensionId: input.extensionId, contentHash: input.contentHash, tenantId: input.tenantId, installId: input.installId, parentOrigin: input.hostOrigin });
    return { frame: extensionFrame({ uiBase: template.base(label), hostOrigin: input.hostOrigin, extensionId: input.extensionId, contentHash: input.contentHash, ticket, entry: input.entry }) };
  };
}
