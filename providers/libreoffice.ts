import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConversionError } from './conversionError';
import { stripExternalRelationships } from './officeLinks';
import { DEFAULT_SANDBOX_LIMITS, runSandboxed, type SandboxLimits } from './sandbox';

export interface LibreOfficeOptions {
  bin: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** LibreOffice import filter name; unset lets it guess from the content. */
  inputFilter?: string;
  sandbox?: SandboxLimits;
}

/** Where the conversion's work dir appears inside the sandbox. */
const JOB_DIR = '/job';
const ZIP_LOCAL_HEADER = Buffer.from('PK\x03\x04', 'latin1');

/**
 * The per-conversion profile: never update links, block resources of
 * untrusted documents (every upload is one), never run macros.
 */
const PROFILE_SETTINGS = `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableActiveContent" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
`;

/**
 * Converts one document headless and returns `<outDir>/<input name>.<format>`.
 * Each call gets a throwaway user profile: LibreOffice allows one running
 * instance per profile, so a shared one would make parallel conversions
 * collide or hand their work to each other. LibreOffice runs sandboxed
 * (providers/sandbox.ts) and sees only that work dir; an Office package loses
 * its external relationships before it gets there.
 */
export async function convertWithLibreOffice(
  inputPath: string,
  outDir: string,
  format: string,
  options: LibreOfficeOptions,
): Promise<string> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'edulure-soffice-'));
  try {
    const stagedName = await stageJob(workDir, inputPath);
    const { stdout, stderr } = await runSandboxed(
      options.bin,
      [
        '--headless',
        '--invisible',
        '--nologo',
        '--nodefault',
        '--nolockcheck',
        '--norestore',
        `-env:UserInstallation=file://${JOB_DIR}/profile`,
        ...(options.inputFilter ? [`--infilter=${options.inputFilter}`] : []),
        '--convert-to',
        format,
        '--outdir',
        `${JOB_DIR}/out`,
        // Absolute, so a file name starting with "-" is never read as an option.
        `${JOB_DIR}/in/${stagedName}`,
      ],
      {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        limits: options.sandbox ?? DEFAULT_SANDBOX_LIMITS,
        workDir: { host: workDir, path: JOB_DIR },
      },
    );
    const produced = await findOutput(path.join(workDir, 'out'), format);
    if (!produced) throw noOutputError(`${stdout.toString('utf8')}\n${stderr}`.trim());
    const outputPath = path.join(outDir, `${path.parse(inputPath).name}.${format}`);
    await copyFile(produced, outputPath);
    return outputPath;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Lays out `in/<input>` (without external links), `out/` and the locked-down `profile/`; returns the input's name. */
async function stageJob(workDir: string, inputPath: string): Promise<string> {
  const name = path.basename(inputPath);
  await Promise.all(['in', 'out', 'profile/user'].map((dir) => mkdir(path.join(workDir, dir), { recursive: true })));
  await writeFile(path.join(workDir, 'profile/user/registrymodifications.xcu'), PROFILE_SETTINGS);
  await writeFile(path.join(workDir, 'in', name), await withoutExternalLinks(await readFile(inputPath)));
  return name;
}

async function withoutExternalLinks(input: Buffer): Promise<Buffer> {
  if (!input.subarray(0, ZIP_LOCAL_HEADER.length).equals(ZIP_LOCAL_HEADER)) return input;
  try {
    return (await stripExternalRelationships(input)).output;
  } catch (err) {
    throw new ConversionError('the document is not a readable ZIP archive', 'corrupt_input', { cause: err });
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
