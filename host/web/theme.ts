import type { ThemeTokens } from '../../sdk/iframe/envelope.ts';

/** The host's theme, as the tokens the host page uses itself and sends to extension UIs. */
export const themes: Record<'light' | 'dark', ThemeTokens> = {
  light: {
    'font-family': 'system-ui, -apple-system, "Segoe UI", sans-serif',
    background: '#ffffff',
    foreground: '#111827',
    muted: '#6b7280',
    border: '#e5e7eb',
    primary: '#1e40af',
    'primary-foreground': '#ffffff',
    danger: '#b91c1c',
    radius: '6px',
  },
  dark: {
    'font-family': 'system-ui, -apple-system, "Segoe UI", sans-serif',
    background: '#111827',
    foreground: '#f9fafb',
    muted: '#9ca3af',
    border: '#374151',
    primary: '#60a5fa',
    'primary-foreground': '#111827',
    danger: '#f87171',
    radius: '6px',
  },
};
