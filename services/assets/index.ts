// The assets domain: its catalog (what the API does), the records of an ingestion and the conversion of uploads.
export * from './catalog';
export * from './conversion';
export * from './ingestion';
export * from './keys';
