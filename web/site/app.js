// The playground: environment components (transpiled by jco, see build.mjs) run in this
// page. One component instance is one episode, as in the host; the oracle runs in a second
// instance and sees only observations; a replay re-runs a stored trajectory in a fresh
// instance. codegym-core's parser and prompt renderer are a component too (core/).
import { FormError, buildFields, parseSchema } from './form.js';

const MAX_STEPS = 256; // the host's default step limit (CodeGym's T_max)
const $ = (id) => document.getElementById(id);

// Measurements the tests read: milliseconds per `step` call into a component.
const stats = { stepTimes: [] };

// ---- components ------------------------------------------------------------------------

const compiled = new Map(); // core-module URL → Promise<WebAssembly.Module>

function compile(url) {
  if (!compiled.has(url)) {
    compiled.set(
      url,
      fetch(url).then((response) => {
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        return WebAssembly.compileStreaming(response);
      }),
    );
  }
  return compiled.get(url);
}

/** A fresh instance of the jco-transpiled component whose entry module is `path`. */
async function instantiate(path) {
  const url = new URL(path, location.href);
  const js = await import(url.href);
  return js.instantiate((core) => compile(new URL(core, url).href), {});
}

let index; // envs.json
let core; // the web-core component's `actions`

async function newEnvInstance(name) {
  const entry = index.envs.find((env) => env.name === name);
  if (!entry) throw new Error(`no environment named ${JSON.stringify(name)} in this playground`);
  const root = await instantiate(entry.module);
  return root.environment;
}

/** A component's `result` error (jco throws it as a ComponentError with `payload`). */
function errorText(error) {
  return error && error.payload !== undefined ? String(error.payload) : String(error && error.message ? error.message : error);
}

// ---- the episode -----------------------------------------------------------------------

let episode = null; // { name, env, info, config, task, steps, reward, done, outcome }
let oracleRun = null; // { stop: boolean }
let starts = 0; // episodes started, so that only the latest start takes effect

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

function params() {
  const seedText = $('seed').value.trim();
  if (!/^[0-9]+$/.test(seedText) || BigInt(seedText) > 0xffffffffffffffffn) {
    throw new Error(`seed must be an integer in 0..=2^64-1, got ${JSON.stringify(seedText)}`);
  }
  const difficulty = Number($('difficulty').value);
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > 100) {
    throw new Error(`difficulty must be an integer in 0..=100, got ${JSON.stringify($('difficulty').value)}`);
  }
  return { name: $('env').value, seed: BigInt(seedText), difficulty };
}

/** Start an episode: a new instance, the config sampled from seed and difficulty by the
 *  component itself (exactly as the host samples it), then `reset`. */
async function startEpisode() {
  stopOracle();
  showError($('error'), '');
  showError($('raw-error'), '');
  const { name, seed, difficulty } = params();
  const generation = ++starts;
  const env = await newEnvInstance(name);
  // A later start (another click while this one loaded its component) wins.
  if (generation !== starts) return;
  const info = env.info();
  const config = env.sampleConfig(seed, difficulty);
  let task;
  try {
    task = env.reset(config);
  } catch (error) {
    throw new Error(`reset failed: ${errorText(error)}`);
  }
  episode = { name, env, info, config, task, steps: 0, reward: 0, done: false, outcome: 'running' };
  $('task').textContent = task;
  $('config').textContent = config;
  $('env-about').textContent = `${info.category} · v${info.version} · ${info.description}`;
  $('log').tBodies[0].replaceChildren();
  renderTools(info);
  renderPrompt();
  renderStatus();
  history.replaceState(null, '', `?env=${encodeURIComponent(name)}&seed=${seed}&difficulty=${difficulty}`);
  document.body.dataset.episode = String(generation);
}

