import { randomUUID } from 'node:crypto';
import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ReviewQueue } from '../../review/review-queue.js';
import { reviewStatuses, type Store } from '../../store/types.js';
import { toCsv } from '../../training/parse-csv.js';

const id = z.object({ id: z.string().min(1).max(200) });
const capabilityQuery = z.object({ capability: z.string().min(1).max(200).optional() });

/**
 * Human review: `POST|GET /reviewers`, `GET /reviews`, `GET /reviews/:id`, `POST /reviews/:id`
 * (the corrected label), `GET /reviews/export` (JSON or CSV), `POST /reviews/export` (as a
 * stored data set, ready for `/train`), and `GET /audit`.
 */
export function reviewRoutes(reviews: ReviewQueue, store: Store): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/reviewers',
      {
        schema: {
          summary: 'Add a reviewer (or update one, by id) with the capabilities they take ("*" for any) and how many items they hold at once.',
          body: z
            .object({
              id: z.string().min(1).max(200).optional(),
              name: z.string().min(1).max(200),
              specialisations: z.array(z.string().min(1).max(200)).min(1),
              capacity: z.number().int().min(1).max(10_000).default(10),
            })
            .strict(),
        },
      },
      async (request, reply) => reply.code(201).send(await reviews.addReviewer(request.body, 'api')),
    );
    app.get('/reviewers', { schema: { summary: 'Reviewers with the items each holds.' } }, async () => ({ reviewers: await reviews.reviewers() }));

    app.get(
      '/reviews',
      {
        schema: {
          summary: 'Review items, oldest first.',
          querystring: capabilityQuery
            .extend({
              status: z.enum(reviewStatuses).optional(),
              assignee: z.string().min(1).max(200).optional(),
              limit: z.coerce.number().int().min(1).max(1000).default(100),
            })
            .strict(),
        },
      },
      async (request) => {
        const { status, assignee, capability, limit } = request.query;
        return {
          reviews: await reviews.list({
            ...(status === undefined ? {} : { statuses: [status] }),
            ...(assignee === undefined ? {} : { assignee }),
            ...(capability === undefined ? {} : { capability }),
            limit,
          }),
        };
      },
    );
    app.get(
      '/reviews/export',
      { schema: { summary: 'Corrected labels as a training set.', querystring: capabilityQuery.extend({ format: z.enum(['json', 'csv']).default('json') }).strict() } },
      async (request, reply) => {
        const examples = await reviews.export(request.query.capability);
        if (request.query.format === 'json') return { examples };
        return reply.type('text/csv; charset=utf-8').send(toCsv(['text', 'label'], examples.map((e) => [e.text, e.label ?? ''])));
      },
    );
    app.post(
      '/reviews/export',
      { schema: { summary: 'Store the corrected labels as a data set for /train.', body: capabilityQuery.extend({ name: z.string().min(1).max(200).optional() }).strict() } },
      async (request, reply) => {
        const examples = await reviews.export(request.body.capability);
        const dataset = { id: randomUUID(), name: request.body.name ?? `reviews-${request.body.capability ?? 'all'}`, source: 'reviews', examples, createdAt: Date.now() };
        await store.putDataset(dataset);
        return reply.code(201).send({ id: dataset.id, name: dataset.name, size: examples.length });
      },
    );
    app.get('/reviews/:id', { schema: { summary: 'One review item.', params: id } }, async (request) => reviews.get(request.params.id));
    app.post(
      '/reviews/:id',
      {
        schema: {
          summary: 'Resolve an item with the corrected label (by the reviewer it is assigned to).',
          params: id,
          body: z.object({ reviewer: z.string().min(1).max(200), label: z.string().min(1).max(200) }).strict(),
        },
      },
      async (request) => reviews.resolve(request.params.id, request.body.reviewer, request.body.label),
    );

    app.get(
      '/audit',
      {
        schema: {
          summary: 'The audit log, oldest first.',
          querystring: z
            .object({ subject: z.string().min(1).max(300).optional(), afterSeq: z.coerce.number().int().min(0).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) })
            .strict(),
        },
      },
      async (request) => {
        const { subject, afterSeq, limit } = request.query;
        return { entries: await store.listAudit({ ...(subject === undefined ? {} : { subject }), ...(afterSeq === undefined ? {} : { afterSeq }), limit }) };
      },
    );
  };
}
