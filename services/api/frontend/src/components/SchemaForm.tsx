import { useState } from "preact/hooks";
import type { JsonSchema } from "../types";

// A form from a JSON Schema: strings, numbers, integers, booleans, enums and nested
// objects get fields; anything else (arrays, unions) a JSON box. The raw JSON is always
// one click away, for what a form cannot say.

function kind(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (schema.enum) return "enum";
  if (type === "object" && schema.properties) return "object";
  return type ?? "json";
}

export function initial(schema: JsonSchema | null | undefined): unknown {
  if (!schema) return {};
  if (schema.default !== undefined) return schema.default;
  if (kind(schema) === "object") {
    const value: Record<string, unknown> = {};
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      const v = initial(prop);
      if (v !== undefined) value[name] = v;
    }
    return value;
  }
  if (kind(schema) === "boolean") return false;
  return undefined;
}

function Field({
  name,
  schema,
  value,
  required,
  onChange,
}: {
  name: string;
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  onChange: (v: unknown) => void;
}) {
  const title = schema.title ?? name;
  const id = `field-${name}`;
  const help = schema.description ? <small>{schema.description}</small> : null;
  const k = kind(schema);
  if (k === "object") {
    return (
      <fieldset>
        <legend>{title}</legend>
        {help}
        <Fields schema={schema} value={(value as Record<string, unknown>) ?? {}} onChange={onChange} prefix={`${name}.`} />
      </fieldset>
    );
  }
  if (k === "boolean") {
    return (
      <label class="check" for={id}>
        <input id={id} name={name} type="checkbox" checked={!!value} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
        {title} {help}
      </label>
    );
  }
  let input;
  if (k === "enum") {
    input = (
      <select id={id} name={name} required={required} onChange={(e) => onChange(JSON.parse((e.target as HTMLSelectElement).value))}>
        {!required && <option value="null">—</option>}
        {schema.enum!.map((option) => (
          <option value={JSON.stringify(option)} selected={JSON.stringify(option) === JSON.stringify(value)}>
            {String(option)}
          </option>
        ))}
      </select>
    );
  } else if (k === "number" || k === "integer") {
    input = (
      <input
        id={id}
        name={name}
        type="number"
        step={k === "integer" ? 1 : "any"}
        min={schema.minimum}
        max={schema.maximum}
        required={required}
        value={value === undefined ? "" : String(value)}
        onInput={(e) => {
          const text = (e.target as HTMLInputElement).value;
          onChange(text === "" ? undefined : Number(text));
        }}
      />
    );
  } else if (k === "string") {
    input = (
      <input
        id={id}
        name={name}
        type="text"
        required={required}
        value={(value as string) ?? ""}
        onInput={(e) => {
          const text = (e.target as HTMLInputElement).value;
          onChange(text === "" && !required ? undefined : text);
        }}
      />
    );
  } else {
    input = <JsonBox id={id} value={value} onChange={onChange} />;
  }
  return (
    <div class="field">
      <label for={id}>
        {title}
        {required && <span aria-hidden="true"> *</span>}
      </label>
      {input}
      {help}
    </div>
  );
}

function JsonBox({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <textarea
      id={id}
      class={bad ? "invalid" : ""}
      rows={3}
      value={text}
      onInput={(e) => {
        const t = (e.target as HTMLTextAreaElement).value;
        setText(t);
        try {
          onChange(t.trim() === "" ? undefined : JSON.parse(t));
          setBad(false);
        } catch {
          setBad(true);
        }
      }}
    />
  );
}

function Fields({
  schema,
  value,
  onChange,
  prefix = "",
}: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  prefix?: string;
}) {
  const required = new Set(schema.required ?? []);
  return (
    <>
      {/* Required first: stored schemas (jsonb) do not keep their key order. */}
      {Object.entries(schema.properties ?? {})
        .sort(([a], [b]) => Number(required.has(b)) - Number(required.has(a)))
        .map(([name, prop]) => (
        <Field
          name={prefix + name}
          schema={prop}
          value={value[name]}
          required={required.has(name)}
          onChange={(v) => {
            const next = { ...value };
            if (v === undefined) delete next[name];
            else next[name] = v;
            onChange(next);
          }}
        />
      ))}
    </>
  );
}

/** The value is kept by the caller; the form edits it. */
export function SchemaForm({
  schema,
  value,
  onChange,
}: {
  schema: JsonSchema | null | undefined;
  value: unknown;
  onChange: (v: unknown) => void;
}) {
  if (schema && kind(schema) === "object") {
    return <Fields schema={schema} value={(value as Record<string, unknown>) ?? {}} onChange={onChange} />;
  }
  if (schema && kind(schema) !== "json") {
    return <Field name="value" schema={schema} value={value} required onChange={onChange} />;
  }
  return <JsonBox id="field-json" value={value} onChange={onChange} />;
}
