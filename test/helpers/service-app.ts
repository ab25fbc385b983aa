import { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type Test } from 'tap';
import { type CapabilitiesConfig } from '../../capabilities/config-schema.js';
import { type CapserveService } from '../../engine/service.js';
import { buildApp } from '../../server/app.js';
import { type ServerConfig } from '../../server/config.js';
import { createService } from '../../server/create-service.js';

/** The service and HTTP app `npm start` would build for this configuration (no store, no queues), closed at teardown; not started. Silent unless given a logger. */
export async function serviceApp(
  t: Test,
  config: ServerConfig,
  capabilities: CapabilitiesConfig,
  logger: FastifyBaseLogger = pino({ level: 'silent' }),
): Promise<{ app: FastifyInstance; service: CapserveService }> {
  const service = createService(config, capabilities, logger);
  const app = await buildApp({ service, config, logger });
  t.teardown(async () => {
    await app.close();
    await service.stop(1000);
  });
  return { app, service };
}
