import { CapserveError } from '../../../core/errors.js';
import { type CapabilityDescription, type CapserveService } from '../../../engine/service.js';
import { modelVersion } from './model-signature.js';

/** What the V2 routes read of the service. */
export type KserveService = Pick<CapserveService, 'analyse' | 'describeCapabilities' | 'phase' | 'ready' | 'pool'>;

/**
 * The capability a V2 model name (and optional version) names. Before the service has started
 * no capability is known yet, so that is NOT_READY (503), not an unknown model; a version other
 * than "1" is MODEL_VERSION_NOT_FOUND (404), since a capability has no versions.
 */
export function findModel(service: KserveService, name: string, version: string | undefined): CapabilityDescription {
  if (service.phase === 'starting') throw new CapserveError('NOT_READY');
  const capability = service.describeCapabilities().find((c) => c.name === name);
  if (capability === undefined) {
    throw new CapserveError('UNKNOWN_MODEL', `no model "${name}"; the models here are the capabilities (GET /capabilities)`, { details: { model: name } });
  }
  if (version !== undefined && version !== modelVersion) {
    throw new CapserveError('MODEL_VERSION_NOT_FOUND', `model "${name}" has no version "${version}"; its only version is "${modelVersion}"`, {
      details: { model: name, version },
    });
  }
  return capability;
}