/** One call into the episode; returns the step result. */
function step(name, args) {
  if (!episode) throw new Error('no episode');
  if (episode.done) throw new Error(`the episode is over (${episode.outcome}); start a new one`);
  const started = performance.now();
  let result;
  try {
    result = episode.env.step(name, args);
  } catch (error) {
    // A trap: the host would roll the call back and report a fault; here the instance is lost.
    episode.done = true;
    episode.outcome = `fault (${errorText(error)})`;
    renderStatus();
    throw new Error(`the component trapped: ${errorText(error)}`);
  } finally {
    stats.stepTimes.push(performance.now() - started);
  }
  episode.steps += 1;
  episode.reward = result.reward;
  if (result.done) {
    episode.done = true;
    episode.outcome = result.reward >= 1 ? 'solved' : 'wrong_answer';
  } else if (episode.steps >= MAX_STEPS) {
    episode.done = true;
    episode.outcome = 'step_limit';
  }
  appendLog(name, args, result);
  renderStatus();
  return result;
}

function appendLog(name, args, result) {
  const row = document.createElement('tr');
  row.className = 'step' + (result.observation.startsWith('Error:') ? ' error-step' : '');
  const cells = [String(episode.steps), `${name} ${args}`, result.observation, String(result.reward)];
  cells.forEach((text, i) => {
    const cell = document.createElement('td');
    cell.textContent = text;
    if (i === 1) cell.className = 'call';
    if (i === 2) cell.className = 'obs';
    row.append(cell);
  });
  $('log').tBodies[0].append(row);
  row.scrollIntoView({ block: 'nearest' });
}

function renderStatus() {
  $('steps').textContent = String(episode.steps);
  $('reward').textContent = String(episode.reward);
  const outcome = $('outcome');
  outcome.textContent = episode.outcome;
  outcome.className = episode.outcome === 'solved' ? 'solved' : episode.done ? 'failed' : '';
}

function renderPrompt() {
  if (!episode) return;
  try {
    const prompt = JSON.parse(core.renderPrompt(JSON.stringify(episode.info), episode.task, $('raw-format').value));
    const text = prompt.messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
    $('prompt').textContent = prompt.tools ? `${text}\n\n[tools]\n${JSON.stringify(prompt.tools, null, 1)}` : text;
  } catch (error) {
    $('prompt').textContent = `cannot render the prompt: ${errorText(error)}`;
  }
}

function renderTools(info) {
  const box = $('tools');
  box.replaceChildren();
  for (const tool of info.tools) {
    const div = document.createElement('div');
    div.className = 'tool';
    div.dataset.tool = tool.name;
    const head = document.createElement('div');
    head.className = 'head';
    const title = document.createElement('b');
    title.textContent = tool.name;
    const desc = document.createElement('span');
    desc.className = 'desc';
    desc.textContent = tool.description;
    head.append(title, desc);
    const form = document.createElement('form');
    const read = buildFields(form, parseSchema(tool.parameters));
    const button = document.createElement('button');
    button.type = 'submit';
    button.className = 'call';
    button.textContent = `Call ${tool.name}`;
    form.append(button);
    const error = document.createElement('div');
    error.className = 'error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      showError(error, '');
      try {
        step(tool.name, read());
      } catch (problem) {
        showError(error, problem instanceof FormError ? problem.message : errorText(problem));
      }
    });
    div.append(head, form, error);
    box.append(div);
  }
}

/** The raw-text box: codegym-core's parser, then a step; a parse error is shown, as the
 *  observation an agent would get, and the environment never sees it. */
function sendRaw() {
  showError($('raw-error'), '');
  let call;
  try {
    call = core.parseAction($('raw-text').value, $('raw-format').value);
  } catch (error) {
    showError($('raw-error'), errorText(error));
    return;
  }
  try {
    step(call.name, call.arguments);
  } catch (error) {
    showError($('raw-error'), errorText(error));
  }
}

// ---- the oracle ------------------------------------------------------------------------

function stopOracle() {
  if (oracleRun) oracleRun.stop = true;
  oracleRun = null;
  $('oracle-stop').disabled = true;
}

/** Restart the episode and let the oracle play it, one call per `delay` ms, from its own
 *  instance: it gets the task, then each observation, as the host's OracleSession does. */
