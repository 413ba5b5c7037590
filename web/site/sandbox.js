// The page's side of a sandbox (sandbox-worker.js): an environment instance in a worker of
// its own, with the host's limits on each call — a time limit (the worker is terminated,
// as the host's epoch deadline interrupts a call), a linear-memory limit and an output
// limit — and the host's names for what went wrong (codegym-core's FaultKind). A Python
// environment is a package loaded into a fresh instance of its shared runtime; when it
// carries its configs, `sampleConfig` is answered here, as the host answers it.

/** The host's defaults (`codegym_host::Limits`). */
export const LIMITS = { stepTimeoutMs: 2000, memoryBytes: 64 << 20, maxOutputBytes: 64 << 10 };

/** A call that faulted: `kind` is a FaultKind name (timeout, memory, stack_overflow, ...). */
export class Fault extends Error {
  constructor(kind, detail) {
    super(`${FAULT_TEXT[kind] ?? kind}${detail ? ` (${detail})` : ''}`);
    this.kind = kind;
  }
  /** The host's observation for a fault it rolled back. */
  get observation() {
    return `Error: ${FAULT_TEXT[this.kind]}. The call was rolled back; the state is unchanged.`;
  }
}

// codegym-core's FaultKind::describe, word for word.
const FAULT_TEXT = {
  timeout: 'the tool call exceeded its time limit',
  memory: 'the tool call exceeded the memory limit',
  stack_overflow: 'the tool call overflowed the stack',
  panic: 'the environment crashed while running the tool call',
  output_too_large: 'the tool call produced too much output',
  trap: 'the environment trapped while running the tool call',
};

/** A component's own `result` error (not a fault): its text is the payload. */
export class EnvError extends Error {}

const compiled = new Map(); // core-module URL → Promise<WebAssembly.Module>

/** The compiled core module at `url`, compiled once per page. */
export function compile(url) {
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

const WORKER = new URL('sandbox-worker.js', import.meta.url);

/** The config of a package's `configs` for `(seed, difficulty)`: `(101 * seed + difficulty)
 *  mod n` in u64 arithmetic, as the host picks it (`seed` a BigInt). */
export function packageConfig(configs, seed, difficulty) {
  return configs[Number(BigInt.asUintN(64, 101n * BigInt(seed) + BigInt(difficulty)) % BigInt(configs.length))];
}

export class Sandbox {
  /** A new instance of the jco-transpiled component whose entry module is `entry` (URL);
   *  for a package, `load` is `{ info, spec, code, configs }` (`code` a Uint8Array): the
   *  instance is a runtime's, and `runtime.load` is its first call. */
  static async open(entry, limits = LIMITS, load = null) {
    const sandbox = new Sandbox(limits, load?.configs ?? null);
    const message = { op: 'open', entry };
    if (load) message.load = { info: load.info, spec: load.spec, code: load.code };
    try {
      await sandbox.request(message, 60_000);
    } catch (error) {
      sandbox.close();
      throw load && error instanceof EnvError ? new EnvError(`the package did not load: ${error.message}`) : error;
    }
    return sandbox;
  }

  constructor(limits, configs) {
    this.limits = limits;
    this.configs = configs; // a package's configs: sampleConfig is the host's, not the guest's
    this.worker = new Worker(WORKER, { type: 'module' });
    this.calls = new Map(); // id → { resolve, reject, timer }
    this.next = 0;
    this.dead = null; // the Fault that ended this sandbox
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => this.kill(new Fault('trap', event.message));
  }

  receive(data) {
    if (data.need) {
      compile(data.need).then((module) => this.worker.postMessage({ module, url: data.need }),
        (error) => this.kill(new Fault('trap', String(error))));
      return;
    }
    const call = this.calls.get(data.id);
    if (!call) return;
    this.calls.delete(data.id);
    clearTimeout(call.timer);
    call.resolve(data);
  }

  request(message, timeoutMs) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.kill(new Fault('timeout')), timeoutMs);
      this.calls.set(id, { resolve, reject, timer });
      this.worker.postMessage({ ...message, id });
    }).then((reply) => {
      if (reply.memory > this.limits.memoryBytes) {
        // Whatever the call did, the instance is past its limit: the host refuses the growth.
        this.kill(new Fault('memory', `${(reply.memory / 2 ** 20).toFixed(0)} MiB`));
        throw this.dead;
      }
      if (reply.ok) return reply;
      if (reply.error.payload !== undefined) throw new EnvError(reply.error.payload);
      // A trap leaves the instance unusable, as in the host.
      this.kill(classify(reply.error));
      throw this.dead;
    });
  }

  /** `method(...args)` on the instance under the step time limit; resolves to
   *  `{ value, ms }` or rejects with a Fault (the sandbox is then dead) or an EnvError. */
  async call(method, ...args) {
    if (method === 'sampleConfig' && this.configs) {
      if (this.dead) throw this.dead;
      return { value: packageConfig(this.configs, ...args), ms: 0 };
    }
    const reply = await this.request({ op: 'call', method, args }, this.limits.stepTimeoutMs);
    if (method === 'step' && reply.value.observation.length > this.limits.maxOutputBytes) {
      // The call took effect: the instance must be rebuilt, as after any fault.
      this.kill(new Fault('output_too_large', `${reply.value.observation.length} bytes`));
      throw this.dead;
    }
    return reply;
  }

  /** µs per `Observe` step over `count` calls, measured inside the worker. */
  async bench(count) {
    const config = (await this.call('sampleConfig', 1n, 50)).value;
    return (await this.request({ op: 'bench', count, config }, 60_000)).value;
  }

  kill(fault) {
    if (this.dead) return;
    this.dead = fault;
    this.worker.terminate();
    for (const { reject, timer } of this.calls.values()) {
      clearTimeout(timer);
      reject(fault);
    }
    this.calls.clear();
  }

  close() {
    this.kill(new Fault('trap', 'closed'));
  }
}

/** A trap's JavaScript error → the FaultKind the host would report for it. */
function classify(error) {
  if (error.name === 'RangeError' && /call stack/i.test(error.message)) return new Fault('stack_overflow');
  if (/unreachable/i.test(error.message)) return new Fault('panic');
  if (/out of memory|memory access out of bounds/i.test(error.message)) return new Fault('trap', error.message);
  return new Fault('trap', `${error.name}: ${error.message}`);
}
