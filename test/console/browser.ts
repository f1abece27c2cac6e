/**
 * Headless Chromium for the console's end-to-end tests (test/console/) and benchmark
 * (bench/console.ts): Debian's `chromium` (installed by scripts/peers/chromium.sh) driven by
 * playwright-core, plus the page measurements both report.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runInstaller, runScript } from '../peers/install.js';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Installs Chromium when missing (`scripts/peers/chromium.sh`: apt-get, idempotent) and builds the
 * console when stale (`scripts/console.mjs`). Quick once both are done.
 * @throws PeerInstallError with the script's output when either fails.
 */
export async function prepareConsoleBrowser(): Promise<void> {
  await runInstaller('chromium.sh');
  await runScript(process.execPath, ['scripts/console.mjs']);
}

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /**
   * The browser binary.
   * @default {@link CHROMIUM_PATH}
   */
  executablePath?: string;
}

/**
 * Launches headless Chromium. `--no-sandbox`: the tests run as root in a container, where
 * Chromium's sandbox cannot start.
 */
export function launchChromium({ executablePath = CHROMIUM_PATH }: LaunchChromiumOptions = {}): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/**
 * The browser globals the page scripts below use, typed here because the root tsconfig (Node code)
 * has no DOM library. Each script reads them from `globalThis` inside the page.
 */
export interface PageGlobals {
  document: { querySelectorAll(selector: string): { length: number } };
  sessionStorage: { setItem(key: string, value: string): void };
  performance: {
    now(): number;
    getEntriesByName(name: string): { startTime: number }[];
    getEntriesByType(type: 'resource'): { name: string; initiatorType: string; startTime: number; duration: number; responseEnd: number }[];
  };
  PerformanceObserver: new (callback: (list: { getEntries(): { startTime: number; duration: number }[] }) => void) => { observe(options: { type: string; buffered?: boolean }): void };
  requestAnimationFrame(callback: (time: number) => void): number;
  requestIdleCallback(callback: () => void, options: { timeout: number }): number;
  /** Set by {@link measurePan} while it pans. */
  panProbe?: { longest: number; frames: number[]; running: boolean };
}

/** A laptop screen: the console must be usable at this size. */
export const LAPTOP_VIEWPORT = { width: 1366, height: 768 } as const;

/** Milliseconds from navigation start to the first contentful paint and to `selector` being visible. */
export interface PaintTiming {
  firstContentfulPaintMs: number;
  populatedMs: number;
  /** The longest API call (`fetch`) the page made until populated: the share of waiting for the API. */
  longestFetchMs: number;
  /** When the page's first API call started: the page's boot (HTML, scripts, first render). */
  firstFetchStartMs: number;
  /** When the last API call's answer had arrived: `populatedMs` minus this is the page's own work after it. */
  lastFetchEndMs: number;
}

/**
 * Opens `url` and measures, from navigation start, the first contentful paint and the moment
 * `selector` matches `count` elements (the page is populated), waiting at most `timeoutMs`.
 */
export async function measurePaint(page: Page, url: string, selector: string, count = 1, timeoutMs = 60_000): Promise<PaintTiming> {
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(
    ({ selector: css, count: wanted }) => (globalThis as unknown as PageGlobals).document.querySelectorAll(css).length >= wanted,
    { selector, count },
    { timeout: timeoutMs, polling: 'raf' },
  );
  const { populatedMs, longestFetchMs, firstFetchStartMs, lastFetchEndMs } = await page.evaluate(() => {
    const { performance } = globalThis as unknown as PageGlobals;
    const fetches = performance.getEntriesByType('resource').filter((entry) => entry.initiatorType === 'fetch');
    return {
      populatedMs: performance.now(),
      longestFetchMs: Math.max(0, ...fetches.map((entry) => entry.duration)),
      firstFetchStartMs: Math.min(...fetches.map((entry) => entry.startTime)),
      lastFetchEndMs: Math.max(0, ...fetches.map((entry) => entry.responseEnd)),
    };
  });
  const firstContentfulPaintMs = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const { performance, PerformanceObserver } = globalThis as unknown as PageGlobals;
        const entry = performance.getEntriesByName('first-contentful-paint')[0];
        if (entry) resolve(entry.startTime);
        else new PerformanceObserver((list) => resolve(list.getEntries()[0]?.startTime ?? Number.NaN)).observe({ type: 'paint', buffered: true });
      }),
  );
  return { firstContentfulPaintMs, populatedMs, longestFetchMs, firstFetchStartMs, lastFetchEndMs };
}

