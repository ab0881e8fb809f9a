import type { BootstrapPayload, ThemeTokens } from '../../../sdk/iframe/envelope.ts';

/** What the server puts in `<script type="application/json" id="alga-page-config">` on an extension page. */
export interface ExtensionPageConfig {
  extensionId: string;
  frame: { src: string; sandbox: string; origin: string; title: string };
  bootstrap: BootstrapPayload;
  themes: Record<'light' | 'dark', ThemeTokens>;
}

export const pageConfigElementId = 'alga-page-config';

/** What the server puts on the live debug page. */
export interface DebugPageConfig {
  extensionId: string;
  /** For operators without a tenant: the tenant to debug. */
  tenantId?: string;
}
