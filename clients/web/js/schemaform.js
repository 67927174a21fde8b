// A form generated from a tool's inputSchema (JSON Schema, an object of properties): strings
// (a text area for long ones), numbers and integers, booleans, enums (a select), and anything
// else — objects, arrays, unions — as JSON text.

import { h, field, nextId } from "./dom.js";

const LONG_TEXT = /^(content|body|sql|text|query|script|prompt|message|code)$/i;

export function schemaForm(schema, { idPrefix = nextId("sf") } = {}) {
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const fields = [];
  const el = h("div", { class: "schema-form" });

  // required properties first, each group in the schema's order
  const entries = Object.entries(props);
  const ordered = [...entries.filter(([n]) => required.has(n)), ...entries.filter(([n]) => !required.has(n))];
  for (const [name, ps] of ordered) {
    const p = ps || {};
    const id = `${idPrefix}-${name}`;
    const req = required.has(name);
    const type = Array.isArray(p.type) ? p.type.find((t) => t !== "null") : p.type;
    let input, kind;
    if (Array.isArray(p.enum)) {
      kind = "enum";
      input = h("select", { id, name },
        req ? null : h("option", { value: "" }, "(not set)"),
        p.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))));
      if (p.default !== undefined) input.value = JSON.stringify(p.default);
    } else if (type === "boolean") {
      kind = "boolean";
      input = h("input", { id, name, type: "checkbox", checked: p.default === true });
    } else if (type === "integer" || type === "number") {
      kind = type;
      input = h("input", { id, name, type: "number", step: type === "integer" ? "1" : "any",
        min: p.minimum ?? null, max: p.maximum ?? null, value: p.default ?? null });
    } else if (type === "string") {
      kind = "string";
      const long = LONG_TEXT.test(name) || (p.maxLength && p.maxLength > 4096 && !/path|url|name/i.test(name));
      input = long ? h("textarea", { id, name, rows: "4" }) : h("input", { id, name, type: p.format === "uri" ? "url" : "text" });
      if (p.default !== undefined) input.value = p.default;
      if (p.maxLength) input.setAttribute("maxlength", String(p.maxLength));
    } else {
      kind = "json";
      input = h("textarea", { id, name, rows: "4", class: "mono", placeholder: type === "array" ? "[ … ] as JSON" : "{ … } as JSON" });
      if (p.default !== undefined) input.value = JSON.stringify(p.default, null, 2);
    }
    if (req && kind !== "boolean") input.required = true;
    const label = `${name}${req ? " (required)" : ""}${kind === "json" ? " — JSON" : ""}`;
    const hintText = [p.description, kind === "enum" ? null : enumHint(p)].filter(Boolean).join(" ");
    let wrap;
    if (kind === "boolean") {
      wrap = h("div", { class: "field check" }, input, h("label", { for: id }, label), hintText ? h("small", { class: "hint" }, hintText) : null);
    } else {
      wrap = field(label, input, hintText || null).wrap;
    }
    el.append(wrap);
    fields.push({ name, kind, input, req });
  }
  if (!fields.length) el.append(h("p", { class: "muted" }, "This tool takes no arguments."));

  /** The arguments object; throws {field, message} when a field is missing or not valid JSON. */
  function values() {
    const out = {};
    for (const f of fields) {
      const raw = f.input.value;
      if (f.kind === "boolean") { out[f.name] = f.input.checked; continue; }
      if (raw === "" || raw === undefined) {
        if (f.req) throw { field: f.name, message: `${f.name} is required` };
        continue;
      }
      if (f.kind === "enum") out[f.name] = JSON.parse(raw);
      else if (f.kind === "integer" || f.kind === "number") {
        const n = Number(raw);
        if (!Number.isFinite(n) || (f.kind === "integer" && !Number.isInteger(n))) throw { field: f.name, message: `${f.name} must be ${f.kind === "integer" ? "an integer" : "a number"}` };
        out[f.name] = n;
      } else if (f.kind === "json") {
        try { out[f.name] = JSON.parse(raw); } catch (e) { throw { field: f.name, message: `${f.name} is not valid JSON: ${e.message}` }; }
      } else out[f.name] = raw;
    }
    return out;
  }

  return { el, values, fields };
}

function enumHint(p) {
  const bits = [];
  if (p.minimum !== undefined) bits.push(`min ${p.minimum}`);
  if (p.maximum !== undefined) bits.push(`max ${p.maximum}`);
  return bits.length ? `(${bits.join(", ")})` : null;
}
