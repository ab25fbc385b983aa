import { CapserveError } from '../../core/errors.js';

/** DEVICE_UNAVAILABLE for one model: the device's reasons, with the model named. */
export function deviceError(spec: { readonly name: string }, error: CapserveError): CapserveError {
  return new CapserveError('DEVICE_UNAVAILABLE', `model "${spec.name}": ${error.message}`, {
    details: { model: spec.name, ...error.details },
    cause: error,
  });
}
