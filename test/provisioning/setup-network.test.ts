import { describe, expect, it } from 'vitest';
import { clientAddress, isAllowed, isLan, isLoopback } from '../../host/plugins/setup/network.ts';

describe('setup network bind', () => {
  it('ignores X-Forwarded-For unless the peer is a configured proxy', () => {
    expect(clientAddress('203.0.113.5', '192.168.1.9', [])).toBe('203.0.113.5');
    expect(clientAddress('203.0.113.5', '192.168.1.9', ['10.0.0.1'])).toBe('203.0.113.5');
    expect(clientAddress('::ffff:10.0.0.1', '192.168.1.9', ['10.0.0.1'])).toBe('192.168.1.9');
  });

  it('walks back through trusted proxies only, and stops at garbage', () => {
    expect(clientAddress('10.0.0.1', '198.51.100.7, 192.168.1.9, 10.0.0.2', ['10.0.0.1', '10.0.0.2'])).toBe('192.168.1.9');
    expect(clientAddress('10.0.0.1', '192.168.1.9, 198.51.100.7', ['10.0.0.1'])).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.1', 'not-an-ip', ['10.0.0.1'])).toBe('10.0.0.1');
  });

  it('classifies loopback and LAN ranges (IPv4 and IPv6)', () => {
    expect(['127.0.0.1', '::1'].every(isLoopback)).toBe(true);
    expect(['10.1.2.3', '172.16.0.1', '172.31.255.1', '192.168.0.1', '169.254.1.1', 'fd12:3456::1', 'fe80::1'].every(isLan)).toBe(true);
    expect(['172.32.0.1', '8.8.8.8', '2001:db8::1', '192.169.0.1'].some(isLan)).toBe(false);
    expect(isAllowed('8.8.8.8', 'any')).toBe(true);
    expect(isAllowed('127.0.0.1', ['lan'])).toBe(false);
    expect(isAllowed('127.0.0.1', ['loopback', 'lan'])).toBe(true);
  });
});