async function playOracle() {
  await startEpisode();
  const oracle = (await newEnvInstance(episode.name));
  oracle.oracleStart(episode.task);
  const run = { stop: false };
  oracleRun = run;
  $('oracle-stop').disabled = false;
  let observation = '';
  while (!run.stop && !episode.done) {
    const call = oracle.oracleNext(observation);
    if (!call) break;
    observation = step(call.name, call.arguments).observation;
    const delay = Number($('oracle-delay').value) || 0;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  if (oracleRun === run) stopOracle();
}

// ---- replay ----------------------------------------------------------------------------

let trajectories = [];

async function loadTrajectories(file) {
  showError($('replay-error'), '');
  $('replay').hidden = true;
  const text = await file.text();
  const lines = text.split('\n').map((line, i) => [i + 1, line.trim()]).filter(([, line]) => line);
  trajectories = [];
  for (const [number, line] of lines) {
    let value;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`line ${number}: not valid JSON (${error.message})`);
    }
    if (!value || typeof value.env !== 'string' || !value.log || typeof value.log.config !== 'string' || !Array.isArray(value.steps)) {
      throw new Error(`line ${number}: not a trajectory (needs env, log.config and steps, as codegym rollout --out writes)`);
    }
    trajectories.push(value);
  }
  if (!trajectories.length) throw new Error('the file holds no trajectories');
  const select = $('replay-select');
  select.replaceChildren(
    ...trajectories.map((t, i) => new Option(`${i + 1}. ${t.env} seed ${t.seed} (${t.policy}, ${outcomeText(t.outcome)}, ${t.steps.length} steps)`, String(i))),
  );
  select.hidden = trajectories.length < 2;
  await replay(trajectories[0]);
}

/** A stored `Outcome` (`{"kind": "solved"}`, `{"kind": "fault", "fault": "out_of_fuel"}`). */
function outcomeText(outcome) {
  if (!outcome || typeof outcome !== 'object') return String(outcome);
  return outcome.fault ? `${outcome.kind}: ${outcome.fault}` : String(outcome.kind);
}

let replayed = null; // { trajectory, rows: [{ stored, actual, same, skipped }] }

/** Re-run `trajectory`'s calls from its config in a fresh instance and compare every
 *  observation, reward and done flag with the stored ones, byte for byte. */
async function replay(trajectory) {
  const env = await newEnvInstance(trajectory.env);
  let task;
  try {
    task = env.reset(trajectory.log.config);
  } catch (error) {
    throw new Error(`reset failed: ${errorText(error)}`);
  }
  const rows = [];
  for (const stored of trajectory.steps) {
    if (stored.fault) {
      // The host rolled this call back (a fault); it is not in the action log.
      rows.push({ stored, actual: null, same: true, skipped: true });
      continue;
    }
    const started = performance.now();
    const actual = env.step(stored.call.name, stored.call.arguments);
    stats.stepTimes.push(performance.now() - started);
    const same =
      actual.observation === stored.observation &&
      actual.reward === Math.fround(stored.reward) &&
      actual.done === stored.done;
    rows.push({ stored, actual, same, skipped: false });
  }
  replayed = { trajectory, task, taskSame: task === trajectory.task, rows };
  renderReplay();
}

function renderReplay() {
  const { trajectory, rows, taskSame } = replayed;
  const differ = rows.filter((row) => !row.same).length + (taskSame ? 0 : 1);
  const summary = $('replay-summary');
  summary.textContent =
    `${trajectory.env}, seed ${trajectory.seed}, difficulty ${trajectory.difficulty}, ${trajectory.policy} ` +
    `(${outcomeText(trajectory.outcome)}, reward ${trajectory.reward}): ` +
    `${rows.length} steps replayed, ` +
    (differ === 0 ? 'every observation identical to the stored one.' : `${differ} differ from the stored ones.`);
  summary.className = differ === 0 ? 'same' : 'differs';
  summary.dataset.steps = String(rows.length);
  summary.dataset.mismatches = String(differ);
  const body = $('replay-log').tBodies[0];
  body.replaceChildren(
    ...rows.map((row, i) => {
      const tr = document.createElement('tr');
      tr.className = row.same ? '' : 'mismatch';
      const cells = [String(i + 1), `${row.stored.call.name} ${row.stored.call.arguments}`, row.stored.observation,
        row.skipped ? `host fault (${row.stored.fault}), not replayed` : row.same ? '=' : '≠'];
      cells.forEach((text, j) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (j === 1) td.className = 'call';
        if (j === 2) td.className = 'obs';
        tr.append(td);
      });
      tr.addEventListener('click', () => selectReplayStep(i + 1));
      return tr;
    }),
  );
  const slider = $('replay-slider');
  slider.max = String(rows.length);
  $('replay').hidden = false;
  selectReplayStep(rows.length);
}

