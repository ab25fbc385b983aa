import { validationError } from '../core/format-issues.js';
import { MAX_TRAINING_STEPS, type TrainRequest } from './types.js';

/**
 * Refuses a training request whose epochs × examples passes {@link MAX_TRAINING_STEPS}. Checked
 * once the examples are known (a data set or CSV has to be read first), at the request and again
 * when the job runs; 400 VALIDATION_ERROR at `/classifier/epochs`.
 */
export function checkTrainingSteps(request: Pick<TrainRequest, 'classifier'>, examples: number): void {
  const { epochs } = request.classifier;
  if (epochs * examples <= MAX_TRAINING_STEPS) return;
  const most = Math.max(1, Math.floor(MAX_TRAINING_STEPS / examples));
  throw validationError('body', [
    {
      path: '/classifier/epochs',
      message: `epochs × examples is ${epochs} × ${examples}; at most ${MAX_TRAINING_STEPS} (at most ${most} epochs for ${examples} examples)`,
    },
  ]);
}
