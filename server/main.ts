import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createServer } from './create-server.js';
import { checkExposure } from './exposure.js';
import { handleCommandLine } from './command-line.js';
import { messageOf } from '../core/errors.js';

/**
 * Entry point: listen first (so liveness and readiness answer while models load), then load
 * every model, then accept work. SIGTERM/SIGINT drain accepted batches and jobs before exiting.
 */
async function main(): Promise<void> {
  const exit = handleCommandLine(process.argv.slice(2), { command: 'npm start', summary: 'capserve: the HTTP server (listens, loads every model, serves).' });
  if (exit !== undefined) {
    process.exitCode = exit;
    return;
  }
  const config = loadConfig();
  checkExposure(config);
  const logger = pino({ level: config.logLevel });
  const server = await createServer(config, logger);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await server.stop(config.shutdownGraceMs);
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await server.app.listen({ host: config.host, port: config.port });
  await server.start();
  logger.info({ capabilities: server.service.describeCapabilities().map((c) => c.name) }, 'ready');
}

main().catch((error: unknown) => {
  // Start-up errors name the model, path or variable at fault; print them plainly and exit non-zero.
  process.stderr.write(`capserve failed to start: ${messageOf(error)}\n`);
  process.exit(1);
});
