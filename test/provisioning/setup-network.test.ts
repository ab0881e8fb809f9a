import { describe, expect, it } from 'vitest';
import { isAllowed, isLan, isLoopback } from '../../host/plugins/setup/network.ts';

describe('setup network bind', () => {
  it('classifies loopback and LAN ranges (IPv4 and IPv6)', () => {
    expect(['127.0.0.1', '::1'].every(isLoopback)).toBe(true);
    expect(['10.1.2.3', '172.16.0.1', '172.31.255.1', '192.168.0.1', '169.254.1.1', 'fd12:3456::1', 'fe80::1'].every(isLan)).toBe(true);
    expect(['172.32.0.1', '8.8.8.8', '2001:db8::1', '192.169.0.1'].some(isLan)).toBe(false);
    expect(isAllowed('8.8.8.8', 'any')).toBe(true);
    expect(isAllowed('127.0.0.1', ['lan'])).toBe(false);
    expect(isAllowed('127.0.0.1', ['loopback', 'lan'])).toBe(true);
  });
});
