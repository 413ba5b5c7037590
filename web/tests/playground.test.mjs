// The browser playground in headless Chromium (playwright-core), served by a real
// `codegym serve` on 127.0.0.1. Run by `cargo xtask test` (xtask/src/web.rs), which builds
// the site first and passes: CODEGYM_BIN (the CLI), CODEGYM_ENVS (components),
// CODEGYM_TEST_ENVS (test components), CODEGYM_CACHE (their compile cache), CODEGYM_WEB (the
// site), CHROMIUM (the browser) and CODEGYM_SCREENSHOT (where to save a picture of the page).
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through cargo xtask test)`);
  return value;
};
const BIN = env('CODEGYM_BIN');
const GLOBAL = ['--env-dir', env('CODEGYM_ENVS'), '--cache-dir', env('CODEGYM_CACHE')];
const scratch = mkdtempSync(join(tmpdir(), 'codegym-web-'));

let server;
let base;
let browser;
let page;
const consoleErrors = [];

/** Start `codegym serve` on a free port; resolves to its URL. */
function startServer() {
  server = spawn(BIN, [...GLOBAL, 'serve', '--addr', '127.0.0.1:0', '--web', env('CODEGYM_WEB')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    server.on('exit', (code) => reject(new Error(`codegym serve exited with ${code}`)));
  });
}

async function openPage(query = '') {
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  await page.goto(`${base}/${query}`);
  assert.equal(await page.evaluate(() => window.codegym.ready), true, await page.textContent('#error'));
}

async function start(name, seed, difficulty) {
  await page.fill('#seed', String(seed));
  await page.fill('#difficulty', String(difficulty));
  // The value without a change event (choosing an environment starts an episode by itself),
  // then one start, awaited by the number of the episode it renders.
  const before = Number(await page.evaluate((n) => {
    document.querySelector('#env').value = n;
    return document.body.dataset.episode;
  }, name));
  await page.click('#start');
  await page.waitForFunction((n) => Number(document.body.dataset.episode) === n, before + 1);
  assert.equal(new URL(page.url()).search, `?env=${name}&seed=${seed}&difficulty=${difficulty}`);
}

/** Fill a tool's form (`fields`: name → text) and submit it; returns the new observation. */
async function callTool(tool, fields = {}) {
  const form = page.locator(`.tool[data-tool="${tool}"] form`);
  for (const [name, value] of Object.entries(fields)) await form.locator(`[name="${name}"]`).fill(String(value));
  const before = await page.locator('#log tbody tr').count();
  await form.locator('button.call').click();
  await page.waitForFunction((n) => document.querySelectorAll('#log tbody tr').length === n + 1, before);
  return page.locator('#log tbody tr:last-child td.obs').textContent();
}

before(async () => {
  base = await startServer();
  browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: ['--no-sandbox'], headless: true });
  await openPage();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  rmSync(scratch, { recursive: true, force: true });
});

describe('the playground', () => {
  test('serves the page, the index and the API side by side', async () => {
    const index = await (await fetch(`${base}/envs.json`)).json();
    assert.ok(index.envs.length >= 50, `${index.envs.length} environments`);
    const health = await (await fetch(`${base}/healthz`)).json();
    assert.equal(health.status, 'ok');
    const missing = await fetch(`${base}/v1/nothing`);
    assert.equal(missing.status, 404);
    const options = await page.locator('#env option').count();
    assert.equal(options, index.envs.length);
  });

  test('plays binary-search to a solved state by clicking through the tool forms', async () => {
    await start('binary-search', 7, 0);
    const task = await page.textContent('#task');
    const target = BigInt(task.match(/target value (-?\d+)/)[1]);
    let low = 0n;
    let high = BigInt(await callTool('Length')) - 1n;
    let answer = -1n;
    while (low <= high) {
      const mid = (low + high) / 2n;
      const value = BigInt(await callTool('Get', { index: mid }));
      if (value === target) {
        answer = mid;
        break;
      }
      if (value < target) low = mid + 1n;
      else high = mid - 1n;
    }
    const observation = await callTool('Done', { answer });
    assert.match(observation, /Result: correct/);
    assert.equal(await page.textContent('#outcome'), 'solved');
    assert.equal(await page.textContent('#reward'), '1');
  });

  for (const name of ['two-sum', 'trapping-rain-water', 'evaluate-rpn', 'house-robber']) {
    test(`the oracle solves ${name} step by step`, async () => {
      await page.fill('#oracle-delay', '0');
      await start(name, 3, 50);
      await page.click('#oracle');
      await page.waitForFunction(() => document.querySelector('#outcome').textContent !== 'running', null, { timeout: 60_000 });
      assert.equal(await page.textContent('#outcome'), 'solved', await page.textContent('#error'));
      assert.equal(await page.textContent('#reward'), '1');
      const steps = Number(await page.textContent('#steps'));
      assert.equal(await page.locator('#log tbody tr').count(), steps);
      assert.ok(steps >= 2, `${steps} steps`);
    });
  }

  test('replays trajectories from codegym rollout --out with every observation identical', async () => {
    const file = join(scratch, 'rollout.jsonl');
    let lines = '';
    for (const policy of ['oracle', 'random']) {
      const out = join(scratch, `${policy}.jsonl`);
      execFileSync(BIN, [...GLOBAL, 'rollout', '--envs', 'binary-search,two-sum,trapping-rain-water,house-robber',
        '--policy', policy, '--episodes', '2', '--seed', '11', '--threads', '2', '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
      lines += readFileSync(out, 'utf8');
    }
    writeFileSync(file, lines);
    const stored = lines.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(stored.length, 16);
    await page.setInputFiles('#replay-file', file);
    for (let i = 0; i < stored.length; i += 1) {
      if (i > 0) await page.selectOption('#replay-select', String(i));
      await page.waitForFunction(
        ([env, seed, n]) => {
          const summary = document.querySelector('#replay-summary');
          return summary.dataset.steps === String(n) && summary.textContent.startsWith(`${env}, seed ${seed},`);
        },
        [stored[i].env, stored[i].seed, stored[i].steps.length],
      );
      const summary = page.locator('#replay-summary');
      assert.equal(await summary.getAttribute('data-mismatches'), '0', await summary.textContent());
      assert.equal(await page.locator('#replay-log tr.mismatch').count(), 0);
    }
    // The slider shows the stored observation of the step it points at.
    await page.locator('#replay-slider').fill('1');
    assert.match(await page.textContent('#replay-position'), /^1 \//);

    // A tampered file: the one altered observation is marked, the rest are not.
    const tampered = structuredClone(stored[0]);
    tampered.steps[1].observation += ' (edited)';
    const tamperedFile = join(scratch, 'tampered.jsonl');
    writeFileSync(tamperedFile, JSON.stringify(tampered) + '\n');
    await page.setInputFiles('#replay-file', tamperedFile);
    await page.waitForFunction(() => document.querySelector('#replay-summary').dataset.mismatches === '1');
    assert.equal(await page.locator('#replay-log tbody tr.mismatch').count(), 1);
    assert.equal(await page.locator('#replay-log tbody tr').nth(1).getAttribute('class'), 'mismatch');
    await page.locator('#replay-slider').fill('2');
    assert.match(await page.textContent('#replay-view'), /browser observation \(differs\)/);

    // Not a trajectory file: a visible error.
    const junk = join(scratch, 'junk.jsonl');
    writeFileSync(junk, '{"env": "binary-search"\n');
    await page.setInputFiles('#replay-file', junk);
    await page.waitForSelector('#replay-error:not([hidden])');
    assert.match(await page.textContent('#replay-error'), /line 1: not valid JSON/);
  });

  test('NaNs have the host\'s bits and relaxed SIMD is refused', async () => {
    // The web build refused relaxed-simd (its lanes would be this CPU's) and says why.
    const index = await (await fetch(`${base}/envs.json`)).json();
    assert.deepEqual(index.refused.filter((r) => r.name !== 'tampered-runtime'), [
      { name: 'relaxed-simd', reason: 'uses relaxed SIMD, whose results differ between CPUs in a browser' },
    ]);
    const offered = await page.locator('#env option').evaluateAll((options) => options.map((o) => o.value));
    assert.ok(offered.includes('nan-bits') && !offered.includes('relaxed-simd'), offered.join(' '));

    // Without the rewrite the page would show this browser's own NaNs: f32.div of 0 / 0 in a
    // bare module (x86 gives the negative NaN 0xffc00000; the host's is 0x7fc00000).
    const native = await page.evaluate(() => {
      const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 125, 125, 1, 127, 3, 2, 1, 0,
        7, 7, 1, 3, 100, 105, 118, 0, 0, 10, 10, 1, 8, 0, 32, 0, 32, 1, 149, 188, 11]);
      const { div } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
      return (div(0, 0) >>> 0).toString(16);
    });
    if (process.arch === 'x64') assert.equal(native, 'ffc00000');

    // The host's observations: the oracle's episodes (every tool, each config), replayed in
    // the page with every observation compared byte for byte.
    const file = join(scratch, 'nan-bits.jsonl');
    execFileSync(BIN, ['--env-dir', env('CODEGYM_TEST_ENVS'), '--cache-dir', env('CODEGYM_CACHE'), 'rollout',
      '--envs', 'nan-bits', '--policy', 'oracle', '--episodes', '5', '--seed', '0', '--threads', '1', '--out', file],
    { stdio: ['ignore', 'ignore', 'inherit'] });
    const stored = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(stored.length, 5);
    await page.setInputFiles('#replay-file', file);
    for (let i = 0; i < stored.length; i += 1) {
      if (i > 0) await page.selectOption('#replay-select', String(i));
      await page.waitForFunction(
        ([seed, n]) => {
          const summary = document.querySelector('#replay-summary');
          return summary.dataset.steps === String(n) && summary.textContent.startsWith(`nan-bits, seed ${seed},`);
        },
        [stored[i].seed, stored[i].steps.length],
      );
      assert.equal(await page.getAttribute('#replay-summary', 'data-mismatches'), '0', await page.textContent('#replay-summary'));
    }

    // And a call from the page's form: the host's observation of the same call, byte for byte.
    const host = stored.flatMap((t) => t.steps).find((step) => step.call.name === 'F32' && step.call.arguments === '{"a":0,"b":0}');
    assert.ok(host, 'the oracle called F32 with 0 / 0');
    assert.match(host.observation, /div=0x7fc00000/);
    await start('nan-bits', 0, 0);
    assert.equal(await callTool('F32', { a: 0, b: 0 }), host.observation);
    const snan = await callTool('F32', { a: 0x7fa00001, b: 0x3f800000 });
    assert.match(snan, /^add=0x7fc00000 sub=0x7fc00000 mul=0x7fc00000 div=0x7fc00000 min=0x3f800000 /);
  });

  test('a CodeGym package with its configs resets with one of them, as the host does, and its oracle solves it', async () => {
    const name = 'leetcode-0739-a-dailytemperaturesenv';
    const dir = join(env('CODEGYM_TEST_ENVS'), 'codegym');
    const pkg = JSON.parse(readFileSync(join(dir, `${name}.pyenv`), 'utf8'));
    const index = await (await fetch(`${base}/envs.json`)).json();
    const entry = index.envs.find((e) => e.name === name);
    assert.equal(entry.lane, 'python');
    assert.equal(entry.runtime, pkg.runtime);
    assert.equal(entry.configs, pkg.configs.length);
    assert.ok(index.runtimes[pkg.runtime], 'the runtime is in the site');
    // Every Python environment of the site runs on that one runtime.
    assert.deepEqual(Object.keys(index.runtimes), [pkg.runtime]);

    // The host's oracle episodes: the page picks the same config for each seed and
    // difficulty, and a replay gives the same observations byte for byte.
    const file = join(scratch, 'codegym.jsonl');
    execFileSync(BIN, ['--env-dir', dir, '--cache-dir', env('CODEGYM_CACHE'), 'rollout', '--envs', name,
      '--policy', 'oracle', '--episodes', '3', '--seed', '5', '--threads', '1', '--out', file],
    { stdio: ['ignore', 'ignore', 'inherit'] });
    const stored = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(stored.length, 3);
    for (const trajectory of stored) {
      await start(name, trajectory.seed, trajectory.difficulty);
      assert.equal(await page.textContent('#config'), trajectory.log.config);
      assert.equal(await page.textContent('#task'), trajectory.task);
    }
    await page.setInputFiles('#replay-file', file);
    for (let i = 0; i < stored.length; i += 1) {
      if (i > 0) await page.selectOption('#replay-select', String(i));
      await page.waitForFunction(
        ([seed, n]) => {
          const summary = document.querySelector('#replay-summary');
          return summary.dataset.steps === String(n) && summary.textContent.includes(`, seed ${seed},`);
        },
        [stored[i].seed, stored[i].steps.length],
      );
      assert.equal(await page.getAttribute('#replay-summary', 'data-mismatches'), '0', await page.textContent('#replay-summary'));
    }

    // The largest seed: (101 * seed + difficulty) mod n in u64 arithmetic.
    const seed = 2n ** 64n - 1n;
    const expected = pkg.configs[Number(BigInt.asUintN(64, 101n * seed + 100n) % BigInt(pkg.configs.length))];
    assert.notEqual(expected, pkg.configs[Number((101n * seed + 100n) % BigInt(pkg.configs.length))], 'the seed wraps');
    await page.fill('#oracle-delay', '0');
    await start(name, seed, 100);
    assert.equal(await page.textContent('#config'), expected);
    await page.click('#oracle');
    await page.waitForFunction(() => document.querySelector('#outcome').textContent !== 'running', null, { timeout: 60_000 });
    assert.equal(await page.textContent('#outcome'), 'solved', await page.textContent('#error'));
    assert.equal(await page.textContent('#reward'), '1');
  });

  test('a package naming a runtime the site does not have is refused, in the build and in the page', async () => {
    // Built from a package whose runtime hash is one digit off: left out, with the host's reason.
    const index = await (await fetch(`${base}/envs.json`)).json();
    const refused = index.refused.find((r) => r.name === 'tampered-runtime');
    assert.ok(refused, JSON.stringify(index.refused));
    assert.match(refused.reason, /the package's runtime [0-9a-f]{64} is not installed/);
    assert.ok(!index.envs.some((e) => e.name === 'tampered-runtime'));

    // A package file altered after the build: opening it is refused with a clear message, and
    // the page goes on (another environment starts and steps).
    const tampered = await browser.newPage();
    tampered.on('pageerror', (error) => consoleErrors.push(String(error)));
    await tampered.route('**/packages/house-robber.json', async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      json.runtime = json.runtime.replace(/.$/, (digit) => (digit === '0' ? '1' : '0'));
      await route.fulfill({ response, json });
    });
    try {
      await tampered.goto(`${base}/`);
      assert.equal(await tampered.evaluate(() => window.codegym.ready), true, await tampered.textContent('#error'));
      await tampered.evaluate(() => { document.querySelector('#env').value = 'house-robber'; });
      await tampered.click('#start');
      await tampered.locator('#error:not([hidden])').waitFor();
      assert.match(await tampered.textContent('#error'),
        /^the package house-robber names the Python runtime [0-9a-f]{16}…, which this playground does not have \(it has [0-9a-f]{16}…\)/);
      const before = Number(await tampered.evaluate(() => {
        document.querySelector('#env').value = 'binary-search';
        return document.body.dataset.episode;
      }));
      await tampered.click('#start');
      // (The refused start took a number too.)
      await tampered.waitForFunction((n) => Number(document.body.dataset.episode) > n, before);
      assert.equal(await tampered.locator('#error').isHidden(), true);
      await tampered.locator('.tool[data-tool="Length"] button.call').click();
      await tampered.waitForFunction(() => document.querySelector('#steps').textContent === '1');
    } finally {
      await tampered.close();
    }
  });

  test('hostile calls fault as in the host and are rolled back; the page goes on', async () => {
    await page.fill('#step-timeout', '500');
    await start('hostile', 1, 0);
    assert.equal(await callTool('Count'), 'count = 1');
    // Each misbehaving tool: the host's fault text, the call rolled back (Spin, Grow and
    // Panic add 1000 to the count before misbehaving), and the next call still works.
    const cases = [
      ['Spin', 'timeout', 'the tool call exceeded its time limit'],
      ['Grow', 'memory', 'the tool call exceeded the memory limit'],
      ['Panic', 'panic', 'the environment crashed while running the tool call'],
      ['Recurse', 'stack_overflow', 'the tool call overflowed the stack'],
      ['DeepStack', 'trap', 'the environment trapped while running the tool call'],
      ['Big', 'output_too_large', 'the tool call produced too much output'],
    ];
    let count = 1;
    for (const [tool, kind, text] of cases) {
      const observation = await callTool(tool);
      assert.equal(observation, `Error: ${text}. The call was rolled back; the state is unchanged.`, tool);
      assert.equal(await page.getAttribute('#log tbody tr:last-child', 'data-fault'), kind, tool);
      count += 1;
      assert.equal(await callTool('Count'), `count = ${count}`, `after ${tool}`);
    }
    assert.equal(await page.textContent('#faults'), String(cases.length));
    assert.equal(await page.textContent('#outcome'), 'running');
    assert.match(await callTool('Done', { answer: count }), /correct/);
    assert.equal(await page.textContent('#outcome'), 'solved');
    // A bad time limit is refused with a visible error.
    await page.fill('#step-timeout', '0');
    await page.click('#start');
    await page.locator('#error:not([hidden])').waitFor();
    assert.match(await page.textContent('#error'), /time limit must be an integer/);
    await page.fill('#step-timeout', '2000');
  });

  test('a Python package\'s faults are rolled back by replay into a fresh instance, loaded again', async () => {
    await page.fill('#step-timeout', '1000');
    await start('hostile-py', 1, 0);
    assert.equal(await callTool('Count'), 'count = 1');
    // Spin adds 100 before it loops: the rollback rebuilds the state without it.
    const cases = [
      ['Spin', 'timeout', 'the tool call exceeded its time limit'],
      ['Big', 'output_too_large', 'the tool call produced too much output'],
    ];
    let count = 1;
    for (const [tool, kind, text] of cases) {
      assert.equal(await callTool(tool), `Error: ${text}. The call was rolled back; the state is unchanged.`, tool);
      assert.equal(await page.getAttribute('#log tbody tr:last-child', 'data-fault'), kind, tool);
      count += 1;
      assert.equal(await callTool('Count'), `count = ${count}`, `after ${tool}`);
    }
    // A Python exception is an observation, not a fault.
    assert.match(await callTool('Raise'), /^Error: .*this tool always fails/);
    assert.equal(await page.textContent('#faults'), String(cases.length));
    assert.match(await callTool('Done', { answer: count }), /Reference answer: 3/);
    assert.equal(await page.textContent('#outcome'), 'solved');
    await page.fill('#step-timeout', '2000');
  });

  test('replays an LLM episode from codegym eval --out with its conversation', async () => {
    // A hosted LLM cannot be reached here: this TEST DOUBLE is a local chat-completions
    // endpoint whose "model" looks, guesses badly once, writes prose once, then answers.
    const replies = [
      'Let me look first.\n<tool_call>\n{"name": "Length", "arguments": {}}\n</tool_call>',
      'I am not sure what to do.',
      '<tool_call>\n{"name": "Get", "arguments": {"index": 0}}\n</tool_call>',
      '<tool_call>\n{"name": "Done", "arguments": {"answer": 0}}\n</tool_call>',
    ];
    let served = 0;
    const double = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.method !== 'POST') {
          response.statusCode = 404; // codegym eval asks for /v1/models first
          return response.end('{}');
        }
        const content = replies[Math.min(served, replies.length - 1)];
        served += 1;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({
          id: `double-${served}`,
          object: 'chat.completion',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
        }));
      });
    });
    await new Promise((resolve) => double.listen(0, '127.0.0.1', resolve));
    const out = join(scratch, 'eval.jsonl');
    try {
      await new Promise((resolve, reject) => execFile(BIN, [...GLOBAL, 'eval', '--base-url',
        `http://127.0.0.1:${double.address().port}/v1`, '--model', 'test-double', '--envs', 'binary-search',
        '--seed', '4', '--difficulty', '10', '--format', 'hermes', '--concurrency', '1', '--out', out],
      (error) => (error ? reject(error) : resolve())));
    } finally {
      double.close();
    }
    const stored = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(stored.steps.length, 3);
    assert.equal(stored.agent.parse_errors, 1);
    await page.setInputFiles('#replay-file', out);
    await page.waitForFunction(() => document.querySelector('#replay-summary').textContent.startsWith('binary-search, seed 4,'));
    assert.equal(await page.getAttribute('#replay-summary', 'data-mismatches'), '0');
    assert.equal(await page.locator('#replay-chat').isVisible(), true);
    assert.match(await page.textContent('#replay-chat-summary'), /1 parse errors/);
    const messages = page.locator('#replay-messages .message');
    assert.equal(await messages.count(), stored.messages.length);
    // The three replies that made steps are marked with their steps; the prose is not.
    const marked = await page.locator('#replay-messages .message[data-step]').evaluateAll((nodes) =>
      nodes.map((node) => [node.dataset.step, node.querySelector('pre').textContent]));
    assert.deepEqual(marked.map(([step]) => step), ['1', '2', '3']);
    assert.match(marked[0][1], /Length/);
    assert.match(marked[1][1], /"index": 0/);
    assert.match(marked[2][1], /Done/);
    await page.locator('#replay-slider').fill('2');
    assert.match(await page.textContent('#replay-messages .message.current'), /"index": 0/);
  });

  test('bad input in forms and raw text gives a visible error, and the page goes on', async () => {
    await start('binary-search', 1, 20);
    const get = page.locator('.tool[data-tool="Get"]');
    await get.locator('[name="index"]').fill('three');
    await get.locator('button.call').click();
    await assert.doesNotReject(get.locator('.error:not([hidden])').waitFor());
    assert.match(await get.locator('.error').textContent(), /index: expected an integer/);
    await get.locator('[name="index"]').fill('');
    await get.locator('button.call').click();
    assert.match(await get.locator('.error').textContent(), /index: required/);
    assert.equal(await page.textContent('#steps'), '0');

    // An array field with broken JSON (two-sum's Done takes [i, j]).
    await start('two-sum', 1, 20);
    const done = page.locator('.tool[data-tool="Done"]');
    await done.locator('[name="answer"]').fill('[1, 2');
    await done.locator('button.call').click();
    await done.locator('.error:not([hidden])').waitFor();
    assert.match(await done.locator('.error').textContent(), /answer: not valid JSON/);
    await done.locator('[name="answer"]').fill('{"a": 1}');
    await done.locator('button.call').click();
    assert.match(await done.locator('.error').textContent(), /answer: expected a JSON array/);

    // Raw text: codegym-core's parse errors, in each format.
    await start('binary-search', 1, 20);
    const cases = [
      ['codegym', 'I think I should look at the array.', /^Error: no tool call found/],
      ['codegym', '<|FunctionCallBegin|>[{"name":"Get","parameters":{"index":1}', /^Error: the tool call is not valid JSON/],
      ['hermes', '<tool_call>\n{"arguments": {}}\n</tool_call>', /^Error: the tool call needs a "name"/],
      ['openai-tools', '{"tool_calls": [', /^Error: /],
    ];
    for (const [format, text, expected] of cases) {
      await page.selectOption('#raw-format', format);
      await page.fill('#raw-text', text);
      await page.click('#raw-send');
      await page.locator('#raw-error:not([hidden])').waitFor();
      assert.match(await page.textContent('#raw-error'), expected, `${format}: ${text}`);
    }
    assert.equal(await page.textContent('#steps'), '0');
    // And a good call in each format goes through the same parser to the environment.
    const calls = {
      codegym: '<|FunctionCallBegin|>[{"name":"Get","parameters":{"index":0}}]<|FunctionCallEnd|>',
      hermes: 'Let me look.\n<tool_call>\n{"name": "Length", "arguments": {}}\n</tool_call>',
      'openai-tools': '{"tool_calls": [{"type": "function", "function": {"name": "Observe", "arguments": "{}"}}]}',
    };
    for (const [i, [format, text]] of Object.entries(calls).entries()) {
      await page.selectOption('#raw-format', format);
      await page.fill('#raw-text', text);
      await page.click('#raw-send');
      await page.waitForFunction((n) => document.querySelector('#steps').textContent === String(n), i + 1);
      assert.equal(await page.locator('#raw-error').isHidden(), true, await page.textContent('#raw-error'));
    }
    assert.equal(await page.textContent('#steps'), '3');
    assert.match(await page.textContent('#prompt'), /"type":"function"/);

    // A bad seed: a visible error, the old episode untouched.
    await page.fill('#seed', 'twelve');
    await page.click('#start');
    await page.locator('#error:not([hidden])').waitFor();
    assert.match(await page.textContent('#error'), /seed must be an integer/);
    assert.deepEqual(consoleErrors, []);
  });

  test('per-step latency in the browser', async () => {
    const times = await page.evaluate(() => window.codegym.stats.stepTimes);
    const sorted = [...times].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)];
    const p99 = sorted[Math.floor(sorted.length * 0.99)];
    const rust = await page.evaluate(() => window.codegym.benchSteps('binary-search', 20000));
    const python = await page.evaluate(() => window.codegym.benchSteps('house-robber', 2000));
    const isolated = await page.evaluate(() => window.crossOriginIsolated);
    console.log(
      `in-browser step latency: ${times.length} step calls during the tests, p50 ${(p50 * 1000).toFixed(1)} µs, ` +
        `p99 ${(p99 * 1000).toFixed(1)} µs (timer ${isolated ? 'cross-origin isolated, 5 µs' : 'coarse, 100 µs'}); ` +
        `Observe in a loop: binary-search ${rust.toFixed(2)} µs/step, house-robber (Python) ${python.toFixed(1)} µs/step`,
    );
    assert.ok(times.length > 100);
  });

  test('what a Python environment costs the page', async () => {
    const index = await (await fetch(`${base}/envs.json`)).json();
    const python = index.envs.filter((e) => e.lane === 'python');
    const runtimes = Object.values(index.runtimes);
    const mb = (bytes) => (bytes / 1e6).toFixed(1);
    // A fresh page: the first Python episode compiles the runtime; the next only
    // instantiates it and loads its package.
    const fresh = await browser.newPage();
    try {
      await fresh.goto(`${base}/`);
      assert.equal(await fresh.evaluate(() => window.codegym.ready), true);
      const open = async (name) => {
        const before = Number(await fresh.evaluate((n) => {
          document.querySelector('#env').value = n;
          return document.body.dataset.episode;
        }, name));
        const started = performance.now();
        await fresh.click('#start');
        await fresh.waitForFunction((n) => Number(document.body.dataset.episode) === n, before + 1, { timeout: 60_000 });
        return performance.now() - started;
      };
      const first = await open('house-robber');
      const second = await open('robot-walk');
      const again = await open('house-robber');
      console.log(
        `Python lane in the page: ${python.length} packages (${(python.reduce((n, e) => n + e.package_bytes, 0) / 1e3).toFixed(0)} KB) ` +
          `on ${runtimes.length} runtime (${mb(runtimes.reduce((n, r) => n + r.component_bytes, 0))} MB, ` +
          `${runtimes[0].core_modules} core modules); opening an episode: first ${first.toFixed(0)} ms ` +
          `(the runtime compiled), another package ${second.toFixed(0)} ms, the same again ${again.toFixed(0)} ms`,
      );
    } finally {
      await fresh.close();
    }
  });

  test('a screenshot of the page', async () => {
    await page.fill('#oracle-delay', '0');
    await start('trapping-rain-water', 5, 30);
    await page.click('#oracle');
    await page.waitForFunction(() => document.querySelector('#outcome').textContent === 'solved');
    await page.setInputFiles('#replay-file', join(scratch, 'rollout.jsonl'));
    await page.waitForFunction(() => document.querySelector('#replay-summary').dataset.mismatches === '0');
    await page.locator('#replay-slider').fill('3');
    await page.locator('#log tbody tr').first().scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: env('CODEGYM_SCREENSHOT') });
  });
});
