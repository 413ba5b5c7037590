// Builds the playground into an output directory (run by `cargo xtask web`, which writes
// the plan): each environment component transpiled by jco into `envs/<name>/`, each Python
// runtime once into `runtimes/<blake3>/`, each Python package as what the page loads into
// that runtime (`packages/<name>.json`), the core component (codegym-core's parser and
// renderer) into `core/`, the page's files from `site/`, and `envs.json`, the index the
// page reads.
//
//   node web/build.mjs --plan FILE --out DIR
//
// The plan (xtask/src/web.rs) is JSON: `core` (the core component), `envs` (in the page's
// order, each `{name, info, extra}` (extra: a test environment) with what `codegym list --json` says of it in `info`, and
// either `component`, its pinned copy, or `package`, its `.pyenv` file, and `runtime`, the
// blake3 it names), `runtimes` (blake3 → pinned copy) and `refused` (`[{name, reason}]`:
// left out of the page and named in the index). Pinned: NaN canonicalisation written into
// their code. A component is transpiled again only when it is newer than its output. The
// components import nothing, so the generated JavaScript needs no WASI shim.
import { transpile } from '@bytecodealliance/jco';
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    plan: { type: 'string' },
    out: { type: 'string' },
  },
});
for (const name of ['plan', 'out']) {
  if (!args[name]) throw new Error(`missing --${name}`);
}
const here = dirname(fileURLToPath(import.meta.url));
const plan = JSON.parse(await readFile(args.plan, 'utf8'));

async function mtime(path) {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return -1;
  }
}

/** Transpile `component` into `dir` as `<name>.js` + core modules, unless up to date.
 *  Resolves to whether it did, and the number of core modules. */
async function transpileInto(component, name, dir) {
  const entry = join(dir, `${name}.js`);
  const fresh = (await mtime(entry)) >= (await mtime(component));
  if (!fresh) {
    const { files } = await transpile(await readFile(component), {
      name,
      instantiation: 'async',
      noTypescript: true,
      quiet: true,
    });
    await rm(dir, { recursive: true, force: true });
    for (const [file, bytes] of Object.entries(files)) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), bytes);
    }
  }
  const coreModules = (await readdir(dir)).filter((f) => f.endsWith('.wasm')).length;
  return { transpiled: !fresh, coreModules };
}

/** Delete the entries of `dir` that `keep` does not name. */
async function prune(dir, keep) {
  for (const entry of await readdir(dir)) {
    if (!keep.has(entry)) await rm(join(dir, entry), { recursive: true });
  }
}

const started = performance.now();
const out = args.out;
for (const dir of ['envs', 'runtimes', 'packages']) await mkdir(join(out, dir), { recursive: true });
let transpiled = 0;

// Each runtime once, however many packages name it.
const runtimes = {};
for (const [hash, component] of Object.entries(plan.runtimes)) {
  const done = await transpileInto(component, 'python-runtime', join(out, 'runtimes', hash));
  if (done.transpiled) transpiled += 1;
  runtimes[hash] = {
    module: `runtimes/${hash}/python-runtime.js`,
    component_bytes: (await stat(component)).size,
    core_modules: done.coreModules,
  };
}

const envs = [];
for (const { name, info, component, package: file, runtime } of plan.envs) {
  const about = { name, category: info.category, description: info.description };
  if (component) {
    const done = await transpileInto(component, name, join(out, 'envs', name));
    if (done.transpiled) transpiled += 1;
    envs.push({
      ...about,
      lane: 'rust',
      module: `envs/${name}/${name}.js`,
      component_bytes: (await stat(component)).size,
      core_modules: done.coreModules,
    });
    continue;
  }
  // A package: what `runtime.load` takes (the info as JSON text, spec, code in base64) and
  // the configs the page samples from, fetched when the environment is opened.
  const pkg = JSON.parse(await readFile(file, 'utf8'));
  if (pkg.runtime !== runtime) throw new Error(`${file} changed while the site was built`);
  const text = JSON.stringify({
    name,
    runtime,
    info: JSON.stringify(pkg.info),
    spec: pkg.spec,
    code: pkg.code,
    configs: pkg.configs ?? null,
  });
  await writeFile(join(out, 'packages', `${name}.json`), text);
  envs.push({
    ...about,
    lane: 'python',
    runtime,
    package: `packages/${name}.json`,
    package_bytes: Buffer.byteLength(text),
    configs: pkg.configs ? pkg.configs.length : null,
  });
}
// Outputs of environments and runtimes that are gone.
await prune(join(out, 'envs'), new Set(envs.filter((e) => e.module).map((e) => e.name)));
await prune(join(out, 'runtimes'), new Set(Object.keys(runtimes)));
await prune(join(out, 'packages'), new Set(envs.filter((e) => e.package).map((e) => `${e.name}.json`)));

await transpileInto(plan.core, 'web-core', join(out, 'core'));
await cp(join(here, 'site'), out, { recursive: true });
await writeFile(
  join(out, 'envs.json'),
  JSON.stringify({ envs, runtimes, refused: plan.refused, core: 'core/web-core.js' }, null, 1) + '\n',
);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const python = envs.filter((e) => e.lane === 'python');
console.error(
  `built the playground into ${out}: ${envs.length} environments (${python.length} Python packages on ` +
    `${Object.keys(runtimes).length} runtime; ${transpiled} components transpiled now, ` +
    `${plan.refused.length} refused) in ${seconds}s`,
);
