// The playground: environment components (transpiled by jco, see build.mjs) run in this
// page. One component instance is one episode, as in the host; the oracle runs in a second
// instance and sees only observations; a replay re-runs a stored trajectory in a fresh
// instance. codegym-core's parser and prompt renderer are a component too (core/).
import { buildFields, parseSchema } from './form.js';
import { Fault, LIMITS, Sandbox, compile } from './sandbox.js';

const MAX_STEPS = 256; // the host's default step limit (CodeGym's T_max)
const $ = (id) => document.getElementById(id);

// Measurements the tests read: milliseconds per `step` call into a component.
const stats = { stepTimes: [] };

// ---- components ------------------------------------------------------------------------

/** The web-core component, on the page itself: its calls are pure and short. */
async function instantiate(path) {
  const url = new URL(path, location.href);
  const js = await import(url.href);
  return js.instantiate((core) => compile(new URL(core, url).href), {});
}

let index; // envs.json
let core; // the web-core component's `actions`

/** The host's limits, with the time limit from the page. */
function limits() {
  const ms = Number($('step-timeout').value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 600_000) {
    throw new Error(`the time limit must be an integer number of milliseconds in 1..=600000, got ${JSON.stringify($('step-timeout').value)}`);
  }
  return { ...LIMITS, stepTimeoutMs: ms };
}

const packages = new Map(); // name → Promise of what a runtime instance loads

/** What an instance of the runtime loads for package `entry` (an index entry), fetched
 *  once per page; a package naming a runtime other than the one the index has for it is
 *  refused, as the host refuses a runtime whose bytes are not the one named. */
function loadPackage(entry) {
  if (!packages.has(entry.name)) {
    const loading = (async () => {
      const response = await fetch(entry.package);
      if (!response.ok) throw new Error(`${entry.package}: HTTP ${response.status}`);
      const pkg = await response.json();
      if (pkg.name !== entry.name) throw new Error(`${entry.package} holds ${JSON.stringify(pkg.name)}, not ${entry.name}`);
      if (pkg.runtime !== entry.runtime || !index.runtimes[pkg.runtime]) {
        throw new Error(`the package ${entry.name} names the Python runtime ${String(pkg.runtime).slice(0, 16)}…, ` +
          `which this playground does not have (it has ${Object.keys(index.runtimes).map((h) => `${h.slice(0, 16)}…`).join(', ') || 'none'}); ` +
          'rebuild the package on this runtime, or the site with cargo xtask web');
      }
      const code = Uint8Array.from(atob(pkg.code), (c) => c.charCodeAt(0));
      return { runtime: pkg.runtime, info: pkg.info, spec: pkg.spec, code, configs: pkg.configs };
    })();
    packages.set(entry.name, loading);
    loading.catch(() => packages.delete(entry.name)); // a failed fetch is tried again
  }
  return packages.get(entry.name);
}

/** A new instance of environment `name`, in a sandbox (a worker) of its own: a component's,
 *  or, for a Python package, its runtime's with the package loaded. */
async function newEnvInstance(name) {
  const entry = index.envs.find((env) => env.name === name);
  if (!entry) throw new Error(`no environment named ${JSON.stringify(name)} in this playground`);
  if (!entry.package) return Sandbox.open(new URL(entry.module, location.href).href, limits());
  const pkg = await loadPackage(entry);
  const runtime = new URL(index.runtimes[pkg.runtime].module, location.href).href;
  return Sandbox.open(runtime, limits(), pkg);
}

/** `method(...args)` on `sandbox`, returning the value. */
async function call(sandbox, method, ...args) {
  return (await sandbox.call(method, ...args)).value;
}

function errorText(error) {
  return String(error && error.message ? error.message : error);
}

// ---- the episode -----------------------------------------------------------------------

let episode = null; // { name, sandbox, info, config, task, log, steps, faults, reward, done, outcome, queue }
let oracleRun = null; // { stop: boolean, sandbox }
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

/** A fresh instance of `name` reset to `config`, with `calls` replayed into it: how the
 *  host rebuilds the last good state after a fault. */
async function restore(name, config, calls) {
  const sandbox = await newEnvInstance(name);
  try {
    const task = await call(sandbox, 'reset', config);
    for (const { name: tool, args } of calls) await call(sandbox, 'step', tool, args);
    return { sandbox, task };
  } catch (error) {
    sandbox.close();
    throw error;
  }
}

/** Start an episode: a new instance, the config sampled from seed and difficulty by the
 *  component itself (exactly as the host samples it), then `reset`. */
