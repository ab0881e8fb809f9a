// Cold start of a new content hash (verify + transpile + compile + instantiate + first call),
// the same with the transpile cache warm (a new runner process on the same data folder),
// and idle memory per loaded extension instance.
// Run: node --import tsx bench/runner-cold-start.ts
import { rmSync } from 'node:fs';
import { executeBody, fmt, post, startChild } from './runner-support.ts';

async function firstExecution(dataDir?: string) {
  const server = await startChild(dataDir ? ['runner', '1', dataDir] : ['runner', '1']);
  const { url, token, hashes } = server.info as { url: string; token: string; hashes: Record<string, string> };
  const first = await post(`${url}/v1/execute`, token, executeBody(hashes.hello, '/hello'));
  const second = await post(`${url}/v1/execute`, token, executeBody(hashes.hello, '/hello'));
  return { server, first, second };
}

const cold = await firstExecution();
const dataDir = cold.server.info.dataDir!;
console.log(`cold start, new hash (verify+transpile+compile+instantiate): ${fmt(cold.first.ms)} ms (status ${cold.first.status}); next request ${fmt(cold.second.ms)} ms`);
await cold.server.stop();

const warmCache = await firstExecution(dataDir);
console.log(`cold start, transpile cache warm:                           ${fmt(warmCache.first.ms)} ms; ratio to cold ${fmt((100 * warmCache.first.ms) / cold.first.ms)}%`);

// Idle memory: RSS of the runner process (main + workers) before and after 20 tenant instances.
const { url, token, hashes } = warmCache.server.info as { url: string; token: string; hashes: Record<string, string> };
const rss = async () => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/runner_process_resident_memory_bytes (\d+)/.exec(text)![1]);
};
try {
  const before = await rss();
  const instances = 20;
  for (let index = 0; index < instances; index++) await post(`${url}/v1/execute`, token, executeBody(hashes.hello, '/hello', { tenant: `idle-${index}` }));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await rss();
  console.log(`idle memory per loaded tenant instance of hello: ${fmt((after - before) / instances / 1048576)} MB (RSS ${fmt(before / 1048576)} → ${fmt(after / 1048576)} MB for ${instances})`);
} finally {
  await warmCache.server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
