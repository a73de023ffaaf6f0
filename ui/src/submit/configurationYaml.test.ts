import { describe, expect, it } from "vitest";
import { lineOfField, parseConfiguration } from "./configurationYaml";

const SERVICE = `type: service
name: web
replicas: 1..3
commands:
  - echo one
  - echo two
resources:
  cpu: 0.5
  memory: lots
`;

describe("parseConfiguration", () => {
  it("reads a mapping as the configuration", () => {
    expect(parseConfiguration(SERVICE)).toEqual({ ok: true, configuration: {
      type: "service", name: "web", replicas: "1..3", commands: ["echo one", "echo two"],
      resources: { cpu: 0.5, memory: "lots" },
    } });
  });

  it("says the line of a syntax error, in one sentence", () => {
    expect(parseConfiguration("type: task\ncommands:\n  - echo\n bad: [1\n")).toEqual({ ok: false, problem: {
      line: 4, message: "All mapping items must start at the same column" } });
    expect(parseConfiguration("type: task\nname: a: b\n")).toEqual({ ok: false, problem: {
      line: 2, message: "Nested mappings are not allowed in compact mappings" } });
  });

  it("refuses a key given twice, at its second line", () => {
    expect(parseConfiguration("type: task\nname: x\nname: y\n")).toEqual({ ok: false, problem: {
      line: 3, message: "Map keys must be unique" } });
  });

  it("refuses what is not a mapping, and nothing at all", () => {
    expect(parseConfiguration("- echo hi\n")).toMatchObject({ ok: false, problem: { line: 1 } });
    expect(parseConfiguration("just words")).toMatchObject({ ok: false, problem: { line: 1 } });
    expect(parseConfiguration("  \n")).toEqual({ ok: false, problem: {
      line: null, message: "paste or upload a run configuration" } });
  });
});

describe("lineOfField", () => {
  it("finds a key, a nested key and a list item", () => {
    expect(lineOfField(SERVICE, ["replicas"])).toBe(3);
    expect(lineOfField(SERVICE, ["resources", "memory"])).toBe(9);
    expect(lineOfField(SERVICE, ["commands", "1"])).toBe(6);
  });

  it("falls back to the deepest part that is there, or to nothing", () => {
    expect(lineOfField(SERVICE, ["resources", "gpu"])).toBe(7);
    expect(lineOfField(SERVICE, ["port"])).toBeNull();
    expect(lineOfField(SERVICE, [])).toBeNull();
    expect(lineOfField("not: [valid", ["not"])).toBe(1);
  });
});
