// A guest that draws random numbers and reads the clocks in every call, for the runner's tests.
// It uses the raw WIT export (no SDK), so what it shows holds for any guest.
// @ts-nocheck — built into a component, not type-checked with the host.
const encoder = new TextEncoder();

export const handler = {
  handle(_context, request) {
    if (request.method !== 'GET' || request.path !== '/random') return { status: 404, headers: [], body: new Uint8Array() };
    const answer = {
      math: [Math.random(), Math.random(), Math.random()],
      crypto: Array.from(crypto.getRandomValues(new Uint32Array(4))),
      uuid: crypto.randomUUID(),
      wallMs: Date.now(),
      monotonicMs: performance.now(),
    };
    return { status: 200, headers: [['content-type', 'application/json']], body: encoder.encode(JSON.stringify(answer)) };
  },
};
