import { randomUUID } from 'node:crypto';
import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ReviewQueue } from '../../review/review-queue.js';
import { reviewStatuses, type Store } from '../../store/types.js';
import { documentOnly } from '../openapi/document-only.js';
import { toCsv } from '../../training/parse-csv.js';
import { wellFormedString } from '../../core/well-formed.js';
import { actorOf, identityOf } from '../authenticate.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { auditEntrySchema, datasetCreatedSchema, reviewerSchema, reviewItemSchema } from '../openapi/response-schemas.js';

const id = z.object({ id: z.string().min(1).max(200) });
const exportSchema = documentOnly(z.object({ examples: z.array(z.object({ text: z.string(), label: z.string().optional() })).readonly() }));
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
          operationId: 'addReviewer',
          tags: ['reviews'],
          summary: 'Add a reviewer (or update one, by id) with the capabilities they take ("*" for any) and how many items they hold at once.',
          response: { 201: jsonResponse('The reviewer.', reviewerSchema), ...errorResponses(400, ...access) },
          body: z
            .object({
              id: wellFormedString().min(1).max(200).optional(),
              name: wellFormedString().min(1).max(200),
              specialisations: z.array(wellFormedString().min(1).max(200)).min(1),
              capacity: z.number().int().min(1).max(10_000).default(10),
            })
            .strict(),
        },
      },
      async (request, reply) => reply.code(201).send(await reviews.addReviewer(request.body, actorOf(request))),
    );
    app.get('/reviewers', {
        schema: {
          operationId: 'listReviewers',
          tags: ['reviews'],
          summary: 'Reviewers with the items each holds.',
          response: { 200: jsonResponse('The reviewers.', z.object({ reviewers: z.array(reviewerSchema.extend({ assigned: z.number().int() })).readonly() })), ...errorResponses(...access) },
        },
      }, async () => ({ reviewers: await reviews.reviewers() }));

    app.get(
      '/reviews',
      {
        schema: {
          operationId: 'listReviews',
          tags: ['reviews'],
          summary: 'Review items, oldest first.',
          response: { 200: jsonResponse('The review items.', z.object({ reviews: z.array(reviewItemSchema).readonly() })), ...errorResponses(400, ...access) },
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
      {
        schema: {
          operationId: 'exportReviews',
          tags: ['reviews'],
          summary: 'Corrected labels as a training set.',
          querystring: capabilityQuery.extend({ format: z.enum(['json', 'csv']).default('json') }).strict(),
          response: {
            200: {
              description: 'The corrected examples: JSON by default, CSV (`text,label`) with `format=csv`.',
              content: { 'application/json': { schema: exportSchema }, 'text/csv': { schema: z.string() } },
            },
            ...errorResponses(400, ...access),
          },
        },
      },
      async (request, reply) => {
        const examples = await reviews.export(request.query.capability);
        if (request.query.format === 'json') return { examples };
        return reply.type('text/csv; charset=utf-8').send(toCsv(['text', 'label'], examples.map((e) => [e.text, e.label ?? ''])));
      },
    );
    app.post(
      '/reviews/export',
      {
        schema: {
          operationId: 'storeReviewsAsDataset',
          tags: ['reviews'],
          summary: 'Store the corrected labels as a data set for /train.',
          body: capabilityQuery.extend({ name: wellFormedString().min(1).max(200).optional() }).strict(),
          response: { 201: jsonResponse('The stored data set.', datasetCreatedSchema), ...errorResponses(400, ...access) },
        },
      },
      async (request, reply) => {
        const examples = await reviews.export(request.body.capability);
        const dataset = { id: randomUUID(), name: request.body.name ?? `reviews-${request.body.capability ?? 'all'}`, source: 'reviews', examples, createdAt: Date.now() };
        await store.putDataset(dataset);
        return reply.code(201).send({ id: dataset.id, name: dataset.name, size: examples.length });
      },
    );
    app.get('/reviews/:id', {
        schema: {
          operationId: 'getReview',
          tags: ['reviews'],
          summary: 'One review item.',
          params: id,
          response: { 200: jsonResponse('The review item.', reviewItemSchema), ...errorResponses(400, 404, ...access) },
        },
      }, async (request) => reviews.get(request.params.id));
    app.post(
      '/reviews/:id',
      {
        schema: {
          operationId: 'resolveReview',
          tags: ['reviews'],
          summary: 'Resolve an item with the corrected label (by the reviewer it is assigned to).',
          response: { 200: jsonResponse('The resolved item.', reviewItemSchema), ...errorResponses(400, 404, 409, ...access) },
          params: id,
          body: z.object({ reviewer: wellFormedString().min(1).max(200), label: wellFormedString().min(1).max(200) }).strict(),
        },
      },
      async (request) => reviews.resolve(request.params.id, request.body.reviewer, request.body.label, identityOf(request)?.label),
    );

    app.get(
      '/audit',
      {
        schema: {
          operationId: 'listAudit',
          tags: ['reviews'],
          summary: 'The audit log, oldest first.',
          response: { 200: jsonResponse('The audit entries.', z.object({ entries: z.array(auditEntrySchema).readonly() })), ...errorResponses(400, ...access) },
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
