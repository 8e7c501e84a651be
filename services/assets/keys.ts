// Where an asset's objects live in the private bucket: its renditions, and apart from them the
// server-only copy of its upload.
import path from 'node:path';

export const renditionKey = (assetId: string, fileName: string) => `assets/${assetId}/${fileName}`;

/** The server-only copy of the upload: what is verified, scanned, converted and served as the original. */
export const sourceKey = (asset: { id: string; uploadKey: string }) => `sources/${asset.id}/original${path.extname(asset.uploadKey)}`;

/** The prefixes of every private object of an asset. */
export const assetPrefixes = (assetId: string) => [`assets/${assetId}/`, `sources/${assetId}/`];
