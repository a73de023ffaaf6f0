import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { describeFieldError, fieldError } from "./fieldError";

const YAML = "type: service\nport: 80\ncommands: [sleep 1]\nreplicas: abc\nbogus: 1\n";

describe("fieldError", () => {
  it("puts a configuration field's refusal at its line in the YAML", () => {
    const error = new ApiError(400, "run_spec.configuration.replicas: 'abc' is not a replica count or a range like 1..4",
      "run_spec.configuration.replicas");
    expect(fieldError(error, YAML)).toEqual({ target: "configuration", field: "replicas", line: 4,
      message: "'abc' is not a replica count or a range like 1..4" });
    expect(fieldError(new ApiError(400, "run_spec.configuration.bogus: unknown field", "run_spec.configuration.bogus"),
      YAML)).toMatchObject({ field: "bogus", line: 5, message: "unknown field" });
  });

  it("keeps the field of a missing key, without a line", () => {
    const error = new ApiError(400, "run_spec.configuration.resources.memory: 'lots' is not a size",
      "run_spec.configuration.resources.memory");
    expect(fieldError(error, YAML)).toEqual({ target: "configuration", field: "resources.memory", line: null,
      message: "'lots' is not a size" });
  });

  it("shows the configuration as a whole without a field", () => {
    const error = new ApiError(400, "run_spec.configuration: type must be 'task' or 'service'", "run_spec.configuration");
    expect(fieldError(error, YAML)).toEqual({ target: "configuration", field: null, line: null,
      message: "type must be 'task' or 'service'" });
  });

  it("sends the run name's refusal to the run name", () => {
    const error = new ApiError(400, "run_spec.run_name: String should match pattern", "run_spec.run_name");
    expect(fieldError(error, YAML)).toMatchObject({ target: "run_name", message: "String should match pattern" });
  });

  it("leaves other refusals to the form, as they are", () => {
    expect(fieldError(new ApiError(409, "run web is already active"), YAML)).toEqual(
      { target: "form", field: null, line: null, message: "run web is already active" });
    expect(fieldError(new ApiError(400, "bad thing", null), YAML)).toMatchObject({ target: "form", message: "bad thing" });
    expect(fieldError(new TypeError("boom"), YAML)).toMatchObject({ target: "form", message: "boom" });
  });
});

describe("describeFieldError", () => {
  it("names the line and the field when it knows them", () => {
    expect(describeFieldError({ field: "replicas", line: 4, message: "bad" })).toBe("line 4, replicas: bad");
    expect(describeFieldError({ field: "resources.memory", line: null, message: "bad" })).toBe("resources.memory: bad");
    expect(describeFieldError({ field: null, line: 2, message: "bad" })).toBe("line 2: bad");
    expect(describeFieldError({ field: null, line: null, message: "bad" })).toBe("bad");
  });
});
