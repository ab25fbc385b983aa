import { pino } from 'pino';
import { loadCapabilitiesConfig } from '../capabilities/load-config.js';
import { ModelRepository } from '../models/repository/model-repository.js';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { createJobs } from './create-jobs.js';
import { createService, reloadCapabilities } from './create-service.js';
import { messageOf } from './errors.js';

/**
 * Entry point: listen first (so liveness and readiness answer while models load), then load
 * every model, then accept work. SIGTERM/SIGINT drain accepted batches before exiting.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const capabilities = await loadCapabilitiesConfig(config.capabilitiesConfig);
  const service = createService(config, capabilities, logger);
  const jobs = createJobs(service, config, logger);
  const app = await buildApp({
    service,
    config,
    logger,
    frontEnd: jobs.frontEnd,
    auth: { keys: config.apiKeys, exemptPaths: config.authExemptPaths },
    rateLimit: { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs, exemptPaths: config.authExemptPaths },
    repository: new ModelRepository(config.modelRepository),
    reload: () => reloadCapabilities(service, config),
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const closing = app.close();
    // Jobs first: their text runs through the batcher, which must still be up to finish them.
    await jobs.close(config.shutdownGraceMs);
    await service.stop(config.shutdownGraceMs);
    await closing;
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  await service.start();
  await jobs.start();
  logger.info({ capabilities: service.describeCapabilities().map((c) => c.name) }, 'ready');
}

main().catch((error: unknown) => {
  // Start-up errors name the model, path or variable at fault; print them plainly and exit non-zero.
  process.stderr.write(`capserve failed to start: ${messageOf(error)}\n`);
  process.exit(1);
});
