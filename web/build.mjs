// Builds the playground into an output directory (run by `cargo xtask web`, which passes
// every path): each environment component transpiled by jco into `envs/<name>/`, the core
// component (codegym-core's parser and renderer) into `core/`, the page's files from
// `site/`, and `envs.json`, the index the page reads.
//
//   node web/build.mjs --envs DIR --core FILE --list FILE --python a,b --out DIR
//                      [--extra-list FILE --extra a,b] [--refused FILE]
//
// `--envs` holds the components as xtask prepared them for the browser (NaN canonicalisation
// written into their code), the --extra ones too; `--refused` lists, as
// `[{"name", "reason"}]`, those it refused (relaxed SIMD): they are left out of the page and
// named in the index's `refused`. A component is transpiled again only when it is newer
// than its output. The components import nothing, so the generated JavaScript needs no WASI
// shim.
import { transpile } from '@bytecodealliance/jco';
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    envs: { type: 'string' },
    core: { type: 'string' },
    list: { type: 'string' },
    python: { type: 'string', default: '' },
    'extra-list': { type: 'string', default: '' },
    extra: { type: 'string', default: '' },
    refused: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
for (const name of ['envs', 'core', 'list', 'out']) {
  if (!args[name]) throw new Error(`missing --${name}`);
}
const here = dirname(fileURLToPath(import.meta.url));
const python = new Set(args.python.split(',').filter(Boolean));

async function mtime(path) {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return -1;
  }
}

/** Transpile `component` into `dir` as `<name>.js` + core modules, unless up to date. */
async function transpileInto(component, name, dir) {
  const entry = join(dir, `${name}.js`);
  if ((await mtime(entry)) >= (await mtime(component))) return false;
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
  return true;
}

const started = performance.now();
const out = args.out;
await mkdir(join(out, 'envs'), { recursive: true });

// The environments `codegym list --json` reported, in its order, then the --extra ones
// (test components, as listed in --extra-list), less the refused ones.
const refused = args.refused ? JSON.parse(await readFile(args.refused, 'utf8')) : [];
let listed = JSON.parse(await readFile(args.list, 'utf8'));
const extra = new Set(args.extra.split(',').filter(Boolean));
if (extra.size) {
  const more = JSON.parse(await readFile(args['extra-list'], 'utf8')).filter((info) => extra.has(info.name));
  listed.push(...more.map((info) => ({ ...info, extra: true })));
}
listed = listed.filter((info) => !refused.some((r) => r.name === info.name));
const envs = [];
let transpiled = 0;
for (const info of listed) {
  const component = join(args.envs, `${info.name}.wasm`);
  if ((await transpileInto(component, info.name, join(out, 'envs', info.name)))) transpiled += 1;
  const files = await readdir(join(out, 'envs', info.name));
  envs.push({
    name: info.name,
    category: info.category,
    description: info.description,
    lane: python.has(info.name) ? 'python' : 'rust',
    module: `envs/${info.name}/${info.name}.js`,
    component_bytes: (await stat(component)).size,
    core_modules: files.filter((f) => f.endsWith('.wasm')).length,
  });
}
// Outputs of components that are gone.
for (const dir of await readdir(join(out, 'envs'))) {
  if (!envs.some((env) => env.name === dir)) await rm(join(out, 'envs', dir), { recursive: true });
}
await transpileInto(args.core, 'web-core', join(out, 'core'));
await cp(join(here, 'site'), out, { recursive: true });
await writeFile(
  join(out, 'envs.json'),
  JSON.stringify({ envs, refused, core: 'core/web-core.js' }, null, 1) + '\n',
);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.error(
  `built the playground into ${out}: ${envs.length} environments (${transpiled} transpiled now, ` +
    `${envs.filter((e) => e.lane === 'python').length} Python, ${refused.length} refused) in ${seconds}s`,
);
