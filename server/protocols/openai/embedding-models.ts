import { CapserveError } from '../../../core/errors.js';
import { type CapserveService } from '../../../engine/service.js';

/** What the OpenAI routes use of the service. */
export type EmbeddingService = Pick<CapserveService, 'analyse' | 'describeCapabilities' | 'phase' | 'countTokens' | 'modelBehind'>;

/** The names OpenAI clients may send as `model`: every `embedding` capability whose model loaded. */
export function embeddingModels(service: EmbeddingService): string[] {
  return service
    .describeCapabilities()
    .filter((capability) => capability.kind === 'embedding' && capability.available)
    .map((capability) => capability.name);
}

/**
 * The capability behind an OpenAI `model`, checked before any work: NOT_READY while the service
 * starts (it has no capabilities to look in yet), UNKNOWN_MODEL (404) for a name that is not an
 * embedding capability, CAPABILITY_UNAVAILABLE (503) when its model did not load.
 */
export function resolveEmbeddingModel(service: EmbeddingService, model: string): string {
  if (service.phase === 'starting') throw new CapserveError('NOT_READY');
  if (service.phase !== 'ready') throw new CapserveError('SHUTTING_DOWN');
  const capability = service.describeCapabilities().find((candidate) => candidate.name === model);
  if (capability === undefined || capability.kind !== 'embedding') {
    const known = embeddingModels(service);
    throw new CapserveError(
      'UNKNOWN_MODEL',
      `the model '${model}' does not exist: ${capability === undefined ? 'no capability has that name' : `'${model}' is a ${capability.kind} capability, not an embedding`}; models here: ${known.length === 0 ? '(none)' : known.join(', ')}`,
      { details: { param: 'model' } },
    );
  }
  if (!capability.available) {
    throw new CapserveError('CAPABILITY_UNAVAILABLE', `${model}: ${capability.reason ?? 'its model did not load'}`, { details: { param: 'model' } });
  }
  return capability.name;
}