/** How smooth a scripted pan was. */
export interface PanTiming {
  /** The longest main-thread task while panning (`PerformanceObserver('longtask')`), 0 when none reached 50 ms. */
  longestTaskMs: number;
  /** The longest gap between two animation frames while panning. */
  longestFrameGapMs: number;
  /** Animation frames per second while panning. */
  framesPerSecond: number;
  durationMs: number;
}

/**
 * Drags the mouse across the middle of `selector`'s box in `steps` moves (default 60) over
 * `distance` pixels (default 600): a pan of a React Flow pane, while recording long tasks and frame
 * gaps. It starts once the page is idle, so the work of its first render is not counted as the pan's.
 */
export async function measurePan(page: Page, selector: string, { steps = 60, distance = 600 } = {}): Promise<PanTiming> {
  const box = await page.locator(selector).first().boundingBox();
  if (!box) throw new Error(`no ${selector} on the page to pan`);
  await page.evaluate(() => new Promise<void>((resolve) => (globalThis as unknown as PageGlobals).requestIdleCallback(() => resolve(), { timeout: 10_000 })));
  await page.evaluate(() => {
    const page = globalThis as unknown as PageGlobals;
    const probe = { longest: 0, frames: [] as number[], running: true };
    new page.PerformanceObserver((list) => {
      for (const entry of list.getEntries()) probe.longest = Math.max(probe.longest, entry.duration);
    }).observe({ type: 'longtask' });
    const tick = (time: number): void => {
      probe.frames.push(time);
      if (probe.running) page.requestAnimationFrame(tick);
    };
    page.requestAnimationFrame(tick);
    page.panProbe = probe;
  });
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const started = Date.now();
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let step = 1; step <= steps; step += 1) {
    const offset = (distance * step) / steps;
    await page.mouse.move(x - offset / 2, y - offset / 4);
  }
  await page.mouse.up();
  const durationMs = Date.now() - started;
  return page.evaluate((duration) => {
    const probe = (globalThis as unknown as PageGlobals).panProbe;
    if (!probe) throw new Error('the pan probe is gone: the page navigated while panning');
    probe.running = false;
    const gaps = probe.frames.slice(1).map((time, index) => time - (probe.frames[index] ?? time));
    return { longestTaskMs: probe.longest, longestFrameGapMs: Math.max(0, ...gaps), framesPerSecond: (probe.frames.length / duration) * 1000, durationMs: duration };
  }, durationMs);
}

/**
 * A workflow manifest (YAML) whose tasks have the ids and needs of `tasks` — e.g. the console's
 * `layeredDag(50, 20)`, 1,000 tasks — each a 1 ms durable timer.
 */
export function dagWorkflowManifest(name: string, tasks: readonly { id: string; needs: readonly string[] }[]): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: ${name}, version: 1.0.0 }`,
    'spec:',
    '  policy: { purpose: testing, authority: tests, license: internal }',
    '  tasks:',
    ...tasks.map(({ id, needs }) => `    - { id: ${id}, uses: tasks/wait.sleep@0.1.0, needs: [${needs.join(', ')}], with: { duration: 1ms } }`),
  ].join('\n');
}

/** Opens the console at `path` (e.g. `/runbooks`) of the API at `apiUrl` in a new laptop-sized page, signed in with `token`. */
export async function openSignedIn(browser: Browser, apiUrl: string, token: string, path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: LAPTOP_VIEWPORT });
  await page.goto(`${apiUrl}/console${path}`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

/** An accessibility violation axe-core reports: its rule, impact and the elements it found. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (`node_modules/axe-core/axe.min.js`, injected through the DevTools protocol, so
 * the console's Content-Security-Policy does not apply to it) on the page as it is now, and returns
 * its serious and critical violations (WCAG 2.x A and AA rules, and axe's best practices).
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url)), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; html: string }[] }[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, targets: violation.nodes.map((node) => `${node.target.join(' ')}: ${node.html.slice(0, 400)}`) }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** axe-core's script, read once. */
let axeSource: string | undefined;