/** Show the replay after `position` steps (0: the task). */
function selectReplayStep(position) {
  const { rows, task, taskSame, trajectory } = replayed;
  $('replay-slider').value = String(position);
  $('replay-position').textContent = `${position} / ${rows.length}`;
  const view = $('replay-view');
  view.replaceChildren();
  const line = (label, text, className) => {
    const div = document.createElement('div');
    const b = document.createElement('b');
    b.textContent = label;
    const pre = document.createElement('pre');
    pre.className = 'text' + (className ? ` ${className}` : '');
    pre.textContent = text;
    div.append(b, pre);
    view.append(div);
  };
  if (position === 0) {
    line('task', task, taskSame ? '' : 'differs');
    if (!taskSame) line('stored task', trajectory.task, '');
  } else {
    const row = rows[position - 1];
    line('call', `${row.stored.call.name} ${row.stored.call.arguments}`);
    line(row.same ? 'observation (identical in the browser)' : 'stored observation', row.stored.observation, row.same ? 'same' : '');
    if (!row.same && row.actual) {
      line('browser observation (differs)', `${row.actual.observation}  [reward ${row.actual.reward}, done ${row.actual.done}]`, 'differs');
    }
  }
  [...$('replay-log').tBodies[0].rows].forEach((tr, i) => tr.classList.toggle('current', i === position - 1));
}

// ---- start-up --------------------------------------------------------------------------

function guard(element, action) {
  return async (...args) => {
    try {
      await action(...args);
    } catch (error) {
      showError(element, errorText(error));
    }
  };
}

async function main() {
  const response = await fetch('envs.json');
  if (!response.ok) throw new Error(`envs.json: HTTP ${response.status}; build the site with cargo xtask web`);
  index = await response.json();
  core = (await instantiate(index.core)).actions;
  const select = $('env');
  const categories = [...new Set(index.envs.map((env) => env.category))].sort();
  for (const category of categories) {
    const group = document.createElement('optgroup');
    group.label = category;
    for (const env of index.envs.filter((e) => e.category === category)) {
      group.append(new Option(env.lane === 'python' ? `${env.name} (Python)` : env.name, env.name));
    }
    select.append(group);
  }
  const query = new URLSearchParams(location.search);
  select.value = index.envs.some((e) => e.name === query.get('env')) ? query.get('env') : 'binary-search';
  if (!select.value && index.envs.length) select.value = index.envs[0].name;
  if (query.get('seed')) $('seed').value = query.get('seed');
  if (query.get('difficulty')) $('difficulty').value = query.get('difficulty');

  $('start').addEventListener('click', guard($('error'), startEpisode));
  select.addEventListener('change', guard($('error'), startEpisode));
  $('oracle').addEventListener('click', guard($('error'), playOracle));
  $('oracle-stop').addEventListener('click', stopOracle);
  $('raw-send').addEventListener('click', sendRaw);
  $('raw-format').addEventListener('change', renderPrompt);
  $('replay-file').addEventListener('change', guard($('replay-error'), async (event) => {
    const file = event.target.files[0];
    if (file) await loadTrajectories(file);
  }));
  $('replay-select').addEventListener('change', guard($('replay-error'), (event) => replay(trajectories[Number(event.target.value)])));
  $('replay-slider').addEventListener('input', (event) => selectReplayStep(Number(event.target.value)));
  await startEpisode();
}

/** Steps per second of `Observe` on a fresh `name` episode, `count` calls: the per-step
 *  cost without the page's rendering (performance.now() is coarse for one call). */
async function benchSteps(name, count) {
  const env = await newEnvInstance(name);
  env.reset(env.sampleConfig(1n, 50));
  const started = performance.now();
  for (let i = 0; i < count; i += 1) env.step('Observe', '{}');
  return ((performance.now() - started) * 1000) / count; // µs per step
}

window.codegym = {
  stats,
  benchSteps,
  ready: main().then(
    () => true,
    (error) => {
      showError($('error'), `the playground failed to start: ${errorText(error)}`);
      return false;
    },
  ),
};
