import type { ExecutionRecord } from './execution-log.ts';

/** The execution figures a runner answer carries (`execution`), as far as the execution log uses them. */
export interface RunnerExecutionFigures {
  duration_ms?: unknown;
  memory_bytes?: unknown;
  egress_bytes?: unknown;
  denials?: unknown;
  denials_dropped?: unknown;
}

/** Kept small: every row is stored for days (the rest are counted in denialsDropped). */
const maxListed = 5;
/** Guest-side failures whose runner message is the extension's own (its exception, its deadline), worth showing its tenant. */
const guestFailures = new Set(['E_RUNNER_GUEST_TRAP', 'E_RUNNER_GUEST_MEMORY', 'E_RUNNER_GUEST_INVALID_RESPONSE', 'E_RUNNER_DEADLINE']);

const clip = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);
const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined);

/** The runner's denials, checked and clipped, for the execution log row. */
export function denialsOf(figures: RunnerExecutionFigures | undefined): Pick<ExecutionRecord, 'denials' | 'denialsDropped'> {
  const listed = Array.isArray(figures?.denials) ? figures.denials : [];
  const denials = listed
    .filter((denial): denial is { capability: string; reason: string } => typeof denial?.capability === 'string' && typeof denial?.reason === 'string')
    .slice(0, maxListed)
    .map((denial) => ({ capability: clip(denial.capability, 64), reason: clip(denial.reason, 200) }));
  const dropped = (count(figures?.denials_dropped) ?? 0) + Math.max(0, listed.length - denials.length);
  return { ...(denials.length > 0 ? { denials } : {}), ...(dropped > 0 ? { denialsDropped: dropped } : {}) };
}

/**
 * The cause of a failed (or partly refused) call in words: the refused host call when there was
 * one — an extension that is denied a capability usually fails on it, and "trap" alone hides why —
 * else what the runner or the gateway knows about the failure.
 */
export function causeOf(input: {
  code?: string;
  denials?: ExecutionRecord['denials'];
  denialsDropped?: number;
  /** The runner's message for its error (only used for the guest's own failures). */
  runnerMessage?: unknown;
  /** What the gateway itself knows (quota, timeout, runner down). */
  gatewayCause?: string;
}): string | undefined {
  const [first, ...more] = input.denials ?? [];
  if (first) {
    const others = more.length + (input.denialsDropped ?? 0);
    return `denied ${first.capability}: ${first.reason}${others > 0 ? ` (and ${others} more refused host call${others === 1 ? '' : 's'})` : ''}`;
  }
  if (input.gatewayCause) return input.gatewayCause;
  if (input.code && guestFailures.has(input.code) && typeof input.runnerMessage === 'string' && input.runnerMessage !== '') {
    // The runner prefixes its sentence and "Request <id>:"; the rest is the guest's own account.
    const own = input.runnerMessage.replace(/^.*?Request [^\s:]+: /s, '');
    return clip(own, 300);
  }
  return undefined;
}
