import { isIP } from 'node:net';
import { CapserveError } from '../core/errors.js';
import { type ServerConfig } from './config.js';

/** Whether listening on `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name === '::1') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  // An IPv4-mapped IPv6 loopback (::ffff:127.0.0.1).
  return /^::ffff:127\./.test(name);
}

/**
 * Refuses to start on an interface other machines can reach while no API key is configured:
 * every route, `/admin/reload` and training included, would be open to the network.
 * ALLOW_UNAUTHENTICATED=1 says that is meant (a private network, a proxy that authenticates).
 */
export function checkExposure(config: Pick<ServerConfig, 'host' | 'apiKeys' | 'allowUnauthenticated'>): void {
  if (isLoopback(config.host) || config.apiKeys.enabled || config.allowUnauthenticated) return;
  throw new CapserveError(
    'CONFIG_INVALID',
    `HOST=${config.host} accepts connections from other machines, and no API_KEYS are set, so every route (admin ones included) would be open to them. ` +
      'Set API_KEYS (e.g. "ops:admin:<key>,app:read:<key>"), listen on 127.0.0.1, or set ALLOW_UNAUTHENTICATED=1 if the network in front of this server authenticates.',
  );
}
