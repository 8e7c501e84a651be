import { expect } from 'chai';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = path.resolve(__dirname, '../..');

const PROBE = 'workflows/lintProbe.ts';

/**
 * The rule ids ESLint reports for `code` placed in workflows/. The probe exists only in memory, so
 * the TypeScript project cannot know it: it is linted without type information, which the rules
 * under test (imports, globals, properties) do not need.
 */
async function ruleIdsFor(code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, overrideConfig: { files: [PROBE], ...tseslint.configs.disableTypeChecked } });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, PROBE) });
  return result.messages.map((m) => m.ruleId ?? m.message);
}

describe('the workflow sandbox lint rule (SPEC §1)', function () {
  this.timeout(60000);

  it('refuses Node built-ins and runtime imports of api/, activities/, providers/, db/ and lib/', async () => {
    for (const line of [
      "import { readFile } from 'node:fs/promises';\nexport const f = readFile;",
      "import path from 'path';\nexport const p = path;",
      "import { createDb } from '../lib/db';\nexport const d = createDb;",
      "import { createAssetActivities } from '../activities/assets';\nexport const a = createAssetActivities;",
      "import { Asset } from '../db/models/Asset';\nexport const m = Asset;",
    ]) {
      expect(await ruleIdsFor(line), line).to.include('@typescript-eslint/no-restricted-imports');
    }
  });

  it('refuses Date.now(), Math.random() and process', async () => {
    expect(await ruleIdsFor('export const t = Date.now();')).to.include('no-restricted-properties');
    expect(await ruleIdsFor('export const r = Math.random();')).to.include('no-restricted-properties');
    expect(await ruleIdsFor('export const e = process.env.X;')).to.include('no-restricted-globals');
  });

  it('allows type-only imports of activities and the SDK', async () => {
    const code = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import type { AssetActivities } from '../activities/assets';",
      "export const acts = proxyActivities<AssetActivities>({ startToCloseTimeout: '1 minute' });",
    ].join('\n');
    expect(await ruleIdsFor(code)).to.deep.equal([]);
  });
});
