// One sandbox: a dedicated worker holding one environment instance, so that a call which
// never returns (an infinite loop) can be stopped by terminating the worker — the browser's
// counterpart of the host's epoch deadline. The page (sandbox.js) sends the calls; this
// side makes them and reports each call's time and the instance's linear-memory size. An
// instance of a shared runtime (the Python lane) loads its package before anything else.

let env = null;
let memories = []; // every core instance's exported memories
const pending = new Map(); // module URL → resolve, waiting for the page's compiled module

function memoryBytes() {
  return memories.reduce((most, memory) => Math.max(most, memory.buffer.byteLength), 0);
}

/** The page compiles each core module once and hands it over (WebAssembly.Module is
 *  structured-cloneable), so a new sandbox does not compile a 20 MB CPython again. */
function coreModule(url) {
  return new Promise((resolve) => {
    pending.set(url, resolve);
    postMessage({ need: url });
  });
}

async function instantiateCore(module, imports) {
  const instance = await WebAssembly.instantiate(module, imports);
  for (const value of Object.values(instance.exports)) {
    if (value instanceof WebAssembly.Memory) memories.push(value);
  }
  return instance;
}

/** A thrown value as plain data: a component's `result` error has `payload`. */
function describe(error) {
  if (error && error.payload !== undefined) return { payload: String(error.payload) };
  return {
    name: error && error.name ? String(error.name) : 'Error',
    message: error && error.message ? String(error.message) : String(error),
  };
}

async function handle({ op, entry, load, method, args, count, config }) {
  switch (op) {
    case 'open': {
      const js = await import(entry);
      const root = await js.instantiate((core) => coreModule(new URL(core, entry).href), {}, instantiateCore);
      // A package: `runtime.load(info, spec, code)`, once, as the host does per instance.
      if (load) root.runtime.load(load.info, load.spec, load.code);
      env = root.environment;
      return null;
    }
    case 'call':
      return env[method](...args);
    case 'bench': {
      // `count` Observe calls on a fresh episode: the per-step cost without messaging.
      env.reset(config);
      const started = performance.now();
      for (let i = 0; i < count; i += 1) env.step('Observe', '{}');
      return ((performance.now() - started) * 1000) / count;
    }
    default:
      throw new Error(`unknown sandbox operation ${op}`);
  }
}

onmessage = async ({ data }) => {
  if (data.module) {
    pending.get(data.url)?.(data.module);
    pending.delete(data.url);
    return;
  }
  const started = performance.now();
  try {
    const value = await handle(data);
    postMessage({ id: data.id, ok: true, value, ms: performance.now() - started, memory: memoryBytes() });
  } catch (error) {
    postMessage({ id: data.id, ok: false, error: describe(error), ms: performance.now() - started, memory: memoryBytes() });
  }
};
