import { dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isContentHash, readSourceMap, type Manifest } from '../../lib/bundle/index.ts';
import { verifyBundle, type BundleSigner, type TrustBundleSource } from '../../lib/signing/index.ts';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import { unsupportedImports } from '../pool/guest-environment.ts';
import type { GuestCode } from '../pool/protocol.ts';
import { BundleSource } from './bundle-source.ts';
import { InlineLoader, type ComponentLoader } from './loader-ops.ts';
import { LoaderThread } from './loader-thread.ts';

/** A verified, transpiled extension version, ready to compile. */
export interface LoadedExtension {
  hash: string;
  manifest: Manifest;
  ui: Map<string, Uint8Array>;
  signer: BundleSigner | { keyId: 'local'; publisher: string };
  modulePath: string;
  coreModuleNames: string[];
  coreModuleBytes: number;
  /** The build's source map (from the component's custom section), for stack traces; not parsed here. */
  sourceMap?: string;
}

export interface ExtensionCacheConfig {
  source: BundleSource;
  trust: TrustBundleSource;
  transpileDir: string;
  /** Upper bound for compiled modules kept in memory (sum of core wasm sizes). */
  compiledCacheBytes: number;
  registry: Registry;
  /** Told when compiled code leaves the cache, so workers can drop it too. */
  onEvict?(codeKey: string): void;
  /** Told when new code has been compiled, so workers can load it ahead of requests. */
  onCompiled?(code: GuestCode): void;
  /** Transpile and compile on a thread of their own (the default), or on this one (`false`: see InlineLoader). */
  loaderThread?: boolean;
}

interface CompiledEntry {
  code: Promise<GuestCode>;
  bytes: number;
}

/**
 * Bundles by content hash → verified (every time one is loaded from disk or the registry) →
 * transpiled once per hash (disk cache) → compiled once per hash and memory cap (LRU by bytes).
 */
export class ExtensionCache {
  /** Verified versions by hash, least recently used first (bounded by `maxLoaded`). */
  private readonly loaded = new Map<string, Promise<LoadedExtension>>();
  private readonly maxLoaded = 1000;
  /** Hashes registered by `loadLocal` (unsigned developer files): kept when the trust bundle changes. */
  private readonly local = new Set<string>();
  private trustGeneration = -1;
  private readonly compiled = new Map<string, CompiledEntry>();
  private compiledBytes = 0;
  private readonly cacheEvents: Counter;
  private readonly compiledGauge: Gauge;
  /** Transpiling and compiling happen there, off the main thread unless configured otherwise. */
  private readonly loader: ComponentLoader;

  constructor(private readonly config: ExtensionCacheConfig) {
    this.loader = config.loaderThread === false ? new InlineLoader() : new LoaderThread();
    this.cacheEvents = new Counter({ name: 'runner_cache_events_total', help: 'Cache lookups by cache and result.', labelNames: ['cache', 'result'], registers: [config.registry] });
    this.compiledGauge = new Gauge({ name: 'runner_compiled_cache_bytes', help: 'Bytes of core wasm held compiled in memory.', registers: [config.registry] });
    this.loader.start();
  }

  load(hash: string): Promise<LoadedExtension> {
    if (!isContentHash(hash)) return Promise.reject(new AlgaError('E_RUNNER_BAD_REQUEST', 'content_hash must be sha256:<64 hex>.'));
    this.followTrust();
    const cached = this.loaded.get(hash);
    if (cached) {
      this.cacheEvents.inc({ cache: 'bundle', result: 'hit' });
      this.loaded.delete(hash);
      this.loaded.set(hash, cached);
      return cached;
    }
    this.cacheEvents.inc({ cache: 'bundle', result: 'miss' });
    const loading = this.loadVerified(hash);
    this.loaded.set(hash, loading);
    if (this.loaded.size > this.maxLoaded) this.loaded.delete(this.loaded.keys().next().value!);
    loading.catch(() => this.loaded.delete(hash)); // a failure is not remembered: the next call verifies again
    return loading;
  }

  /**
   * When the trust bundle changed (a key added or removed), every verified bundle is verified again
   * on its next load, so a removed key stops being trusted for versions already running.
   */
  private followTrust(): void {
    try {
      this.config.trust.current();
    } catch {
      // An unreadable trust bundle fails the verification itself, with its reason.
    }
    if (this.config.trust.generation === this.trustGeneration) return;
    this.trustGeneration = this.config.trust.generation;
    // Compiled code stays cached by hash: only the verification is redone.
    for (const hash of [...this.loaded.keys()]) if (!this.local.has(hash)) this.loaded.delete(hash);
  }

