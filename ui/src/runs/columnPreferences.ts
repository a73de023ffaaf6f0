// Which of the runs list's columns show (RunColumns.tsx), as a person chose them in the table's
// preferences, kept in this browser. The defaults fit 1280 px with the side navigation open.

import type { CollectionPreferencesProps } from "@cloudscape-design/components/collection-preferences";

const LABELS: Record<string, string> = {
  name: "Name and short id", owner: "Project / user", status: "Status", replicas: "Replicas",
  resources: "Resources", price: "Price (per hour, per replica)", cost: "Cost", submitted: "Submitted",
  finished: "Finished", cost_rate: "Cost rate (all replicas, now)", host: "Host",
};

/** Shown by default: what tells runs apart and what they cost. Finished, cost rate and host are a
 * preference away. */
const HIDDEN_BY_DEFAULT = new Set(["finished", "cost_rate", "host"]);

export const DEFAULT_COLUMNS: CollectionPreferencesProps.ContentDisplayItem[] = Object.keys(LABELS)
  .map((id) => ({ id, visible: !HIDDEN_BY_DEFAULT.has(id) }));

export const COLUMN_OPTIONS: CollectionPreferencesProps.ContentDisplayOption[] = Object.entries(LABELS)
  .map(([id, label]) => ({ id, label, alwaysVisible: id === "name" }));

const STORAGE_KEY = "durastack.runs.columns";

/** The columns this browser chose last time: known ids only, and any column added since at its default. */
export function loadColumns(storage: Pick<Storage, "getItem"> | undefined = globalThis.localStorage):
  CollectionPreferencesProps.ContentDisplayItem[] {
  try {
    const saved: unknown = JSON.parse(storage?.getItem(STORAGE_KEY) ?? "null");
    if (!Array.isArray(saved)) return DEFAULT_COLUMNS;
    const known = saved.filter((item): item is { id: string; visible: boolean } =>
      typeof item?.id === "string" && item.id in LABELS && typeof item.visible === "boolean");
    const seen = new Set(known.map((item) => item.id));
    return [...known.map(({ id, visible }) => ({ id, visible })), ...DEFAULT_COLUMNS.filter((item) => !seen.has(item.id))];
  } catch {
    return DEFAULT_COLUMNS;
  }
}

export function saveColumns(columns: readonly CollectionPreferencesProps.ContentDisplayItem[],
  storage: Pick<Storage, "setItem"> | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(columns));
  } catch {
    // Storage may be full or refused (private browsing): the choice lasts for this page only.
  }
}
