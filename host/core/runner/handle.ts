/** What the host knows about the runner it calls: where it is and whether it answers. */
export interface RunnerHandle {
  /** Base URL for /v1/execute, or undefined while no runner is up. */
  baseUrl(): string | undefined;
  /**
   * The same URL for a background check (health, boot id). Unlike baseUrl(), it does not count as
   * a call, so a runner with only checks coming in is idle (the warm spare starts at such a moment).
   */
  checkUrl(): string | undefined;
  /** Where browsers reach the runner (RUNNER_PUBLIC_BASE or the runner's URL); on loopback it gives the default UI origins (lib/ext-ui/origins.ts). */
  publicBaseUrl(): string | undefined;
  /** True while the last health check succeeded (what /readyz reports). */
  isReady(): boolean;
  /**
   * False when the runner is known to be down: not running, refused a connection, or failed
   * several health checks in a row. The gateway then answers 502 at once instead of calling.
   * A runner that missed one check (busy compiling a component) still gets calls.
   */
  isAvailable(): boolean;
  /** The bearer token the runner expects. */
  readonly serviceToken: string;
  /** The runner's nacl box public key (base64): install secrets are sealed to it. */
  readonly publicKey: string;
  /** Marks the runner unavailable right away (a request saw a connection error) until a health check passes. */
  reportUnreachable(): void;
}
