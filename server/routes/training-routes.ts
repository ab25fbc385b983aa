import { randomUUID } from 'node:crypto';
import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ModelRepository } from '../../models/repository/model-repository.js';
import { modelJobStatuses, modelJobTypes, type Store } from '../../store/types.js';
import { checkTrainingSteps } from '../../training/check-training-steps.js';
import { requireLabelled, resolveExamples } from '../../training/examples.js';
import { jobView, type ModelJobs } from '../../training/model-jobs.js';
import { evaluateRequestSchema, exampleSourceSchema, predictRequestSchema, trainRequestSchema } from '../../training/types.js';
import { CapserveError } from '../../core/errors.js';
import { wellFormedString } from '../../core/well-formed.js';
import { type CapserveService } from '../../engine/service.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { datasetCreatedSchema, datasetSchema, datasetSummarySchema, modelJobSchema } from '../openapi/response-schemas.js';

export interface TrainingRoutesOptions {
  readonly jobs: ModelJobs;
  readonly store: Store;
  readonly repository: ModelRepository;
  readonly service: CapserveService;
  readonly maxExamples: number;
}

const id = z.object({ id: z.string().min(1).max(200) });
const jobReply = z.object({ job: modelJobSchema });

/**
 * `POST /train`, `POST /evaluate`, `POST /model-jobs/predict` (202 with a job), `GET /model-jobs`,
 * `GET|DELETE /model-jobs/:id`, and data sets: `POST /datasets` (JSON, or a CSV body),
 * `GET /datasets`, `GET /datasets/:id`. Requests are checked before they are queued, so a bad
 * one is a 4xx now rather than a failed job later.
 */
