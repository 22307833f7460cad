// Validators in Convex's JSON form, shown as `v.` code, and example values they accept.

import { fromWire } from "./values.js";
import { formatInline } from "./values.js";

/** `{type: "string"}` → `v.string()`. */
export function describe(validator) {
  if (!validator) return "any arguments (no validator)";
  switch (validator.type) {
    case "string":
    case "boolean":
    case "null":
    case "bytes":
    case "any":
      return `v.${validator.type}()`;
    case "number":
      return "v.number()";
    case "bigint":
      return "v.int64()";
    case "id":
      return `v.id(${JSON.stringify(validator.tableName)})`;
    case "literal":
      return `v.literal(${formatInline(fromWire(validator.value))})`;
    case "array":
      return `v.array(${describe(validator.value)})`;
    case "record":
      return `v.record(${describe(validator.keys)}, ${describe(validator.values.fieldType)})`;
    case "union":
      return `v.union(${validator.value.map(describe).join(", ")})`;
    case "object": {
      const fields = Object.entries(validator.value).map(([name, field]) => {
        const inner = describe(field.fieldType);
        return `${name}: ${field.optional ? `v.optional(${inner})` : inner}`;
      });
      return fields.length ? `v.object({ ${fields.join(", ")} })` : "v.object({})";
    }
    default:
      return JSON.stringify(validator);
  }
}

/** A value `validator` accepts, to start an editor from (required fields only). */
export function example(validator) {
  if (!validator) return {};
  switch (validator.type) {
    case "string":
      return "";
    case "number":
      return 0;
    case "bigint":
      return 0n;
    case "boolean":
      return false;
    case "id":
      return "";
    case "literal":
      return fromWire(validator.value);
    case "array":
      return [];
    case "record":
      return {};
    case "union":
      return validator.value.length ? example(validator.value[0]) : null;
    case "object": {
      const out = {};
      for (const [name, field] of Object.entries(validator.value)) {
        if (!field.optional) out[name] = example(field.fieldType);
      }
      return out;
    }
    default:
      return null;
  }
}
