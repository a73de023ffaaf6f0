import { describe, expect, it } from "vitest";
import { cursorAfter, DEFAULT_FILTERS, listBody } from "./listQuery";

describe("listBody", () => {
  it("asks for one run more than a page, without deleted runs by default", () => {
    expect(listBody(DEFAULT_FILTERS, null, 20)).toEqual({ only_active: false, include_deleted: false, limit: 21 });
  });

  it("sends only the filters that are set, trimmed", () => {
    expect(listBody({ project: "lab", user: " alice ", name: "train", onlyActive: true, showDeleted: true }, null, 10))
      .toEqual({ project_name: "lab", username: "alice", run_name: "train", only_active: true, include_deleted: true,
        limit: 11 });
  });

  it("starts a later page after the last run of the page before", () => {
    const cursor = cursorAfter({ submitted_at: "2025-01-02T03:04:05Z", id: "r-1" });
    expect(listBody(DEFAULT_FILTERS, cursor, 20)).toMatchObject(
      { prev_submitted_at: "2025-01-02T03:04:05Z", prev_run_id: "r-1" });
  });
});
