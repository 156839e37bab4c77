/**
 * The suite as a report. Every attack goes through {@link attack} (or {@link attackEach}), which counts
 * it as tried and, when the proxy's defence did not hold (an assertion failed), as failed. Each test file
 * calls {@link reportFile} once: after its tests it searches every response and log line the file
 * produced for the upstream key, prints its own rows, and writes them to test/artifacts/security/. The
 * file that finishes last in a run (all files present, same run) prints the combined table and writes
 * test/artifacts/security/report.md.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { CANARY_FRAGMENTS, logLines, transcript } from './support.ts';

interface Row {
  tried: number;
  failed: number;
}

const rows = new Map<string, Row>();
const figures = new Map<string, string>();

function row(category: string): Row {
  let entry = rows.get(category);
  if (!entry) {
    entry = { tried: 0, failed: 0 };
    rows.set(category, entry);
  }
  return entry;
}

/** Counts `tried` attempts of which `failed` got through, for attacks checked in bulk. */
export function tally(category: string, tried: number, failed: number): void {
  const entry = row(category);
  entry.tried += tried;
  entry.failed += failed;
}

/** Runs one attack: counted as tried, and as failed when `check` throws (the error is rethrown). */
export async function attack<T>(category: string, check: () => T | Promise<T>): Promise<T> {
  const entry = row(category);
  entry.tried++;
  try {
    return await check();
  } catch (error) {
    entry.failed++;
    throw error;
  }
}

/**
 * Runs every case (none is skipped because an earlier one failed), then fails with all failures listed.
 */
export async function attackEach<C>(
  category: string,
  cases: readonly C[],
  label: (item: C) => string,
  check: (item: C) => Promise<void> | void,
): Promise<void> {
  const failures: string[] = [];
  for (const item of cases) {
    try {
      await attack(category, () => check(item));
    } catch (error) {
      failures.push(`✗ ${label(item)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0)
    throw new Error(`${failures.length} of ${cases.length} failed:\n${failures.join('\n')}`);
}

/** A measured figure for the report (e.g. the disconnect → abort time). */
export function figure(name: string, value: string): void {
  figures.set(name, value);
}

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, '..', 'artifacts', 'security');
/** Workers of one vitest run share their parent; a file run alone still reports its own rows. */
const RUN = String(process.ppid);

interface FileReport {
  run: string;
  file: string;
  rows: Record<string, Row>;
  figures: Record<string, string>;
}

const pad = (text: string, width: number) => text.padEnd(width);

function table(entries: Array<[string, Row]>): string {
  const width = Math.max(30, ...entries.map(([category]) => category.length));
  const lines = [
    `| ${pad('attack category', width)} | tried | failed |`,
    `| ${'-'.repeat(width)} | ----: | -----: |`,
  ];
  let tried = 0;
  let failed = 0;
  for (const [category, entry] of entries) {
    lines.push(
      `| ${pad(category, width)} | ${String(entry.tried).padStart(5)} | ${String(entry.failed).padStart(6)} |`,
    );
    tried += entry.tried;
    failed += entry.failed;
  }
  lines.push(`| ${pad('total', width)} | ${String(tried).padStart(5)} | ${String(failed).padStart(6)} |`);
  return lines.join('\n');
}

/** Registers the file's closing checks and report. Call once at the top level of a test file. */
export function reportFile(url: string): void {
  const file = basename(fileURLToPath(url)).replace(/\.test\.ts$/, '');
  afterAll(() => {
    // The upstream key, searched for in every response and every log line of this file.
    const leakedResponses = transcript.filter((text) => CANARY_FRAGMENTS.some((f) => text.includes(f)));
    const leakedLogs = logLines.filter((line) => CANARY_FRAGMENTS.some((f) => line.includes(f)));
    tally('upstream key in a response', transcript.length, leakedResponses.length);
    tally('upstream key in a log line', logLines.length, leakedLogs.length);

    const mine = [...rows.entries()];
    console.log(
      `\nsecurity · ${file}\n${table(mine)}${[...figures].map(([name, value]) => `\n  ${name}: ${value}`).join('')}`,
    );
    mkdirSync(artifacts, { recursive: true });
    const report: FileReport = {
      run: RUN,
      file,
      rows: Object.fromEntries(mine),
      figures: Object.fromEntries(figures),
    };
    writeFileSync(join(artifacts, `${file}.json`), JSON.stringify(report, null, 2));
    printCombinedIfLast();

    expect(leakedResponses, 'responses carrying the upstream key').toEqual([]);
    expect(leakedLogs, 'log lines carrying the upstream key').toEqual([]);
  });
}

function printCombinedIfLast(): void {
  const files = readdirSync(here)
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => name.replace(/\.test\.ts$/, ''));
  const reports: FileReport[] = [];
  for (const file of files) {
    try {
      const report = JSON.parse(readFileSync(join(artifacts, `${file}.json`), 'utf8')) as FileReport;
      if (report.run !== RUN) return;
      reports.push(report);
    } catch {
      return; // not every file has finished (or run) yet
    }
  }
  const combined = new Map<string, Row>();
  const allFigures: string[] = [];
  for (const report of reports) {
    for (const [category, entry] of Object.entries(report.rows)) {
      const total = combined.get(category) ?? { tried: 0, failed: 0 };
      total.tried += entry.tried;
      total.failed += entry.failed;
      combined.set(category, total);
    }
    for (const [name, value] of Object.entries(report.figures)) allFigures.push(`- ${name}: ${value}`);
  }
  const text = `# Parley proxy security suite: report\n\n${table([...combined.entries()])}\n\n${allFigures.join('\n')}\n`;
  writeFileSync(join(artifacts, 'report.md'), text);
  console.log(`\n══ security suite: all files ══\n${text}`);
}
