import { describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "./client";

/** The error that a request to a server answering `response` (or failing with it) is refused with. */
async function refusal(response: Response | Error): Promise<ApiError> {
  const client = new ApiClient("t0ken", "http://server", async () => {
    if (response instanceof Error) throw response;
    return response;
  });
  return client.post("/x").then(() => { throw new Error("the request was not refused"); },
    (error: unknown) => error as ApiError);
}

const json = (body: unknown, status: number) => new Response(JSON.stringify(body), { status });

describe("ApiClient", () => {
  it("posts JSON with the Bearer token and returns the answer", async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const client = new ApiClient("t0ken", "http://server", async (url, init) => {
      seen.push({ url, init });
      return new Response(JSON.stringify({ username: "admin" }));
    });
    expect(await client.post("/api/users/get_my_user")).toEqual({ username: "admin" });
    const [request] = seen;
    expect(request?.url).toBe("http://server/api/users/get_my_user");
    expect(request?.init.method).toBe("POST");
    expect(new Headers(request?.init.headers).get("Authorization")).toBe("Bearer t0ken");
    expect(request?.init.body).toBe("{}");
  });

  it("gets with the query parameters that are set", async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const client = new ApiClient("t0ken", "http://server", async (url, init) => {
      seen.push({ url, init });
      return new Response(JSON.stringify({ metrics: [] }));
    });
    expect(await client.get("/api/m", { replica_num: 0, after: null, run_id: "a b" })).toEqual({ metrics: [] });
    expect(seen[0]?.url).toBe("http://server/api/m?replica_num=0&run_id=a+b");
    expect(seen[0]?.init.method).toBe("GET");
    expect(seen[0]?.init.body).toBeUndefined();
    expect(new Headers(seen[0]?.init.headers).get("Authorization")).toBe("Bearer t0ken");
  });

  it("carries the server's detail and field on a refusal", async () => {
    const body = { status_code: 400, detail: "run_spec.configuration.resources.memory: 'lots' is not a size",
      field: "run_spec.configuration.resources.memory" };
    const error = await refusal(json(body, 400));
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, detail: body.detail, field: body.field, message: body.detail });
  });

  it("names the field when the detail does not", async () => {
    const error = await refusal(json({ status_code: 400, detail: "must be positive", field: "replicas" }, 400));
    expect(error.message).toBe("replicas: must be positive");
  });

  it("says the status when the refusal is not the API's", async () => {
    const error = await refusal(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    expect(error).toMatchObject({ status: 502, detail: "502 Bad Gateway", field: null });
  });

  it("says when the server cannot be reached", async () => {
    const error = await refusal(new TypeError("Failed to fetch"));
    expect(error).toMatchObject({ status: 0, detail: "cannot reach the server: TypeError: Failed to fetch" });
  });
});
