// An operator's view of a run: Debian's headless Chromium, driven by playwright-core, opens the run's
// `uiUrl` (and the UI's search by BusinessKey) in the real Temporal Web UI and sees the workflow there.
// Screenshots go to test-artifacts/ (git-ignored).
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { convertedAsset } from '../support/ops';
import { shared, startApi } from '../support/shared';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Loads `url` and waits until the page's text contains `text`; saves a full-page screenshot as `name`. */
async function showsText(page: Page, url: string, text: string, name: string): Promise<string> {
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: 60_000 });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true, timeout: 30_000 });
  return file;
}

describe('Temporal UI in a headless browser (issue 7)', function () {
  this.timeout(180_000);
  let userDataDir: string;
  let browser: BrowserContext;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/stack.sh install)`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    userDataDir = await mkdtemp(path.join(tmpdir(), 'edulure-chromium-'));
    // A persistent context is how playwright takes a user data directory: a fresh one per suite.
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      timeout: 60_000,
    });
  });

  after(async () => {
    await browser?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it("opens a finished run's uiUrl and finds the same run by its BusinessKey", async () => {
    const api = await startApi();
    const { assetId, run } = await convertedAsset(api.url);
    const page = await browser.newPage();

    const runShot = await showsText(page, run.uiUrl, run.workflowId, 'temporal-ui-run.png');
    expect(page.url()).to.contain(encodeURIComponent(run.runId));
    expect((await stat(runShot)).size).to.be.greaterThan(10_000);

    // What the README tells operators to type in the UI's query box.
    const ui = shared().config.TEMPORAL_UI_URL.replace(/\/+$/, '');
    const namespace = encodeURIComponent(shared().config.TEMPORAL_NAMESPACE);
    const query = encodeURIComponent(`BusinessKey = "${assetId}"`);
    const listShot = await showsText(page, `${ui}/namespaces/${namespace}/workflows?query=${query}`, run.workflowId, 'temporal-ui-business-key.png');
    expect((await stat(listShot)).size).to.be.greaterThan(10_000);
    await page.close();
  });
});
