import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ModelRepository } from '../../models/repository/model-repository.js';
import { type Store } from '../../store/types.js';
import { type AdoptVersion } from '../adopt-version.js';
import { actorOf } from '../authenticate.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { manifestDiffSchema, repositoryModelSchema, verifiedSchema } from '../openapi/response-schemas.js';

const name = z.object({ name: z.string().min(1).max(200) });
const version = z.coerce.number().int().min(1);

/**
 * `GET /models`, `GET /models/:name`, `POST /models/:name/default`, `GET /models/:name/diff`,
 * `POST /models/:name/versions/:version/verify`. A new default goes through `adopt` when given
 * (checksums, then a reload with the version wherever the configuration reads the model's
 * default, then the pointer); without it the version's files are still checked first.
 */
export function modelRoutes(repository: ModelRepository, store?: Store, adopt?: AdoptVersion): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/models', {
        schema: {
          operationId: 'listRepositoryModels',
          tags: ['models'],
          summary: 'Models of the repository with their versions, metrics and default.',
          response: { 200: jsonResponse('Every model of the repository.', z.object({ models: z.array(repositoryModelSchema).readonly() })), ...errorResponses(...access) },
        },
      }, async () => ({
      models: await repository.list(),
    }));
    app.get('/models/:name', {
        schema: {
          operationId: 'getRepositoryModel',
          tags: ['models'],
          summary: 'One model: its versions (manifests) and default.',
          params: name,
          response: { 200: jsonResponse('The model.', repositoryModelSchema), ...errorResponses(400, 404, ...access) },
        },
      }, async (request) =>
      repository.get(request.params.name),
    );
    app.post(
      '/models/:name/default',
      {
        schema: {
          operationId: 'setDefaultModelVersion',
          tags: ['models'],
          summary: 'Make a version the default.',
          description:
            "The version's files are checked against their SHA-256 (422 MODEL_CHECKSUM_MISMATCH, or MODEL_MANIFEST_INVALID for a broken version), and every capability that reads the model's default is reloaded with it (422 RELOAD_REJECTED when one would not load); only then does the default move, so a refused version never reaches the next start.",
          params: name,
          body: z.object({ version }).strict(),
          response: { 200: jsonResponse('The model with its new default.', repositoryModelSchema), ...errorResponses(400, 404, 422, ...access) },
        },
      },
      async (request) => {
        const pin = { model: request.params.name, version: request.body.version };
        // A version that does not exist is a 404 before anything loads.
        await repository.resolve(pin.model, pin.version);
        if (adopt === undefined) await repository.setDefault(pin.model, pin.version);
        else await adopt({ pin });
        const model = await repository.get(pin.model);
        const manifest = model.versions.find((v) => v.version === model.defaultVersion);
        if (store !== undefined && manifest !== undefined) {
          // The store mirrors which version is default and who changed it; the repository's `default` file stays the source of truth.
          await store.putModelVersion({ model: model.name, version: manifest.version, manifest, isDefault: true, recordedAt: Date.now() });
          await store.appendAudit({ at: Date.now(), actor: actorOf(request), action: 'model.default', subject: `model:${model.name}`, details: { version: manifest.version } });
        }
        return model;
      },
    );
    app.get(
      '/models/:name/diff',
      {
        schema: {
          operationId: 'diffModelVersions',
          tags: ['models'],
          summary: 'Manifest, file and metric differences between two versions.',
          params: name,
          querystring: z.object({ from: version, to: version }).strict(),
          response: { 200: jsonResponse('What changed from `from` to `to`.', manifestDiffSchema), ...errorResponses(400, 404, ...access) },
        },
      },
      async (request) => repository.diff(request.params.name, request.query.from, request.query.to),
    );
    app.post(
      '/models/:name/versions/:version/verify',
      {
        schema: {
          operationId: 'verifyModelVersion',
          tags: ['models'],
          summary: "Check every file of a version against its manifest's SHA-256.",
          params: name.extend({ version }),
          response: { 200: jsonResponse('Every file matched.', verifiedSchema), ...errorResponses(400, 404, 422, ...access) },
        },
      },
      async (request) => {
        const { manifest } = await repository.resolve(request.params.name, request.params.version);
        return { name: manifest.name, version: manifest.version, verified: Object.keys(manifest.files).length };
      },
    );
  };
}