async function startEpisode() {
  stopOracle();
  showError($('error'), '');
  showError($('raw-error'), '');
  const { name, seed, difficulty } = params();
  limits(); // a bad time limit is refused before anything starts
  const generation = ++starts;
  const sandbox = await newEnvInstance(name);
  // A later start (another click while this one loaded its component) wins.
  if (generation !== starts) return sandbox.close();
  let info, config, task;
  try {
    info = await call(sandbox, 'info');
    config = await call(sandbox, 'sampleConfig', seed, difficulty);
    task = await call(sandbox, 'reset', config);
  } catch (error) {
    sandbox.close();
    throw new Error(`reset failed: ${errorText(error)}`);
  }
  episode?.sandbox.close();
  episode = { name, sandbox, info, config, task, log: [], steps: 0, faults: 0, reward: 0, done: false, outcome: 'running', queue: Promise.resolve() };
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

/** One call into the episode, with the host's semantics: a fault (time, memory, stack,
 *  crash, oversized output) is rolled back by rebuilding the instance from the calls that
 *  took effect, and the agent sees the host's error text. Returns the step result. */
async function step(name, args) {
  if (!episode) throw new Error('no episode');
  const current = episode;
  // Calls run one at a time, in the order they were made (a click while one runs waits).
  const previous = current.queue;
  let release;
  current.queue = new Promise((resolve) => (release = resolve));
  await previous;
  try {
    return await stepNow(current, name, args);
  } finally {
    release();
  }
}

async function stepNow(current, name, args) {
  if (current.done) throw new Error(`the episode is over (${current.outcome}); start a new one`);
  let result;
  let fault = null;
  try {
    const reply = await current.sandbox.call('step', name, args);
    stats.stepTimes.push(reply.ms);
    result = reply.value;
    current.log.push({ name, args });
  } catch (error) {
    if (!(error instanceof Fault)) throw error;
    fault = error;
  }
  if (current !== episode) throw new Error('a new episode started meanwhile');
  current.steps += 1;
  if (fault) {
    current.faults += 1;
    result = { observation: fault.observation, reward: current.reward, done: false };
    try {
      current.sandbox = (await restore(current.name, current.config, current.log)).sandbox;
    } catch {
      result.observation = `Error: ${fault.message}; the environment could not be restored.`;
      result.done = true;
      current.outcome = fault.kind;
    }
  }
  if (result.done) {
    current.done = true;
    if (!fault) {
      current.reward = result.reward;
      current.outcome = result.reward > 0 ? 'solved' : 'wrong_answer';
    }
  } else if (current.steps >= MAX_STEPS) {
    current.done = true;
    current.outcome = 'step_limit';
  }
  appendLog(name, args, result, fault);
  renderStatus();
  return result;
}

/** A table row of a step: number, call, observation, and one more cell. */
function stepRow(number, call, observation, last) {
  const row = document.createElement('tr');
  for (const [text, className] of [[number, ''], [call, 'call'], [observation, 'obs'], [last, '']]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    if (className) cell.className = className;
    row.append(cell);
  }
  return row;
}

function appendLog(name, args, result, fault) {
  const row = stepRow(String(episode.steps), `${name} ${args}`, result.observation, String(result.reward));
  row.className = 'step' + (result.observation.startsWith('Error:') ? ' error-step' : '') + (fault ? ' fault' : '');
  if (fault) row.dataset.fault = fault.kind;
  $('log').tBodies[0].append(row);
  row.scrollIntoView({ block: 'nearest' });
}

function renderStatus() {
  $('steps').textContent = String(episode.steps);
  $('faults').textContent = String(episode.faults);
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
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      showError(error, '');
      try {
        await step(tool.name, read());
      } catch (problem) {
        showError(error, errorText(problem));
      }
    });
    div.append(head, form, error);
    box.append(div);
  }
}

/** The raw-text box: codegym-core's parser, then a step; a parse error is shown, as the
 *  observation an agent would get, and the environment never sees it. */
async function sendRaw() {
  showError($('raw-error'), '');
  let call;
  try {
    call = core.parseAction($('raw-text').value, $('raw-format').value);
  } catch (error) {
    showError($('raw-error'), error && error.payload !== undefined ? String(error.payload) : errorText(error));
    return;
  }
  try {
    await step(call.name, call.arguments);
  } catch (error) {
    showError($('raw-error'), errorText(error));
  }
}

// ---- the oracle ------------------------------------------------------------------------

function stopOracle() {
  if (oracleRun) {
    oracleRun.stop = true;
    oracleRun.sandbox?.close();
  }
  oracleRun = null;
  $('oracle-stop').disabled = true;
}

/** Restart the episode and let the oracle play it, one call per `delay` ms, from its own
 *  instance: it gets the task, then each observation, as the host's OracleSession does. */
