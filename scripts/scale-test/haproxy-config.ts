/** What the generated HAProxy configuration balances, and how it checks the replicas. */
export interface HaproxyConfigOptions {
  /** The port clients connect to. */
  readonly port: number;
  /** The port of the stats page (`/stats;csv`), which the scale test reads each replica's state from. */
  readonly statsPort: number;
  /** Each replica's name and loopback port. */
  readonly replicas: readonly { readonly name: string; readonly port: number }[];
  /** Milliseconds between two health checks of a replica. */
  readonly checkIntervalMs: number;
  /** Failed checks in a row before a replica is taken out. */
  readonly fall: number;
  /** Passed checks in a row before a replica is put back. */
  readonly rise: number;
}

/**
 * A minimal HAProxy configuration for capserve replicas, as an operator would write it:
 * round-robin over the replicas, each checked on `GET /health/ready` (200 only while every model
 * is loaded and it is not stopping).
 *
 * Retries are kept to HAProxy's default, `conn-failure`: a request is sent again (to another
 * replica, `option redispatch`) only when no byte of it reached a replica, which is what a replica
 * that has closed its listener on SIGTERM causes. A request a replica received and then died with
 * is never replayed by the balancer, because `/process` is not idempotent; the client decides.
 *
 * HAProxy reuses idle replica connections. A replica that closed them at once on SIGTERM would
 * drop a request sent on one at that moment (measured: about one per rolling restart), so the
 * replicas run with SHUTDOWN_DELAY_MS above `inter` × `fall`: readiness answers 503 first, HAProxy
 * marks the replica down and stops sending, and only then does it close its connections.
 */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const servers = options.replicas.map((replica) => `  server ${replica.name} 127.0.0.1:${replica.port} check`);
  return [
    'global',
    '  maxconn 2048',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout check 1s',
    '  retries 3',
    '  option redispatch 1',
    '',
    'frontend capserve',
    `  bind 127.0.0.1:${options.port}`,
    '  default_backend replicas',
    '',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /health/ready',
    '  http-check expect status 200',
    `  default-server inter ${options.checkIntervalMs} fall ${options.fall} rise ${options.rise}`,
    ...servers,
    '',
    'frontend stats',
    `  bind 127.0.0.1:${options.statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
}

/** One replica's state in HAProxy's stats CSV: `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming up), `MAINT`, … */
export function serverStates(csv: string, backend: string): Map<string, string> {
  const [header, ...rows] = csv.split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const name = columns.indexOf('svname');
  const status = columns.indexOf('status');
  const states = new Map<string, string>();
  for (const row of rows) {
    const fields = row.split(',');
    if (fields[0] !== backend) continue;
    const server = fields[name];
    if (server === undefined || server === 'BACKEND' || server === 'FRONTEND') continue;
    states.set(server, fields[status] ?? '');
  }
  return states;
}
