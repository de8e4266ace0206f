#!/usr/bin/env node
// Runs each MODEL_DIR's model.onnx with onnxruntime-node on the golden vectors of its card
// (model.json "golden") and checks every output against them: proof that a model trained by
// workload-traces runs outside Python and gives the numbers its card promises.
//
//   node check_golden.mjs MODEL_DIR [MODEL_DIR...]
//
// Prints one line per model; exits 0 when every model matches, 1 when one does not (or cannot
// be checked: missing file, sha256 not the card's, no golden vectors), 2 on wrong usage.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import ort from 'onnxruntime-node';

const MAX_REPORTED = 5; // mismatching rows named per output

class CheckError extends Error {}

async function readCard(dir) {
  const file = path.join(dir, 'model.json');
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CheckError(`${file} cannot be read (${e.code ?? e.message}): is ${dir} a model folder?`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckError(`${file} is not valid JSON (${e.message}).`);
  }
}

async function readModel(dir, card) {
  const file = path.join(dir, card.onnx?.file ?? 'model.onnx');
  let bytes;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new CheckError(`${file} cannot be read (${e.code ?? e.message}).`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  const expected = card.onnx?.sha256;
  if (actual !== expected) {
    throw new CheckError(
      `${file} is not the model its card describes: sha256 ${actual}, model.json records ${expected}.`,
    );
  }
  return bytes;
}

function goldenOf(card) {
  const g = card.golden;
  if (!g || typeof g !== 'object') {
    throw new CheckError(
      'model.json has no "golden" section: train the model again with a workload-traces that writes one.',
    );
  }
  const rows = g.rows;
  if (!Number.isInteger(rows) || rows < 1) throw new CheckError(`golden.rows must be a positive integer, got ${rows}.`);
  const { relative, absolute } = g.tolerance ?? {};
  if (typeof relative !== 'number' || typeof absolute !== 'number') {
    throw new CheckError('golden.tolerance must hold numbers "relative" and "absolute".');
  }
  return g;
}

function feeds(card, golden) {
  const out = {};
  for (const f of card.features) {
    const values = golden.inputs?.[f.name];
    if (!Array.isArray(values) || values.length !== golden.rows) {
      throw new CheckError(`golden.inputs.${f.name} must be a list of ${golden.rows} values.`);
    }
    if (f.dtype === 'string') {
      out[f.name] = new ort.Tensor('string', values.map(String), [values.length, 1]);
    } else {
      // null is how JSON carries NaN (a missing value the graph routes).
      const data = Float32Array.from(values, (v) => (v === null ? NaN : v));
      out[f.name] = new ort.Tensor('float32', data, [values.length, 1]);
    }
  }
  return out;
}

function compare(name, actual, expected, tol, problems) {
  let maxRel = 0;
  let bad = 0;
  if (actual.length !== expected.length) {
    problems.push(`output ${name}: ${actual.length} values, golden has ${expected.length}`);
    return maxRel;
  }
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] === null ? NaN : expected[i];
    const a = actual[i];
    let ok;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      ok = Number.isNaN(e) && Number.isNaN(a);
    } else {
      const diff = Math.abs(a - e);
      ok = diff <= tol.absolute + tol.relative * Math.abs(e);
      if (e !== 0) maxRel = Math.max(maxRel, diff / Math.abs(e));
    }
    if (!ok) {
      bad += 1;
      if (bad <= MAX_REPORTED) {
        problems.push(
          `output ${name} row ${i}: onnxruntime-node gives ${a}, the card's golden value is ${e}` +
            ` (tolerance ${tol.absolute} + ${tol.relative} x |golden|)`,
        );
      }
    }
  }
  if (bad > MAX_REPORTED) problems.push(`output ${name}: ${bad - MAX_REPORTED} more rows differ`);
  return maxRel;
}

async function check(dir) {
  const card = await readCard(dir);
  if (!Array.isArray(card.features) || !Array.isArray(card.outputs)) {
    throw new CheckError('model.json lacks its "features" or "outputs" list.');
  }
  const golden = goldenOf(card);
  const bytes = await readModel(dir, card);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  const names = card.outputs.map((o) => o.name);
  const result = await session.run(feeds(card, golden), names);
  const problems = [];
  let maxRel = 0;
  for (const name of names) {
    const expected = golden.outputs?.[name];
    if (!Array.isArray(expected)) {
      problems.push(`output ${name}: no golden values in the card`);
      continue;
    }
    maxRel = Math.max(maxRel, compare(name, result[name].data, expected, golden.tolerance, problems));
  }
  await session.release();
  return { rows: golden.rows, outputs: names.length, maxRel, tolerance: golden.tolerance, problems };
}

async function main(dirs) {
  if (dirs.length === 0 || dirs.some((d) => d === '-h' || d === '--help')) {
    console.error('usage: node check_golden.mjs MODEL_DIR [MODEL_DIR...]');
    return 2;
  }
  console.log(`onnxruntime-node ${ort.env.versions?.node ?? '?'}`);
  let failed = 0;
  for (const dir of dirs) {
    try {
      const r = await check(dir);
      const summary =
        `${r.rows} rows, ${r.outputs} output${r.outputs === 1 ? '' : 's'}, max relative difference ${r.maxRel.toExponential(2)}` +
        ` (tolerance ${r.tolerance.relative})`;
      if (r.problems.length === 0) {
        console.log(`ok   ${dir}: ${summary}`);
      } else {
        failed += 1;
        console.log(`FAIL ${dir}: ${summary}`);
        for (const p of r.problems) console.log(`     ${dir}: ${p}`);
      }
    } catch (e) {
      failed += 1;
      const why = e instanceof CheckError ? e.message : `onnxruntime-node failed: ${e.message}`;
      console.log(`FAIL ${dir}: ${why}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
