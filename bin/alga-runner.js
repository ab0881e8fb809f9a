#!/usr/bin/env node
import { register } from 'tsx/esm/api';

// Whatever umask it was started with, what it makes is its own: folders 0700, files 0600.
process.umask(0o077);
register();
await import('../runner/main.ts');
