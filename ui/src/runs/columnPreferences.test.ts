import { describe, expect, it } from "vitest";
import { DEFAULT_COLUMNS, loadColumns, saveColumns } from "./columnPreferences";

const storage = (value: string | null) => ({ getItem: () => value });

describe("loadColumns", () => {
  it("shows the columns that fit by default; finished, cost rate and host are hidden", () => {
    expect(loadColumns(storage(null))).toEqual(DEFAULT_COLUMNS);
    expect(DEFAULT_COLUMNS.filter((column) => !column.visible).map((column) => column.id))
      .toEqual(["finished", "cost_rate", "host"]);
  });

  it("keeps the saved order and visibility, drops unknown columns and adds new ones at their default", () => {
    const saved = JSON.stringify([{ id: "host", visible: true }, { id: "gone", visible: true },
      { id: "name", visible: true }, { id: "cost", visible: false }]);
    const columns = loadColumns(storage(saved));
    expect(columns.slice(0, 3)).toEqual([{ id: "host", visible: true }, { id: "name", visible: true },
      { id: "cost", visible: false }]);
    expect(columns).toHaveLength(DEFAULT_COLUMNS.length);
    expect(columns.find((column) => column.id === "status")).toEqual({ id: "status", visible: true });
  });

  it("falls back to the defaults on anything it can't read", () => {
    expect(loadColumns(storage("{not json"))).toEqual(DEFAULT_COLUMNS);
    expect(loadColumns(storage('{"id": "name"}'))).toEqual(DEFAULT_COLUMNS);
    expect(loadColumns(undefined)).toEqual(DEFAULT_COLUMNS);
  });
});

describe("saveColumns", () => {
  it("writes what loadColumns reads, and survives a storage that refuses", () => {
    let kept: string | null = null;
    saveColumns([{ id: "name", visible: true }], { setItem: (_, value) => { kept = value; } });
    expect(loadColumns(storage(kept))[0]).toEqual({ id: "name", visible: true });
    expect(() => saveColumns(DEFAULT_COLUMNS, { setItem: () => { throw new Error("full"); } })).not.toThrow();
  });
});
