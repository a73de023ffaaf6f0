import { describe, expect, it } from "vitest";
import {
  cursorAfter,
  DEFAULT_FILTERS,
  filtersFromSearch,
  filtersToSearch,
  historyFilters,
  historyHref,
  isFiltered,
  listBody,
} from "./listQuery";

describe("listBody", () => {
  it("asks for one run more than a page, without deleted runs by default", () => {
    expect(listBody(DEFAULT_FILTERS, null, 20)).toEqual({ only_active: false, include_deleted: false, limit: 21 });
  });

  it("sends only the filters that are set, trimmed, for the server to apply to every page", () => {
    expect(listBody({ project: "lab", user: " alice ", name: " hp-Trial ", history: null, statuses: ["failed", "done"],
      onlyActive: true, showDeleted: true }, null, 10))
      .toEqual({ project_name: "lab", username: "alice", name_contains: "hp-Trial", statuses: ["failed", "done"],
        only_active: true, include_deleted: true, limit: 11 });
  });

  it("asks for a name's history by its exact name", () => {
    expect(listBody(historyFilters({ project_name: "lab", run_name: "train" }), null, 20)).toEqual(
      { project_name: "lab", run_name: "train", only_active: false, include_deleted: true, limit: 21 });
  });

  it("starts a later page after the last run of the page before", () => {
    const cursor = cursorAfter({ submitted_at: "2025-01-02T03:04:05Z", id: "r-1" });
    expect(listBody({ ...DEFAULT_FILTERS, statuses: ["failed"] }, cursor, 20)).toMatchObject(
      { statuses: ["failed"], prev_submitted_at: "2025-01-02T03:04:05Z", prev_run_id: "r-1" });
  });
});

describe("isFiltered", () => {
  it("is true when a filter narrows the list", () => {
    expect(isFiltered(DEFAULT_FILTERS)).toBe(false);
    expect(isFiltered({ ...DEFAULT_FILTERS, showDeleted: true })).toBe(false);
    expect(isFiltered({ ...DEFAULT_FILTERS, statuses: ["failed"] })).toBe(true);
    expect(isFiltered({ ...DEFAULT_FILTERS, name: "x" })).toBe(true);
  });
});

describe("filters in the address", () => {
  it("writes only what narrows the list, and reads back the same filters", () => {
    expect(filtersToSearch(DEFAULT_FILTERS)).toBe("");
    const filters = { ...DEFAULT_FILTERS, project: "my lab", name: " hp-trial ", statuses: ["failed" as const, "done" as const],
      onlyActive: true };
    const search = filtersToSearch(filters);
    expect(search).toBe("?project=my+lab&name=hp-trial&status=failed%2Cdone&active=1");
    expect(filtersFromSearch(search)).toEqual({ ...filters, name: "hp-trial" });
  });

  it("takes what an address doesn't say, or says wrong, as the default", () => {
    expect(filtersFromSearch("")).toEqual(DEFAULT_FILTERS);
    expect(filtersFromSearch("?status=failed,sleeping&active=yes")).toEqual({ ...DEFAULT_FILTERS, statuses: ["failed"] });
  });

  it("links a name's history: every run of it in its project, deleted ones too", () => {
    const href = historyHref({ project_name: "main", run_name: "web" });
    expect(href).toBe("/runs?project=main&history=web&deleted=1");
    expect(filtersFromSearch(href.slice("/runs".length))).toEqual(historyFilters({ project_name: "main", run_name: "web" }));
  });
});
