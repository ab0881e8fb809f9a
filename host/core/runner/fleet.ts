import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ManagedRunner } from './external.ts';
import { externalRunner } from './external.ts';
import type { RunnerHandle } from './handle.ts';
import { readRunnerHeartbeats } from '../../../lib/fleet/runner-heartbeat.ts';

/**
 * Several runners behind one handle. A call for a bundle goes to the runners in rendezvous order
 * for its content hash (highest score of hash(runner, content hash) first), so each bundle stays
 * warm on few runners and moves as little as possible when runners come and go: of the first
 * `spread` (2) in that order, the one with fewer calls in flight from this node goes first, so a
 * busy bundle uses two runners' cores. A runner that is down is skipped, and a call that could
 * not connect fails over to the next (the gateway does that, through `candidates`).
 *
 * Members come from a fixed list (`--runner URL …`) or from the runners' heartbeats in Redis.
 * Each member's /healthz is probed every `probeIntervalMs`; a member is skipped at once when a
 * call or probe is refused, after 4 unanswered probes (health.ts), or when its heartbeat expires.
 */

export interface RunnerFleet extends ManagedRunner {
  /** The available runners for `key` (a content hash), best first. Empty: none is up. */
  candidates(key: string): RunnerHandle[];
  /** Base URLs of the current members, in no order (for status and tests). */
  members(): string[];
}

/** True when `runner` routes by key (a fleet) rather than being one runner. */
export function isRunnerFleet(runner: RunnerHandle): runner is RunnerFleet {
  return typeof (runner as Partial<RunnerFleet>).candidates === 'function';
}

/**
 * The runners to try for a call, best first: a fleet's rendezvous order, or the one runner when it
 * is available. The gateway calls them in turn while a call fails without reaching the runner.
 */
export function runnersFor(runner: RunnerHandle, key: string): RunnerHandle[] {
  if (isRunnerFleet(runner)) return runner.candidates(key);
  return runner.baseUrl() && runner.isAvailable() ? [runner] : [];
}

/**
 * A call that failed before the runner received it (nothing ran): safe to send to the next runner.
 * The runner client says `unreachable` for a call it never sent (runner-client.ts); over its plain
 * HTTP fallback a connection reset is reported the same way although the request may have gone
 * out, so a reset is never taken for "not sent".
 */
export function neverReachedRunner(failure: { kind: string; message: string }): boolean {
  return failure?.kind === 'unreachable' && !/^(ECONNRESET|EPIPE)$|socket hang up/i.test(failure.message ?? '');
}

/** The rendezvous score of a runner for a key: the first 48 bits of SHA-256(runner id, key). */
export function rendezvousScore(runnerId: string, key: string): number {
  return createHash('sha256').update(runnerId).update('\u0000').update(key).digest().readUIntBE(0, 6);
}

export interface RunnerFleetOptions {
  serviceToken: string;
  /** The runners' public key, read when install secrets are sealed (a function: it changes when rotated). */
  publicKey: string | (() => string);
  /** Where browsers load extension UIs from (a load balancer in front of the runners); else a member's own URL. */
  publicBaseUrl?: string;
  /** A fixed list of runner base URLs. */
  urls?: readonly string[];
  /** Find runners by their heartbeats in Redis (lib/fleet/runner-heartbeat.ts). */
  discovery?: { redis: Redis; prefix: string; intervalMs?: number };
  probeIntervalMs?: number;
  /** How many runners at the head of a bundle's rendezvous order share its calls (2). */
  spread?: number;
  onMembersChanged?: (added: string[], removed: string[]) => void;
  /** Runs once the fleet has stopped (closes what it was given, such as the Redis client). */
  onStopped?: () => void;
}

