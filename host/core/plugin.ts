import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AuditLog } from './audit.ts';
import type { HostAuth } from './auth/index.ts';
import type { HostConfig } from './config.ts';
import type { HostEvents } from './events.ts';
import type { InfraSecrets } from './infra-secrets.ts';
import type { RunnerHandle } from './runner/handle.ts';
import type { HostStore } from './store.ts';

/**
 * The first-party plugin contract. A plugin module default-exports a HostPlugin; the loader
 * registers plugins in dependency order, each in its own fastify encapsulation context under
 * its own prefix, and hands `register` only this HostContext.
 */
export interface HostPlugin {
  name: string;
  version: string;
  /** Names of plugins that must be registered first. */
  requires: string[];
  /** Route prefix for this plugin's routes (default: none, i.e. routes at the root). */
  prefix?: string;
  register(host: HostContext): void | Promise<void>;
}

export interface HostLifecycle {
  /** Runs once the host listens; `url` is its base URL. Use it to surface one-time information (the claim token). */
  onListening(listener: (info: { url: string }) => void | Promise<void>): void;
  /** Runs on shutdown, before the store closes (plugins stop their timers here). */
  onClose(listener: () => void | Promise<void>): void;
  /** Prints a line on the operator's console (stdout of `alga-host start`), never into the JSON log. */
  announce(line: string): void;
}

export interface HostContext {
  /** This plugin's encapsulated fastify instance (its prefix applied). */
  routes: FastifyInstance;
  store: HostStore;
  auth: HostAuth;
  secrets: InfraSecrets;
  events: HostEvents;
  config: HostConfig;
  log: FastifyBaseLogger;
  audit: AuditLog;
  lifecycle: HostLifecycle;
  /** The runner the host talks to (its own child or RUNNER_BASE_URL). */
  runner: RunnerHandle;
  /** The host's Prometheus registry (served at /metrics). */
  metrics: Registry;
  /** Other plugins' public APIs, by plugin name (what each register returned via `expose`). */
  plugins: PluginApis;
}

/** Lets a plugin publish an API object for plugins that require it. */
export interface PluginApis {
  expose(api: unknown): void;
  get<T>(pluginName: string): T | undefined;
}

/** Identity helper that type-checks a plugin definition. */
export function definePlugin(plugin: HostPlugin): HostPlugin {
  return plugin;
}
