import { EventEmitter } from 'node:events';

/**
 * The host's in-process event bus. Plugins announce what happened (`install.saved`,
 * `setup.claimed`, …) and others react; a failing listener is logged, never thrown back.
 */
export interface HostEvents {
  emit(name: string, payload?: unknown): void;
  on(name: string, listener: (payload: unknown) => void | Promise<void>): () => void;
}

export function createHostEvents(onListenerError: (name: string, error: unknown) => void): HostEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(100);
  return {
    emit(name, payload) {
      emitter.emit(name, payload);
    },
    on(name, listener) {
      const safe = (payload: unknown) => {
        try {
          const result = listener(payload);
          if (result && typeof (result as Promise<void>).catch === 'function') (result as Promise<void>).catch((error) => onListenerError(name, error));
        } catch (error) {
          onListenerError(name, error);
        }
      };
      emitter.on(name, safe);
      return () => emitter.off(name, safe);
    },
  };
}
