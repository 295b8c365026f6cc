#!/usr/bin/env node
// Prints microtune's figures from one harness run beside the naive baseline's, against the
// performance targets, as a Markdown table.
//
//   node bench/vs-naive.mjs [bench/results/<stamp>/results.json]   (default: the newest run)
//
// Every ratio is the median over rounds of microtune's figure divided by the baseline's
// (fastify-undici) figure from the same round. The "CPU 1 busy" column is the share of its
// core each proxy used in that phase: a proxy below 1.0 while the other is at 1.0 was held back
// by CPU 0 (wrk and the mock), not by itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const BASELINE = 'fastify-undici';
const PRODUCT = 'microtune';

function newestResults() {
  const stamps = readdirSync(RESULTS)
    .filter((name) => /^\d{4}-\d\d-\d\dT/.test(name) && statSync(path.join(RESULTS, name, 'results.json'), { throwIfNoEntry: false }))
    .sort();
  if (stamps.length === 0) throw new Error(`no results.json under ${RESULTS}; run npm run bench first`);
  return path.join(RESULTS, stamps.at(-1), 'results.json');
}

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const file = process.argv[2] ?? newestResults();
const results = JSON.parse(readFileSync(file, 'utf8'));
const target = (name) => {
  const found = results.targets.find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`${file} has no target "${name}"`);
  return found;
};
const product = target(PRODUCT);
const baseline = target(BASELINE);

/** Median of product/baseline per round for one field of one phase, with both medians. */
function compare(phase, field) {
  const ours = product.phases[phase]?.runs ?? [];
  const theirs = baseline.phases[phase]?.runs ?? [];
  const ratios = ours.map((run, round) => run[field] / theirs[round]?.[field]);
  return {
    product: median(ours.map((run) => run[field])),
    baseline: median(theirs.map((run) => run[field])),
    ratio: median(ratios),
  };
}

const digits = (value, places = 0) => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: places, minimumFractionDigits: places }) : '–');
function verdict(met) {
  if (met === null) return '–';
  return met ? 'met' : 'missed';
}

const rows = [];
function row(label, required, figures, unit, places, met) {
  rows.push(`| ${label} | ${required} | ${digits(figures.product, places)} vs ${digits(figures.baseline, places)} ${unit} | ${digits(figures.ratio, 2)}x | ${verdict(met(figures.ratio))} |`);
}

const nsRps = compare('ns-c64', 'rps');
const streamRps = compare('stream-c16', 'rps');
const nsCpu = compare('ns-c64', 'cpu_us_per_req');
const streamCpu = compare('stream-c16', 'cpu_us_per_req');
const pacedCpu = compare('paced-c16', 'cpu_us_per_req');
const ttfb50 = compare('paced-c16', 'ttfb_p50_ms');
const ttfb99 = compare('paced-c16', 'ttfb_p99_ms');
row('non-stream throughput, c=64', '≥ 1.4x', nsRps, 'req/s', 0, (ratio) => ratio >= 1.4);
row('stream throughput, c=16', '≥ 1.4x', streamRps, 'streams/s', 0, (ratio) => ratio >= 1.4);
row('CPU per non-stream request, c=64', '≤ 0.6x', nsCpu, 'µs', 0, (ratio) => ratio <= 0.6);
row('CPU per stream, c=16 (not a target)', '–', streamCpu, 'µs', 0, () => null);
row('CPU per paced stream', '≤ 0.6x', pacedCpu, 'µs', 0, (ratio) => ratio <= 0.6);
row('paced TTFB p50', '≤ 1.0x', ttfb50, 'ms', 2, (ratio) => ratio <= 1);
row('paced TTFB p99', '≤ 1.0x', ttfb99, 'ms', 2, (ratio) => ratio <= 1);
const rss = { product: product.peak_rss_mb, baseline: baseline.peak_rss_mb, ratio: product.peak_rss_mb / baseline.peak_rss_mb };
row('peak RSS in the harness', '< 1.0x', rss, 'MB', 1, (ratio) => ratio < 1);

const busy = (name, phase) => median((target(name).phases[phase]?.runs ?? []).map((run) => run.cpu_util));

process.stdout.write(`${file}\n\n`);
process.stdout.write('| target | required (x naive) | microtune vs naive | x naive | result |\n| --- | --- | --: | --: | --- |\n');
process.stdout.write(`${rows.join('\n')}\n\n`);
process.stdout.write('| phase | CPU 1 busy, microtune | CPU 1 busy, naive | mock CPU µs/req behind microtune | behind naive |\n| --- | --: | --: | --: | --: |\n');
for (const phase of ['ns-c64', 'stream-c16', 'paced-c16']) {
  const mock = compare(phase, 'mock_cpu_us_per_req');
  process.stdout.write(`| ${phase} | ${digits(busy(PRODUCT, phase), 2)} | ${digits(busy(BASELINE, phase), 2)} | ${digits(mock.product)} | ${digits(mock.baseline)} |\n`);
}
