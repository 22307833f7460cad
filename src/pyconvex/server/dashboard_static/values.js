// Convex values in the browser: the wire form (convex_encoded_json), display, and editing.
//
// In the UI a float64 is a JS number, an int64 a BigInt (written `12n`), bytes a `Bytes`
// (written {"$bytes": "<base64>"}). The editor syntax is JSON plus what JS adds for these:
// unquoted keys, trailing commas, `12n`, NaN, Infinity, -Infinity.

/** Binary data, held as base64. */
export class Bytes {
  constructor(base64) {
    this.base64 = base64;
  }
}

function base64ToBytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes) {
  let raw = "";
  for (const byte of bytes) raw += String.fromCharCode(byte);
  return btoa(raw);
}

/** Decode convex_encoded_json into UI values. */
export function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys;
    if (key === "$integer") {
      const view = new DataView(base64ToBytes(value.$integer).buffer);
      return view.getBigInt64(0, true);
    }
    if (key === "$float") {
      const view = new DataView(base64ToBytes(value.$float).buffer);
      return view.getFloat64(0, true);
    }
    if (key === "$bytes") return new Bytes(value.$bytes);
  }
  const out = {};
  for (const key of keys) out[key] = fromWire(value[key]);
  return out;
}

/** Encode UI values as convex_encoded_json. */
export function toWire(value) {
  if (typeof value === "bigint") {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigInt64(0, value, true);
    return { $integer: bytesToBase64(new Uint8Array(view.buffer)) };
  }
  if (typeof value === "number") {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value;
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    return { $float: bytesToBase64(new Uint8Array(view.buffer)) };
  }
  if (value instanceof Bytes) return { $bytes: value.base64 };
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toWire(item);
    }
    return out;
  }
  return value;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatKey(key) {
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

function formatScalar(value) {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Bytes) return `{"$bytes": ${JSON.stringify(value.base64)}}`;
  if (value === undefined) return "undefined";
  return JSON.stringify(value);
}

/** One line: `{ name: "x", count: 3n }`. */
export function formatInline(value) {
  if (Array.isArray(value)) return `[${value.map(formatInline).join(", ")}]`;
  if (value !== null && typeof value === "object" && !(value instanceof Bytes)) {
    const entries = Object.entries(value).map(([k, v]) => `${formatKey(k)}: ${formatInline(v)}`);
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  return formatScalar(value);
}

/** Indented, one field a line when it does not fit in `width` characters. */
export function format(value, indent = "", width = 72) {
  const inline = formatInline(value);
  if (inline.length + indent.length <= width) return inline;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return `[\n${value.map((item) => inner + format(item, inner, width)).join(",\n")},\n${indent}]`;
  }
  if (value !== null && typeof value === "object" && !(value instanceof Bytes)) {
    const lines = Object.entries(value).map(
      ([k, v]) => `${inner}${formatKey(k)}: ${format(v, inner, width)}`,
    );
    return `{\n${lines.join(",\n")},\n${indent}}`;
  }
  return inline;
}

/** A syntax error in the editor, with its position. */
export class ParseError extends Error {}

/** Parse the editor syntax into UI values. */
export function parse(text) {
  const parser = new Parser(text);
  parser.space();
  const value = parser.value();
  parser.space();
  if (parser.at < text.length) parser.fail("Unexpected text after the value");
  return value;
}

class Parser {
  constructor(text) {
    this.text = text;
    this.at = 0;
  }

  fail(message) {
    const before = this.text.slice(0, this.at);
    const line = before.split("\n").length;
    const column = this.at - before.lastIndexOf("\n");
    throw new ParseError(`${message} (line ${line}, column ${column})`);
  }

  space() {
    while (this.at < this.text.length) {
      const char = this.text[this.at];
      if (char === " " || char === "\t" || char === "\n" || char === "\r") {
        this.at += 1;
      } else if (this.text.startsWith("//", this.at)) {
        const end = this.text.indexOf("\n", this.at);
        this.at = end === -1 ? this.text.length : end;
      } else {
        return;
      }
    }
  }

  value() {
    const char = this.text[this.at];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === '"' || char === "'") return this.string();
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["-Infinity", -Infinity],
    ]) {
      if (this.text.startsWith(word, this.at) && !/[\w$]/.test(this.text[this.at + word.length] || "")) {
        this.at += word.length;
        return value;
      }
    }
    if (char === "-" || (char >= "0" && char <= "9")) return this.number();
    if (char === undefined) this.fail("Unexpected end of input");
    this.fail(`Unexpected character ${JSON.stringify(char)}`);
  }

  number() {
    const match = /^-?(0|[1-9]\d*)(n|(\.\d+)?([eE][+-]?\d+)?)/.exec(this.text.slice(this.at));
    if (!match) this.fail("Invalid number");
    this.at += match[0].length;
    if (match[2] === "n") return BigInt(match[0].slice(0, -1));
    return Number(match[0]);
  }

  string() {
    const quote = this.text[this.at];
    let end = this.at + 1;
    while (end < this.text.length && this.text[end] !== quote) {
      end += this.text[end] === "\\" ? 2 : 1;
    }
    if (end >= this.text.length) this.fail("Unterminated string");
    let body = this.text.slice(this.at + 1, end);
    if (quote === "'") body = body.replace(/\\'/g, "'").replace(/"/g, '\\"');
    this.at = end + 1;
    try {
      return JSON.parse(`"${body}"`);
    } catch {
      this.fail("Invalid string");
    }
  }

  key() {
    const char = this.text[this.at];
    if (char === '"' || char === "'") return this.string();
    const match = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(this.text.slice(this.at));
    if (!match) this.fail("Expected a field name");
    this.at += match[0].length;
    return match[0];
  }

  object() {
    this.at += 1;
    const out = {};
    this.space();
    while (this.text[this.at] !== "}") {
      const key = this.key();
      this.space();
      if (this.text[this.at] !== ":") this.fail("Expected ':'");
      this.at += 1;
      this.space();
      out[key] = this.value();
      this.space();
      if (this.text[this.at] === ",") {
        this.at += 1;
        this.space();
      } else if (this.text[this.at] !== "}") {
        this.fail("Expected ',' or '}'");
      }
    }
    this.at += 1;
    const keys = Object.keys(out);
    if (keys.length === 1 && ["$bytes", "$integer", "$float"].includes(keys[0])) {
      return fromWire(out);
    }
    return out;
  }

  array() {
    this.at += 1;
    const out = [];
    this.space();
    while (this.text[this.at] !== "]") {
      out.push(this.value());
      this.space();
      if (this.text[this.at] === ",") {
        this.at += 1;
        this.space();
      } else if (this.text[this.at] !== "]") {
        this.fail("Expected ',' or ']'");
      }
    }
    this.at += 1;
    return out;
  }
}

/** A document without its system fields (what an editor shows). */
export function userFields(document) {
  const out = {};
  for (const [key, value] of Object.entries(document)) {
    if (key !== "_id" && key !== "_creationTime") out[key] = value;
  }
  return out;
}
