// A form for one tool, generated from its parameters' JSON Schema (as schemars writes it:
// an object of properties, `$ref`s into `$defs`, enums, integers, strings, booleans,
// arrays). The form yields the call's arguments as JSON text, or throws a FormError that
// names the field. Integers are copied digit for digit, so 64-bit values survive.

export class FormError extends Error {}

/** `schema` with a top-level `$ref` into `root.$defs` followed. */
function resolve(schema, root) {
  const ref = schema && schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
    const target = root.$defs && root.$defs[ref.slice('#/$defs/'.length)];
    if (target) return { ...target, description: schema.description ?? target.description };
  }
  return schema ?? {};
}

/** The first non-null type the schema allows. */
function typeOf(schema) {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type) return type;
  if (Array.isArray(schema.enum)) return typeof schema.enum[0] === 'number' ? 'integer' : 'string';
  return 'json';
}

/** The parameters' schema as an object, `{}` if the text is not one. */
export function parseSchema(text) {
  try {
    const schema = JSON.parse(text);
    return schema && typeof schema === 'object' && !Array.isArray(schema) ? schema : {};
  } catch {
    return {};
  }
}

/**
 * Build the form's fields into `form` and return `read()`, which gives the arguments as
 * JSON text or throws a FormError.
 */
export function buildFields(form, schema) {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const readers = [];
  for (const [name, raw] of Object.entries(properties)) {
    const property = resolve(raw, schema);
    const type = typeOf(property);
    const label = document.createElement('label');
    label.title = property.description ?? '';
    label.append(`${name}${required.has(name) ? '' : '?'} `);
    let input;
    if (Array.isArray(property.enum)) {
      input = document.createElement('select');
      if (!required.has(name)) input.append(new Option('', ''));
      for (const value of property.enum) input.append(new Option(String(value), JSON.stringify(value)));
    } else if (type === 'boolean') {
      input = document.createElement('input');
      input.type = 'checkbox';
    } else if (type === 'array' || type === 'object' || type === 'json') {
      input = document.createElement('textarea');
      input.placeholder = type === 'object' ? '{...}' : type === 'array' ? '[...]' : 'JSON';
      input.spellcheck = false;
    } else {
      input = document.createElement('input');
      input.type = 'text';
      input.placeholder = type;
    }
    input.name = name;
    label.append(input);
    form.append(label);
    readers.push(() => {
      const value = readField(name, type, input, property, required.has(name));
      return value === undefined ? undefined : `${JSON.stringify(name)}:${value}`;
    });
  }
  return () => `{${readers.map((read) => read()).filter((v) => v !== undefined).join(',')}}`;
}

/** One field's value as JSON text (`undefined`: left out). */
function readField(name, type, input, property, required) {
  if (input.type === 'checkbox') return input.checked ? 'true' : 'false';
  const text = input.value.trim();
  if (input.tagName === 'SELECT') {
    if (text === '') {
      if (required) throw new FormError(`${name}: choose a value`);
      return undefined;
    }
    return text;
  }
  if (text === '') {
    if (required) throw new FormError(`${name}: required`);
    return undefined;
  }
  switch (type) {
    case 'string':
      return JSON.stringify(input.value);
    case 'integer':
      if (!/^-?(0|[1-9][0-9]*)$/.test(text)) throw new FormError(`${name}: expected an integer, got ${JSON.stringify(text)}`);
      return text;
    case 'number':
      if (!Number.isFinite(Number(text)) || !/^-?[0-9.eE+-]+$/.test(text)) {
        throw new FormError(`${name}: expected a number, got ${JSON.stringify(text)}`);
      }
      return text;
    default: {
      let value;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new FormError(`${name}: not valid JSON (${error.message})`);
      }
      if (type === 'array' && !Array.isArray(value)) throw new FormError(`${name}: expected a JSON array such as [1, 2]`);
      if (type === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
        throw new FormError(`${name}: expected a JSON object`);
      }
      // The text itself, not a re-serialisation: large integers inside stay exact.
      return text;
    }
  }
}