export function runnerFleet(options: RunnerFleetOptions): RunnerFleet {
  const probeIntervalMs = options.probeIntervalMs ?? 1_000;
  const spread = Math.max(1, options.spread ?? 2);
  const members = new Map<string, ManagedRunner>();
  /** Calls this node has in flight, per member URL. */
  const inFlight = new Map<string, number>();
  let discoveryTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function addMember(url: string): Promise<void> {
    const member = externalRunner({ baseUrl: url, serviceToken: options.serviceToken, publicKey: options.publicKey, probeIntervalMs });
    members.set(url, member);
    await member.start();
  }

  async function removeMember(url: string): Promise<void> {
    const member = members.get(url);
    members.delete(url);
    await member?.stop();
  }

  async function discover(): Promise<void> {
    if (!options.discovery || stopped) return;
    let heartbeats: Map<string, unknown>;
    try {
      heartbeats = await readRunnerHeartbeats(options.discovery.redis, options.discovery.prefix);
    } catch {
      return; // Redis away: keep the members known so far; their probes still tell who is up.
    }
    const added = [...heartbeats.keys()].filter((url) => !members.has(url));
    const removed = [...members.keys()].filter((url) => !heartbeats.has(url));
    await Promise.all([...added.map(addMember), ...removed.map(removeMember)]);
    if (added.length + removed.length > 0) options.onMembersChanged?.(added, removed);
  }

  const available = () => [...members.values()].filter((member) => member.baseUrl() && member.isAvailable());

  /** The member, with its calls in flight counted while `track` runs (callWithFailover does). */
  function counted(member: ManagedRunner): RunnerHandle & { track<T>(call: Promise<T>): Promise<T> } {
    return Object.assign(Object.create(member) as ManagedRunner, {
      track<T>(call: Promise<T>): Promise<T> {
        const url = member.baseUrl()!;
        inFlight.set(url, (inFlight.get(url) ?? 0) + 1);
        return call.finally(() => inFlight.set(url, (inFlight.get(url) ?? 1) - 1));
      },
    });
  }

  return {
    serviceToken: options.serviceToken,
    get publicKey() {
      return typeof options.publicKey === 'function' ? options.publicKey() : options.publicKey;
    },
    candidates(key: string): RunnerHandle[] {
      const ordered = available()
        .map((member) => ({ member, score: rendezvousScore(member.baseUrl()!, key) }))
        .sort((a, b) => b.score - a.score)
        .map(({ member }) => member);
      const head = ordered.slice(0, spread);
      const load = (member: RunnerHandle) => inFlight.get(member.baseUrl()!) ?? 0;
      // A stable sort: equal loads keep rendezvous order.
      head.sort((a, b) => load(a) - load(b));
      return [...head, ...ordered.slice(spread)].map((member) => counted(member));
    },
    members: () => [...members.keys()],
    baseUrl: () => available()[0]?.baseUrl(),
    checkUrl: () => available()[0]?.checkUrl(),
    publicBaseUrl: () => options.publicBaseUrl ?? available()[0]?.baseUrl() ?? [...members.values()][0]?.baseUrl(),
    isReady: () => [...members.values()].some((member) => member.isReady()),
    isAvailable: () => available().length > 0,
    reportUnreachable() {
      // A fleet is never unreachable as a whole; the gateway reports the member it called.
    },
    async start() {
      await Promise.all((options.urls ?? []).map(addMember));
      if (options.discovery) {
        await discover();
        discoveryTimer = setInterval(() => void discover(), options.discovery.intervalMs ?? 1_000);
        discoveryTimer.unref();
      }
    },
    async stop() {
      stopped = true;
      if (discoveryTimer) clearInterval(discoveryTimer);
      await Promise.all([...members.keys()].map(removeMember));
      options.onStopped?.();
    },
  };
}

/**
 * Sends a call to the first runner of `targets`; when it fails without reaching that runner
 * (connection refused: nothing ran), marks it unreachable and sends it to the next. Any other
 * failure — a timeout, a connection lost mid-call — is final: the call may have run, so it is
 * never sent twice. Rejects with the last failure.
 */
export async function callWithFailover<T>(targets: readonly RunnerHandle[], send: (baseUrl: string) => Promise<T>, onFailover?: (failedUrl: string, failure: { kind: string; message: string }) => void): Promise<T> {
  for (const [index, target] of targets.entries()) {
    const baseUrl = target.baseUrl();
    try {
      if (!baseUrl) throw { kind: 'unreachable', message: 'ECONNREFUSED' };
      const tracked = target as RunnerHandle & { track?<R>(call: Promise<R>): Promise<R> };
      return await (tracked.track ? tracked.track(send(baseUrl)) : send(baseUrl));
    } catch (error) {
      const failure = error as { kind: string; message: string };
      if (failure?.kind === 'unreachable') target.reportUnreachable();
      if (!neverReachedRunner(failure) || index === targets.length - 1) throw error;
      onFailover?.(baseUrl ?? '', failure);
    }
  }
  throw { kind: 'unreachable', message: 'no runner' };
}
