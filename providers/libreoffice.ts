import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConversionError } from './conversionError';
import { runProcess } from './runProcess';

export interface LibreOfficeOptions {
  bin: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** LibreOffice import filter name; unset lets it guess from the content. */
  inputFilter?: string;
}

/**
 * Converts one document headless and returns `<outDir>/<input name>.<format>`.
 * Each call gets a throwaway user profile: LibreOffice allows one running
 * instance per profile, so a shared one would make parallel conversions
 * collide or hand their work to each other.
 */
export async function convertWithLibreOffice(
  inputPath: string,
  outDir: string,
  format: string,
  options: LibreOfficeOptions,
): Promise<string> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'edulure-soffice-'));
  try {
    const convertedDir = path.join(workDir, 'out');
    const { stdout, stderr } = await runProcess(
      options.bin,
      [
        '--headless',
        '--invisible',
        '--nologo',
        '--nodefault',
        '--nolockcheck',
        '--norestore',
        `-env:UserInstallation=${pathToFileURL(path.join(workDir, 'profile')).href}`,
        ...(options.inputFilter ? [`--infilter=${options.inputFilter}`] : []),
        '--convert-to',
        format,
        '--outdir',
        convertedDir,
        // Absolute, so a file name starting with "-" is never read as an option.
        path.resolve(inputPath),
      ],
      { timeoutMs: options.timeoutMs, signal: options.signal },
    );
    const produced = await findOutput(convertedDir, format);
    if (!produced) throw noOutputError(`${stdout.toString('utf8')}\n${stderr}`.trim());
    const outputPath = path.join(outDir, `${path.parse(inputPath).name}.${format}`);
    await copyFile(produced, outputPath);
    return outputPath;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function findOutput(dir: string, format: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const name = names.find((n) => n.toLowerCase().endsWith(`.${format}`));
  return name === undefined ? undefined : path.join(dir, name);
}

// LibreOffice exits 0 even when it could not convert; its message tells a bad file from a broken tool.
function noOutputError(output: string): ConversionError {
  const detail = output || undefined;
  if (/could not be loaded|general input\/output error|file format/i.test(output)) {
    return new ConversionError('LibreOffice could not read the document', 'corrupt_input', { detail });
  }
  return new ConversionError('LibreOffice produced no output', 'tool_crashed', { detail });
}
