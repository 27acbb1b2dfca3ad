/** @module How Go prints values (fmt.Sprint, strconv.FormatFloat, strconv.Quote), which LXD output is made of. */

/** strconv.FormatFloat(f, 'g', -1, 64): how fmt's %v and yaml.v2 print a JSON number (a Go float64). */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, e] = n.toExponential().split('e') as [string, string];
  const exp = Number(e);
  // %g with the shortest precision switches to an exponent at 1e6 (eprec 6), not at 1e21 as JSON does.
  if (exp < -4 || exp >= 6) {
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(n);
}

/** fmt.Sprint of a value decoded from JSON into `any`. */
export function goSprint(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goSprint).join(' ')}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${goSprint(o[k])}`)
    .join(' ')}]`;
}

/** strconv.Quote: Go's double-quoted string with Go's escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x80) {
      const short: Record<number, string> = { 7: 'a', 8: 'b', 12: 'f', 10: 'n', 13: 'r', 9: 't', 11: 'v' };
      out += short[c] ? `\\${short[c]}` : `\\x${c.toString(16).padStart(2, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** A JSON string as Go's encoding/json writes it: HTML-safe, \u0008/\u000c, U+2028/2029 escaped. */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/\\(u[0-9a-f]{4}|.)|[<>&\u2028\u2029]/g, (m, esc: string | undefined) => {
    if (esc === undefined) return `\\u${(m.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
    if (esc === 'b') return '\\u0008';
    if (esc === 'f') return '\\u000c';
    if (/^ud[89a-f]/.test(esc)) return '\\ufffd';
    return m;
  });
}

/**
 * json.Marshal: of a map[string]any (keys sorted at every level, the default), or of a struct (`sortKeys: false`,
 * keys in the order given, as LXD's structs declare them).
 */
export function goJson(v: unknown, opts: { sortKeys?: boolean } = {}): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => goJson(x, opts)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = opts.sortKeys === false ? Object.keys(o) : Object.keys(o).sort();
  return `{${keys.map((k) => `${goJsonString(k)}:${goJson(o[k], opts)}`).join(',')}}`;
}
