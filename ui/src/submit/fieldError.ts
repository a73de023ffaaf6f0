// Where a refused submission's error belongs on the page. The API answers 400 with `detail`
// ("run_spec.configuration.replicas: 'abc' is not ...") and `field` (api/errors.py); the field says
// whether it is the configuration's (shown at its line in the YAML) or the run name's.

import { ApiError } from "../api/client";
import { lineOfField } from "./configurationYaml";

const CONFIGURATION = "run_spec.configuration";
const RUN_NAME = "run_spec.run_name";

export interface FieldError {
  /** Which input shows it: the YAML, the run name, or the form as a whole. */
  target: "configuration" | "run_name" | "form";
  /** The field as the configuration names it ("resources.memory"); null for the whole of it. */
  field: string | null;
  line: number | null;
  message: string;
}

export function fieldError(error: unknown, yamlText: string): FieldError {
  if (!(error instanceof ApiError) || error.status !== 400) {
    return { target: "form", field: null, line: null, message: error instanceof Error ? error.message : String(error) };
  }
  const apiField = error.field ?? "";
  // The detail repeats the field in front of the message; the page shows the field on its own.
  const message = apiField && error.detail.startsWith(`${apiField}: `)
    ? error.detail.slice(apiField.length + 2) : error.detail;
  if (apiField === RUN_NAME) return { target: "run_name", field: "run name", line: null, message };
  if (apiField === CONFIGURATION || apiField.startsWith(`${CONFIGURATION}.`)) {
    const field = apiField.slice(CONFIGURATION.length + 1) || null;
    return { target: "configuration", field, line: field ? lineOfField(yamlText, field.split(".")) : null, message };
  }
  return { target: "form", field: apiField || null, line: null, message };
}

/** "line 2, replicas: 'abc' is not a replica count …". */
export function describeFieldError(error: Pick<FieldError, "field" | "line" | "message">): string {
  const where = [error.line === null ? null : `line ${error.line}`, error.field].filter(Boolean).join(", ");
  return where ? `${where}: ${error.message}` : error.message;
}
