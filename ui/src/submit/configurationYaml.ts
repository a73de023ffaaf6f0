// A run configuration typed or uploaded as YAML: parsed in the browser, so that a syntax error is
// shown with its line before anything is sent, and the line of a field the server refuses is found.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";

export interface YamlProblem {
  line: number | null;
  message: string;
}

export type Parsed =
  | { ok: true; configuration: Record<string, unknown> }
  | { ok: false; problem: YamlProblem };

export function parseConfiguration(text: string): Parsed {
  if (!text.trim()) return { ok: false, problem: { line: null, message: "paste or upload a run configuration" } };
  const lines = new LineCounter();
  // prettyErrors: false keeps messages to one sentence; the line comes from the error's offset.
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const [error] = document.errors;
  if (error) {
    return { ok: false, problem: { line: lines.linePos(error.pos[0]).line, message: firstSentence(error.message) } };
  }
  const value: unknown = document.toJS();
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, problem: { line: 1, message: "a run configuration is a mapping (type: task, commands: ...)" } };
  }
  return { ok: true, configuration: value as Record<string, unknown> };
}

/** The line of the deepest part of `path` (keys, and indexes of lists) that the text has; null
 * when not even its first key is there (a required field that is missing, say). */
export function lineOfField(text: string, path: readonly string[]): number | null {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines });
  let node: unknown = document.contents;
  let offset: number | null = null;
  for (const segment of path) {
    let next: { at: number | undefined; node: unknown } | null = null;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
      if (pair) next = { at: (pair.key as Node).range?.[0], node: pair.value };
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)];
      if (item !== undefined) next = { at: (item as Node).range?.[0], node: item };
    }
    if (!next) break;
    if (next.at !== undefined) offset = next.at;
    node = next.node;
  }
  return offset === null ? null : lines.linePos(offset).line;
}

function firstSentence(message: string): string {
  return message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? message;
}