  /** Registers a developer's own unsigned files (used by `alga-ext run`); never reachable over HTTP. */
  async loadLocal(hash: string, manifest: Manifest, component: Uint8Array, ui: Map<string, Uint8Array>): Promise<LoadedExtension> {
    const loading = this.prepare(hash, manifest, component, ui, { keyId: 'local', publisher: manifest.publisher });
    this.loaded.set(hash, loading);
    this.local.add(hash);
    return loading;
  }

  /** Stops the loader thread. */
  close(): Promise<void> {
    return this.loader.close();
  }

  isLoaded(hash: string): boolean {
    return this.loaded.has(hash);
  }

  private async loadVerified(hash: string): Promise<LoadedExtension> {
    const files = await this.config.source.fetch(hash);
    let verified;
    try {
      const trust = this.config.trust.current();
      if (!trust) {
        const where = this.config.trust.path ? `${this.config.trust.path} does not exist` : 'SIGNING_TRUST_BUNDLE is not set';
        throw new AlgaError('E_TRUST_BUNDLE_MISSING', `The runner has none (${where}), so it runs no bundle.`);
      }
      verified = verifyBundle(files.bytes, files.signatureFile, trust, { expectedHash: hash });
    } catch (error) {
      if (isAlgaError(error)) throw new AlgaError('E_RUNNER_VERIFICATION_FAILED', `${error.code}: ${error.message}`, { cause: error });
      throw error;
    }
    this.config.source.remember(hash, files);
    return this.prepare(hash, verified.manifest, verified.component, verified.ui, verified.signer);
  }

  private async prepare(hash: string, manifest: Manifest, component: Uint8Array, ui: Map<string, Uint8Array>, signer: LoadedExtension['signer']): Promise<LoadedExtension> {
    const transpiled = await this.loader.transpile(component, this.config.transpileDir);
    this.cacheEvents.inc({ cache: 'transpile', result: transpiled.cached ? 'hit' : 'miss' });
    const unsupported = unsupportedImports(transpiled.imports);
    if (unsupported.length > 0) throw new AlgaError('E_RUNNER_UNSUPPORTED_IMPORT', `It imports ${unsupported.join(', ')}.`);
    return { hash, manifest, ui, signer, modulePath: transpiled.modulePath, coreModuleNames: transpiled.coreModuleNames, coreModuleBytes: transpiled.coreModuleBytes, sourceMap: readSourceMap(component) };
  }

  /** The compiled core modules of a loaded extension, with its memory capped at `memoryBytes`. */
  compile(extension: LoadedExtension, memoryBytes: number): Promise<GuestCode> {
    const key = `${extension.hash}:${memoryBytes}`;
    const cached = this.compiled.get(key);
    if (cached) {
      this.cacheEvents.inc({ cache: 'compiled', result: 'hit' });
      this.compiled.delete(key); // re-insert: most recently used last
      this.compiled.set(key, cached);
      return cached.code;
    }
    this.cacheEvents.inc({ cache: 'compiled', result: 'miss' });
    const folder = dirname(extension.modulePath);
    const bytes = extension.coreModuleBytes;
    const code = (async (): Promise<GuestCode> => {
      const modules = await this.loader.compile(folder, extension.coreModuleNames, memoryBytes);
      const compiled = { key, modulePath: extension.modulePath, modules, memoryLimitBytes: memoryBytes, warmUpPaths: warmUpPathsOf(extension.manifest) };
      this.config.onCompiled?.(compiled);
      return compiled;
    })();
    const entry = { code, bytes };
    this.compiled.set(key, entry);
    this.compiledBytes += bytes;
    code.catch(() => this.drop(key, entry));
    this.evict();
    return code;
  }

  private drop(key: string, entry: CompiledEntry): void {
    if (this.compiled.get(key) !== entry) return;
    this.compiled.delete(key);
    this.compiledBytes -= entry.bytes;
    this.compiledGauge.set(this.compiledBytes);
    this.config.onEvict?.(key);
  }

  private evict(): void {
    for (const [key, entry] of this.compiled) {
      if (this.compiledBytes <= this.config.compiledCacheBytes || this.compiled.size <= 1) break;
      this.drop(key, entry);
    }
    this.compiledGauge.set(this.compiledBytes);
  }
}

/** Up to three GET endpoints with parameters filled in, or one path no router knows. */
export function warmUpPathsOf(manifest: Manifest): string[] {
  const paths = (manifest.api?.endpoints ?? [])
    .filter((endpoint) => endpoint.method === 'GET')
    .map((endpoint) => endpoint.path.replace(/:[^/]+/g, 'warm-up').replace(/\*/g, 'warm-up'))
    .slice(0, 3);
  return paths.length > 0 ? paths : ['/__alga/warm-up'];
}
