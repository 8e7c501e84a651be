import sharp from 'sharp';
import { ConversionError, corruptInput } from './conversionError';

export interface ImageRendition {
  name: string;
  contentType: string;
  buffer: Buffer;
  width: number;
  height: number;
}

export interface ImageRenditions {
  /** Of the original, as displayed (after EXIF orientation). */
  width: number;
  height: number;
  renditions: ImageRendition[];
}

const RENDITION_WIDTHS = [
  { name: 'w320', width: 320 },
  { name: 'w1280', width: 1280 },
];

type OutputFormat = 'jpeg' | 'png';

// Phone photos often carry benign decoder warnings (sharp's default rejects
// those); a truncated upload is still refused.
const DECODE_STRICTNESS = { failOn: 'truncated' } as const;

export const DEFAULT_IMAGE_MAX_PIXELS = 50_000_000;

/**
 * Renditions at fixed widths, never wider than the original. Output carries
 * no metadata at all: sharp drops EXIF (camera, GPS), XMP and ICC unless told
 * to keep them, and converts pixels to sRGB so colours survive losing the profile.
 * Photos stay JPEG; anything else becomes PNG to keep sharp edges and transparency.
 */
export async function imageRenditions(input: Buffer, timeoutMs: number, maxPixels: number): Promise<ImageRenditions> {
  const metadata = await sharp(input, DECODE_STRICTNESS)
    .metadata()
    .catch((err: unknown) => {
      throw imageError(err);
    });
  // Checked from the header before any pixel is decoded: a small file can declare a gigapixel canvas.
  if ((metadata.width ?? 0) * (metadata.height ?? 0) > maxPixels) {
    throw corruptInput(`the image has more than ${maxPixels} pixels (${metadata.width}×${metadata.height})`);
  }
  const format: OutputFormat = metadata.format === 'jpeg' ? 'jpeg' : 'png';
  const renditions: ImageRendition[] = [];
  for (const { name, width } of RENDITION_WIDTHS) {
    renditions.push(await render(input, { name, width, format, timeoutMs, maxPixels }));
  }
  return { width: metadata.autoOrient.width, height: metadata.autoOrient.height, renditions };
}

interface RenditionSpec {
  name: string;
  width: number;
  format: OutputFormat;
  timeoutMs: number;
  maxPixels: number;
}

async function render(input: Buffer, { name, width, format, timeoutMs, maxPixels }: RenditionSpec): Promise<ImageRendition> {
  const pipeline = sharp(input, { ...DECODE_STRICTNESS, autoOrient: true, limitInputPixels: maxPixels })
    .resize({ width, withoutEnlargement: true })
    .timeout({ seconds: Math.max(1, Math.ceil(timeoutMs / 1000)) });
  const encoded = format === 'jpeg' ? pipeline.jpeg({ quality: 82, mozjpeg: true }) : pipeline.png({ compressionLevel: 9 });
  try {
    const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
    return { name, contentType: `image/${format}`, buffer: data, width: info.width, height: info.height };
  } catch (err) {
    throw imageError(err);
  }
}

function imageError(err: unknown): ConversionError {
  const message = err instanceof Error ? err.message : String(err);
  if (/timeout/i.test(message)) return new ConversionError('image processing timed out', 'timeout', { cause: err });
  return corruptInput('the image cannot be decoded', err);
}
