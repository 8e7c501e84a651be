import { isDefault, type Config } from '../lib/config';
import type { Db } from '../lib/db';
import { createConverter } from './converter';
import { createPostgresSearchIndex } from './postgresSearch';
import { createScanner } from './scanner';
import { createMeilisearchIndex, type SearchIndex } from './search';
import { createStorage } from './storage';
import { createStripeClient, STRIPE_API } from './stripe';

export function createStorageFromConfig(config: Config) {
  return createStorage({
    endpoint: config.S3_ENDPOINT,
    publicEndpoint: config.S3_PUBLIC_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
  });
}

/** clamd, the only antivirus engine. A scan reads the whole upload, so it gets a converter's time budget. */
export function createScannerFromConfig(config: Config) {
  return createScanner({ clamdHost: config.CLAMD_HOST, clamdPort: config.CLAMD_PORT, timeoutMs: config.CONVERTER_TIMEOUT_SECONDS * 1000 });
}

/** Meilisearch when MEILISEARCH_HOST is set, else Postgres full-text search. */
export function createSearchIndex(config: Config, db: Db): SearchIndex {
  if (!config.MEILISEARCH_HOST) return createPostgresSearchIndex(db);
  return createMeilisearchIndex({
    host: config.MEILISEARCH_HOST,
    apiKey: config.MEILISEARCH_API_KEY,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    indexName: 'assets',
  });
}

/** stripe-mock (or a test proxy) unless a real key is given with the base left at its default. */
export function createStripeFromConfig(config: Config) {
  const useRealApi = !isDefault(config, 'STRIPE_SECRET_KEY') && isDefault(config, 'STRIPE_API_BASE');
  return createStripeClient({
    apiBase: useRealApi ? STRIPE_API : config.STRIPE_API_BASE,
    secretKey: config.STRIPE_SECRET_KEY,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
  });
}

/** Every external system's client, built from the validated configuration. */
export function createProviders(config: Config, db: Db) {
  return {
    storage: createStorageFromConfig(config),
    converter: createConverter({
      libreofficeBin: config.LIBREOFFICE_BIN,
      pdftoppmBin: config.PDFTOPPM_BIN,
      pdfinfoBin: config.PDFINFO_BIN,
      pdftotextBin: config.PDFTOTEXT_BIN,
      timeoutMs: config.CONVERTER_TIMEOUT_SECONDS * 1000,
      sandbox: { memoryMb: config.CONVERTER_MEMORY_MB, cpuSeconds: config.CONVERTER_CPU_SECONDS },
      imageMaxPixels: config.IMAGE_MAX_PIXELS,
      archiveMaxUncompressedBytes: config.ARCHIVE_MAX_UNCOMPRESSED_MB * 1024 * 1024,
    }),
    scanner: createScannerFromConfig(config),
    search: createSearchIndex(config, db),
    stripe: createStripeFromConfig(config),
  };
}

export type Providers = ReturnType<typeof createProviders>;