async function playOracle() {
  await startEpisode();
  const run = { stop: false, sandbox: await newEnvInstance(episode.name) };
  oracleRun = run;
  $('oracle-stop').disabled = false;
  try {
    await call(run.sandbox, 'oracleStart', episode.task);
    let observation = '';
    while (!run.stop && !episode.done) {
      const next = await call(run.sandbox, 'oracleNext', observation);
      if (!next || run.stop) break;
      observation = (await step(next.name, next.arguments)).observation;
      const delay = Number($('oracle-delay').value) || 0;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  } catch (error) {
    if (!run.stop) throw new Error(`the oracle failed: ${errorText(error)}`);
  } finally {
    if (oracleRun === run) stopOracle();
  }
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
  let sandbox = await newEnvInstance(trajectory.env);
  let task;
  try {
    task = await call(sandbox, 'reset', trajectory.log.config);
  } catch (error) {
    sandbox.close();
    throw new Error(`reset failed: ${errorText(error)}`);
  }
  const rows = [];
  const applied = [];
  // The host ends an episode at its step limit (recorded since task rows brought their
  // own), faulted calls counted: that step is `done` whatever the environment said.
  const limit = trajectory.max_steps ?? MAX_STEPS;
  try {
    for (const [index, stored] of trajectory.steps.entries()) {
      if (stored.fault) {
        // The host rolled this call back (a fault); it is not in the action log.
        rows.push({ stored, actual: null, same: true, skipped: true });
        continue;
      }
      let actual;
      try {
        const reply = await sandbox.call('step', stored.call.name, stored.call.arguments);
        stats.stepTimes.push(reply.ms);
        actual = reply.value;
        applied.push({ name: stored.call.name, args: stored.call.arguments });
      } catch (error) {
        if (!(error instanceof Fault)) throw error;
        // The browser faulted where the host did not: a difference, shown; go on from the
        // last good state.
        actual = { observation: error.observation, reward: NaN, done: false };
        sandbox = (await restore(trajectory.env, trajectory.log.config, applied)).sandbox;
      }
      const same =
        actual.observation === stored.observation &&
        actual.reward === Math.fround(stored.reward) &&
        (actual.done || index + 1 >= limit) === stored.done;
      rows.push({ stored, actual, same, skipped: false });
    }
  } finally {
    // Every path, a replay that throws included, gives its worker back.
    sandbox.close();
  }
  replayed = { trajectory, task, taskSame: task === trajectory.task, rows, turns: conversationTurns(trajectory, rows) };
  renderReplay();
}

/** For an episode an LLM played (`codegym eval --out`), the chat message that made each
 *  step: assistant replies in order, skipping those whose reply was a parse error (the
 *  environment never saw them; the next message is the parser's error, not a stored
 *  observation). `null` for trajectories without a conversation. */
function conversationTurns(trajectory, rows) {
  const messages = Array.isArray(trajectory.messages) ? trajectory.messages : null;
  if (!messages) return null;
  const turns = rows.map(() => null);
  let next = 0;
  messages.forEach((message, i) => {
    if (message.role !== 'assistant' || next >= rows.length) return;
    const reply = messages[i + 1];
    const observation = rows[next].stored.observation;
    if (reply && typeof reply.content === 'string' && reply.content.includes(observation)) {
      turns[next] = i;
      next += 1;
    }
  });
  return turns;
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
      const tr = stepRow(String(i + 1), `${row.stored.call.name} ${row.stored.call.arguments}`, row.stored.observation,
        row.skipped ? `host fault (${row.stored.fault}), not replayed` : row.same ? '=' : '≠');
      tr.className = row.same ? '' : 'mismatch';
      tr.addEventListener('click', () => selectReplayStep(i + 1));
      return tr;
    }),
  );
  renderConversation();
  const slider = $('replay-slider');
  slider.max = String(rows.length);
  $('replay').hidden = false;
  selectReplayStep(rows.length);
}

/** The stored conversation, one block per message, each assistant reply that made a step
 *  marked with its step number. */
function renderConversation() {
  const { trajectory, turns } = replayed;
  const box = $('replay-chat');
  box.hidden = !turns;
  const list = $('replay-messages');
  list.replaceChildren();
  if (!turns) return;
  const stepOf = new Map(turns.map((message, step) => [message, step + 1]));
  const agent = trajectory.agent;
  $('replay-chat-summary').textContent = agent
    ? `conversation: ${trajectory.messages.length} messages, ${agent.turns} turns, ${agent.parse_errors} parse errors (${agent.model}, ${agent.format})`
    : `conversation: ${trajectory.messages.length} messages`;
  trajectory.messages.forEach((message, i) => {
    const div = document.createElement('div');
    div.className = `message ${message.role}`;
    const head = document.createElement('b');
    const step = stepOf.get(i);
    head.textContent = step ? `${message.role} → step ${step}` : message.role;
    if (step) {
      div.dataset.step = String(step);
      div.addEventListener('click', () => selectReplayStep(step));
    }
    const pre = document.createElement('pre');
    pre.className = 'text';
    const calls = Array.isArray(message.tool_calls) ? `\n${JSON.stringify(message.tool_calls)}` : '';
    pre.textContent = `${message.content ?? ''}${calls}`;
    div.append(head, pre);
    list.append(div);
  });
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
  for (const message of $('replay-messages').children) {
    const current = message.dataset.step === String(position);
    message.classList.toggle('current', current);
    if (current && !$('replay-chat').hidden) message.scrollIntoView({ block: 'nearest' });
  }
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

/** µs per `Observe` step on a fresh `name` episode over `count` calls, timed inside its
 *  sandbox: the per-step cost without the page's rendering or messaging. */
async function benchSteps(name, count) {
  const sandbox = await newEnvInstance(name);
  try {
    return await sandbox.bench(count);
  } finally {
    sandbox.close();
  }
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
