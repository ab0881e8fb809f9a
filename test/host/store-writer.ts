// Child process for store-processes.test.ts: writes audit entries into a host store another
// process is writing too, as `alga-host tenant create` does while the host runs.
// Usage: node --import tsx test/host/store-writer.ts <dataDir> <name> <count> [padBytes]
import { createAuditLog } from '../../host/core/audit.ts';
import { coreMigrations } from '../../host/core/core-migrations.ts';
import { openStore } from '../../host/core/store.ts';

const [dataDir, name, count, padBytes = '0'] = process.argv.slice(2);
const pad = 'p'.repeat(Number(padBytes));
const store = openStore(dataDir);
store.migrate('core', coreMigrations);
const audit = createAuditLog(store);
for (let index = 0; index < Number(count); index++) audit.record({ action: 'tenant.created', target: `tenant:${name}-${index}`, ...(pad ? { detail: { pad } } : {}) });
await store.close();