export function trainingRoutes(options: TrainingRoutesOptions): FastifyPluginAsyncZod {
  const { jobs, store, repository, service, maxExamples } = options;
  return async (app) => {
    app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    app.post('/train', {
        schema: {
          operationId: 'trainModel',
          tags: ['training'],
          summary: 'Train a classifier as a job; writes a repository version.',
          body: trainRequestSchema,
          response: { 202: jsonResponse('Accepted: the queued job (follow it at `/model-jobs/{id}`).', jobReply), ...errorResponses(400, 404, 409, 413, 422, 503, ...access) },
        },
      }, async (request, reply) => {
      const body = request.body;
      checkTrainingSteps(body, requireLabelled(await resolveExamples(body, store, maxExamples), true).length);
      if (body.features.kind === 'embedding' && !service.capabilityNames().includes(body.features.capability)) {
        throw new CapserveError('UNKNOWN_CAPABILITY', `no capability "${body.features.capability}" to take features from`, { details: { valid: service.capabilityNames() } });
      }
      const name = body.register?.capability;
      if (name !== undefined && service.capabilityNames().includes(name)) {
        const registered = await store.listCapabilities();
        const mine = registered.find((entry) => entry.name === name);
        const params = mine?.spec.params as { model?: unknown } | undefined;
        if (params?.model !== body.model) {
          throw new CapserveError('CAPABILITY_EXISTS', `capability "${name}" already exists${mine === undefined ? ' in the configuration file' : ` and serves model "${String(params?.model)}"`}`);
        }
      }
      return reply.code(202).send({ job: jobView(await jobs.submit('train', body)) });
    });

    app.post('/evaluate', {
        schema: {
          operationId: 'evaluateModel',
          tags: ['training'],
          summary: 'Evaluate a model version on labelled examples, as a job.',
          body: evaluateRequestSchema,
          response: { 202: jsonResponse('Accepted: the queued job.', jobReply), ...errorResponses(400, 404, 413, 422, 503, ...access) },
        },
      }, async (request, reply) => {
      requireLabelled(await resolveExamples(request.body, store, maxExamples), false);
      await repository.resolve(request.body.model, request.body.version);
      return reply.code(202).send({ job: jobView(await jobs.submit('evaluate', request.body)) });
    });

    // Not `/predict`: that is text-embeddings-inference's route (server/protocols/tei/).
    app.post('/model-jobs/predict', {
        schema: {
          operationId: 'predictWithModel',
          tags: ['training'],
          summary: 'Run a model version over a data set or uploaded texts, as a job.',
          body: predictRequestSchema,
          response: { 202: jsonResponse('Accepted: the queued job.', jobReply), ...errorResponses(400, 404, 413, 503, ...access) },
        },
      }, async (request, reply) => {
      await resolveExamples(request.body, store, maxExamples);
      await repository.resolve(request.body.model, request.body.version);
      return reply.code(202).send({ job: jobView(await jobs.submit('predict', request.body)) });
    });

    app.get(
      '/model-jobs',
      {
        schema: {
          operationId: 'listModelJobs',
          tags: ['training'],
          summary: 'Train, evaluate and predict jobs, newest first.',
          response: { 200: jsonResponse('The jobs.', z.object({ jobs: z.array(modelJobSchema) })), ...errorResponses(400, ...access) },
          querystring: z.object({ type: z.enum(modelJobTypes).optional(), status: z.enum(modelJobStatuses).optional(), limit: z.coerce.number().int().min(1).max(1000).default(50) }).strict(),
        },
      },
      async (request) => ({
        jobs: (await jobs.list({
          ...(request.query.type === undefined ? {} : { type: request.query.type }),
          ...(request.query.status === undefined ? {} : { statuses: [request.query.status] }),
          limit: request.query.limit,
        })).map(jobView),
      }),
    );
    app.get('/model-jobs/:id', {
        schema: {
          operationId: 'getModelJob',
          tags: ['training'],
          summary: 'A model job: status, stage, progress, result or error.',
          params: id,
          response: { 200: jsonResponse('The job.', modelJobSchema), ...errorResponses(400, 404, ...access) },
        },
      }, async (request) => jobView(await jobs.get(request.params.id)));
    app.delete('/model-jobs/:id', {
        schema: {
          operationId: 'cancelModelJob',
          tags: ['training'],
          summary: 'Cancel a queued or running model job.',
          params: id,
          response: { 200: jsonResponse('The job, cancelled.', modelJobSchema), ...errorResponses(400, 404, 409, ...access) },
        },
      }, async (request) => jobView(await jobs.cancel(request.params.id)));

    app.post(
      '/datasets',
      {
        schema: {
          operationId: 'createDataset',
          tags: ['datasets'],
          summary: 'Store a data set: JSON `{ name, examples | csv }`, or a CSV body (`content-type: text/csv`, `?name=`).',
          response: { 201: jsonResponse('Created.', datasetCreatedSchema), ...errorResponses(400, 404, 413, 415, ...access) },
          querystring: z.object({ name: wellFormedString().min(1).max(200).optional() }).strict(),
          body: z.union([wellFormedString(), exampleSourceSchema.pick({ examples: true, csv: true }).extend({ name: wellFormedString().min(1).max(200) }).strict()]),
        },
      },
      async (request, reply) => {
        const body = request.body;
        const source = typeof body === 'string' ? { csv: body } : body;
        const name = typeof body === 'string' ? request.query.name : body.name;
        if (name === undefined) throw new CapserveError('VALIDATION_ERROR', 'name the data set (`?name=` with a CSV body)');
        const examples = await resolveExamples({ ...('examples' in source ? { examples: source.examples } : {}), ...('csv' in source ? { csv: source.csv } : {}) }, store, maxExamples);
        const dataset = { id: randomUUID(), name, source: 'upload', examples, createdAt: Date.now() };
        await store.putDataset(dataset);
        return reply.code(201).send({ id: dataset.id, name, size: examples.length, labelled: examples.filter((e) => e.label !== undefined).length });
      },
    );
    app.get('/datasets', {
        schema: {
          operationId: 'listDatasets',
          tags: ['datasets'],
          summary: 'Stored data sets (without their examples), newest first.',
          response: { 200: jsonResponse('The data sets.', z.object({ datasets: z.array(datasetSummarySchema).readonly() })), ...errorResponses(...access) },
        },
      }, async () => ({ datasets: await store.listDatasets(1000) }));
    app.get('/datasets/:id', {
        schema: {
          operationId: 'getDataset',
          tags: ['datasets'],
          summary: 'A stored data set with its examples.',
          params: id,
          response: { 200: jsonResponse('The data set.', datasetSchema), ...errorResponses(400, 404, ...access) },
        },
      }, async (request) => {
      const dataset = await store.getDataset(request.params.id);
      if (dataset === undefined) throw new CapserveError('DATASET_NOT_FOUND', `no data set "${request.params.id}"`);
      return dataset;
    });
  };
}
