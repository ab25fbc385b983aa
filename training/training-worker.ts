/**
 * The body of a training thread: runs one model job's tasks (training-tasks.ts) one at a time,
 * so that TF-IDF, fitting and scoring never hold the serving thread. It keeps the model a `load`
 * task read for the `predict` tasks after it. The main thread terminates it at the job's time
 * limit or cancel; its heap is capped by the `resourceLimits` it was started with.
 */
import { parentPort } from 'node:worker_threads';
import { type TrainedModel } from '../capabilities/builtin/trained-model.js';
import { messageOf } from '../core/errors.js';
import { type FromTrainingThread } from './training-thread.js';
import { runLoad, runPredict, runTrain, type TrainingTask } from './training-tasks.js';

const port = parentPort;
if (port === null) throw new Error('training-worker.ts runs as a worker thread');
const send = (message: FromTrainingThread): void => port.postMessage(message);

let loaded: TrainedModel | undefined;

function run(task: TrainingTask): unknown {
  switch (task.type) {
    case 'train':
      return runTrain(task, (fraction, stage) => send({ type: 'progress', fraction, stage }));
    case 'load': {
      const { model, outcome } = runLoad(task);
      loaded = model;
      return outcome;
    }
    case 'predict':
      if (loaded === undefined) throw new Error('predict before load');
      return runPredict(loaded, task);
  }
}

port.on('message', (task: TrainingTask) => {
  try {
    send({ type: 'done', outcome: run(task) });
  } catch (error) {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    send({ type: 'failed', message: messageOf(error), ...(typeof code === 'string' ? { code } : {}) });
  }
});
