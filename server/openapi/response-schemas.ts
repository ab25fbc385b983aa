import { z } from 'zod';
import { jobStatuses, routes } from '../../jobs/types.js';
import { modelJobStatuses, modelJobTypes, reviewStatuses } from '../../store/types.js';

/**
 * Response bodies of the native API, for the OpenAPI document and its clients: what they name
 * is what clients may rely on. They are documentation (`jsonResponse` marks them so): bodies are
 * written as the handlers build them, never stripped, and the served document allows fields
 * it does not name, so a field a newer layer adds breaks no client.
 */

/** Domain objects hold readonly arrays; the schema says so, so handlers return them as they are. */
const list = <T extends z.ZodType>(item: T) => z.array(item).readonly();

const epochMs = z.number().meta({ description: 'Epoch milliseconds.' });
const errorRecord = z.object({ code: z.string(), message: z.string() });

export const batchInfoSchema = z
  .object({
    id: z.number().int(),
    texts: z.number().int().meta({ description: 'Distinct texts computed in the batch.' }),
    requests: z.number().int(),
    waitedMs: z.number().meta({ description: 'How long this request waited for its window to close.' }),
  })
  .meta({ id: 'BatchInfo' });

export const healthSchema = z.object({ status: z.literal('ok'), phase: z.string() });

export const readinessSchema = z.object({
  ready: z.boolean(),
  phase: z.string(),
  models: list(z.object({ name: z.string(), state: z.string(), device: z.string().optional(), adapter: z.string().optional(), error: z.string().optional() })),
});

export const capabilitiesSchema = z.object({
  capabilities: list(
    z
      .object({
        name: z.string(),
        dependsOn: list(z.string()),
        kind: z.string(),
        model: z.string().nullable(),
        backend: z.string().nullable(),
        device: z.string().nullable(),
        adapter: z.string().optional(),
        available: z.boolean(),
        reason: z.string().optional(),
      })
  ),
});

const percentiles = z.object({ mean: z.number(), p50: z.number(), p95: z.number() });
export const statsSchema = z
  .object({
    phase: z.string(),
    requests: z.object({ total: z.number(), failed: z.number(), meanWaitMs: z.number() }),
    texts: z.object({ submitted: z.number(), computed: z.number(), duplicatesSaved: z.number() }),
    batches: z.object({ total: z.number(), size: percentiles, requestsPerBatch: z.number() }),
    capabilities: z.record(z.string(), z.object({ executions: z.number(), failures: z.number(), texts: z.number(), latencyMs: percentiles })),
    executions: z.object({ actual: z.number(), optimal: z.number(), naive: z.number(), saved: z.number(), savedRatio: z.number() }),
    resultCache: z.object({ size: z.number(), hits: z.number(), misses: z.number(), hitRate: z.number() }),
    models: list(z.object({ name: z.string(), backend: z.string(), state: z.string(), instances: z.number() })),
    costCurves: list(z.object({ model: z.string(), points: list(z.object({ batch: z.number().int(), ms: z.number() })) })),
  })
  ;

export const reloadSchema = z.object({
  capabilities: list(z.string()),
  speech: z
    .object({
      change: z.enum(['none', 'loaded', 'removed', 'unavailable']).meta({ description: 'What the reload did to the speech backend: kept it (the `speech` section is unchanged), loaded a new one (running transcriptions finish on the old), removed it, or left it unavailable (it did not load before either).' }),
      backend: z.string().optional(),
      language: z.string().optional(),
      unavailable: z.string().optional().meta({ description: 'Why transcription is unavailable now.' }),
    })
    .optional(),
});

export const manifestSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    backend: z.string(),
    task: z.string(),
    files: z.record(z.string(), z.string()).meta({ description: 'Path to SHA-256 (hex).' }),
    labels: list(z.string()).optional(),
    metrics: z.record(z.string(), z.number()),
    createdAt: z.string(),
    tags: list(z.string()),
  })
  
  .meta({ id: 'Manifest' });

