/** What the UI pages need to know about one of a tenant's installs. */
export interface InstalledUi {
  /** The install's id: with tenant and extension it names the UI's origin (lib/ext-ui/origins.ts). */
  installId: string;
  extensionId: string;
  version: string;
  contentHash: string;
  manifest: {
    name: string;
    ui?: {
      iframe?: { entry: string };
      hooks?: Array<{ type: string; label: string; path?: string }>;
    };
  };
}

/** Where the pages read installs from (the extensions plugin's installs, for a tenant). */
export interface InstalledUiSource {
  list(tenantId: string): InstalledUi[] | Promise<InstalledUi[]>;
  get(tenantId: string, extensionId: string): InstalledUi | undefined | Promise<InstalledUi | undefined>;
}
