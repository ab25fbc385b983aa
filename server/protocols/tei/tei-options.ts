import { type TextLimits } from '../../check-texts.js';

/** What the TEI routes are configured with (settings TEI_*, the request limits, the batcher's limits for `/info`). */
export interface TeiRouteOptions extends TextLimits {
  /** Deadline of every request (TEI's bodies have no field for one): REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs: number;
  /** TEI_EMBEDDING_CAPABILITY: behind `/embed`, `/rerank`, `/tokenize`. @default "embedding" */
  readonly embeddingCapability: string;
  /** TEI_CLASSIFIER_CAPABILITY: behind `/predict`. @default "sentiment" */
  readonly classifierCapability: string;
  /** MAX_QUEUED_TEXTS: texts queued or running before 429; absent, no limit. */
  readonly maxQueuedTexts?: number;
  /** MAX_BATCH_TEXTS. */
  readonly maxBatchTexts?: number;
  /** MAX_BATCH_TOKENS. */
  readonly maxBatchTokens?: number;
}