export const repositoryModelSchema = z
  .object({
    name: z.string(),
    defaultVersion: z.number().int(),
    versions: list(manifestSchema).meta({ description: 'The versions whose manifests are valid.' }),
    broken: list(z.object({ version: z.number().int(), reason: z.string() }))
      .optional()
      .meta({ description: 'Versions whose manifest.json is missing, unreadable or invalid, with why (paths relative to the repository); present only when there are any.' }),
  })
  
  .meta({ id: 'RepositoryModel' });

export const manifestDiffSchema = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    changed: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
    files: z.object({ added: list(z.string()), removed: list(z.string()), changed: list(z.string()) }),
    metrics: z.record(z.string(), z.object({ from: z.number().optional(), to: z.number().optional(), delta: z.number().optional() })),
  })
  ;

export const verifiedSchema = z.object({ name: z.string(), version: z.number().int(), verified: z.number().int().meta({ description: 'Files checked.' }) });

export const modelJobSchema = z
  .object({
    id: z.string(),
    type: z.enum(modelJobTypes),
    status: z.enum(modelJobStatuses),
    progress: z.number().meta({ description: '0 to 1.' }),
    stage: z.string().optional(),
    request: z.record(z.string(), z.unknown()).meta({ description: 'The request, with `examples` as their count and `csv` as `csvBytes`.' }),
    result: z.unknown().optional(),
    error: errorRecord.optional(),
    createdAt: epochMs,
    updatedAt: epochMs,
    finishedAt: epochMs.optional(),
  })
  
  .meta({ id: 'ModelJob' });

const example = z.object({ text: z.string(), label: z.string().optional() });
export const datasetCreatedSchema = z.object({ id: z.string(), name: z.string(), size: z.number().int(), labelled: z.number().int().optional() });
export const datasetSummarySchema = z.object({ id: z.string(), name: z.string(), source: z.string(), createdAt: epochMs });
export const datasetSchema = datasetSummarySchema.extend({ examples: list(example) }).meta({ id: 'Dataset' });

export const reviewerSchema = z
  .object({ id: z.string(), name: z.string(), specialisations: list(z.string()), capacity: z.number().int(), createdAt: epochMs })
  
  .meta({ id: 'Reviewer' });

export const reviewItemSchema = z
  .object({
    id: z.string(),
    capability: z.string(),
    text: z.string(),
    result: z.unknown().meta({ description: "The capability's result as it was answered." }),
    reason: z.string(),
    status: z.enum(reviewStatuses),
    assignee: z.string().optional(),
    assignedAt: epochMs.optional(),
    dueAt: epochMs.optional(),
    previousAssignees: list(z.string()),
    escalations: z.number().int(),
    correctedLabel: z.string().optional(),
    resolvedBy: z.string().optional(),
    resolvedAt: epochMs.optional(),
    createdAt: epochMs,
  })
  
  .meta({ id: 'ReviewItem' });

export const auditEntrySchema = z
  .object({ seq: z.number().int(), at: epochMs, actor: z.string(), action: z.string(), subject: z.string(), details: z.record(z.string(), z.unknown()) })
  ;

/** The planner's verdict on a `/process` job. */
export const jobPlanSchema = z
  .object({
    complexity: z.object({ level: z.string(), estimatedMs: z.number() }),
    resources: z.object({ classes: list(z.string()), estimatedMemoryMb: z.number() }),
    routing: z
      .object({
        route: z.enum(routes),
        worker: z.string().nullable(),
        alternatives: list(z.object({ worker: z.string(), queue: z.string(), score: z.number() })),
        confidence: z.number(),
        reason: z.string(),
        fallback: z.string().optional(),
      })
  })
  
  .meta({ id: 'JobPlan' });

export const jobRecordSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    status: z.enum(jobStatuses),
    progress: z.number().meta({ description: '0 to 1.' }),
    attempts: z.number().int(),
    createdAt: epochMs,
    finishedAt: epochMs.optional(),
    result: z.unknown().optional(),
    error: errorRecord.optional(),
  })
  
  .meta({ id: 'Job' });
