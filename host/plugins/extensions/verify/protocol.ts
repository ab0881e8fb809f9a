import type { Manifest, Reproducibility } from '../../../../lib/bundle/index.ts';
import type { BundleSigner, TrustBundle } from '../../../../lib/signing/index.ts';

/** What the host asks its bundle-verification worker (verify/worker.ts) to do. */
export type VerifyJob = {
      id: number;
      kind: 'upload';
      /** The publish request body, moved (not copied) to the worker and back. */
      body: ArrayBuffer;
      /** `raw`: the body is the bundle and `signatureHeader` its signature file; `json`: `{bundle_b64, signatures}`. */
      form: 'raw' | 'json';
      signatureHeader?: string;
      trust: TrustBundle;
      maxBundleBytes: number;
    }
  | {
      id: number;
      /** A stored blob checked again before it is installed: its hash, signature and trust. */
      kind: 'stored';
      bundle: ArrayBuffer;
      signatureFile: unknown;
      trust: TrustBundle;
      expectedHash: string;
    };

export type VerifyAnswer =
  | { id: number; ok: true; kind: 'upload'; hash: string; manifest: Manifest; signer: BundleSigner; reproducibility: Reproducibility; signatureFile: unknown; bundle: ArrayBuffer }
  | { id: number; ok: true; kind: 'stored' }
  | { id: number; ok: false; error: { code?: string; detail?: string; message: string } };
