/** CSV as pipelines pass it: a header row, then one object per row (values are strings), RFC 4180 quoting. */

/** Parses CSV text into rows keyed by the header's column names. */
export function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  const [header, ...body] = rows;
  if (!header) return [];
  return body.filter((r) => !(r.length === 1 && r[0] === "")).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}

function quote(v: unknown): string {
  const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes rows (objects) as CSV; the columns are the union of the rows' keys in first-seen order. */
export function formatCsv(rows: unknown): string {
  if (!Array.isArray(rows) || !rows.every((r) => typeof r === "object" && r !== null && !Array.isArray(r))) {
    throw new TypeError("a csv output must be an array of objects (one per row)");
  }
  const columns: string[] = [];
  for (const r of rows as Array<Record<string, unknown>>) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const lines = [columns.map(quote).join(",")];
  for (const r of rows as Array<Record<string, unknown>>) lines.push(columns.map((c) => quote(r[c])).join(","));
  return `${lines.join("\n")}\n`;
}
