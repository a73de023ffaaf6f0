// The UI's addresses, parsed from and written to the browser's location.

export type Route =
  | { kind: "home" }
  /** `search`: the list's filters, as `filtersToSearch` writes them ("" for none). */
  | { kind: "runs"; search: string }
  | { kind: "fleets" }
  | { kind: "run"; project: string; name: string; id: string | null }
  | { kind: "submit"; project: string | null }
  | { kind: "projects" }
  | { kind: "users" }
  | { kind: "profile" }
  | { kind: "not_found"; path: string };

export function parseRoute(pathname: string, search = ""): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/") return { kind: "home" };
  if (path === "/runs") return { kind: "runs", search };
  if (path === "/fleets") return { kind: "fleets" };
  if (path === "/submit") return { kind: "submit", project: null };
  if (path === "/projects") return { kind: "projects" };
  if (path === "/users") return { kind: "users" };
  if (path === "/profile") return { kind: "profile" };
  const submit = /^\/projects\/([^/]+)\/submit$/.exec(path);
  const project = submit ? safeDecode(submit[1] ?? "") : null;
  if (project) return { kind: "submit", project };
  const match = /^\/projects\/([^/]+)\/runs\/([^/]+)$/.exec(path);
  if (match) {
    const [, project = "", name = ""] = match;
    const decoded = { project: safeDecode(project), name: safeDecode(name) };
    if (decoded.project !== null && decoded.name !== null) {
      const id = new URLSearchParams(search).get("id");
      return { kind: "run", project: decoded.project, name: decoded.name, id: id || null };
    }
  }
  return { kind: "not_found", path: pathname };
}

export function routeHref(route: Route): string {
  switch (route.kind) {
    case "home":
      return "/";
    case "runs":
      return `/runs${route.search}`;
    case "fleets":
      return "/fleets";
    case "run": {
      const base = `/projects/${encodeURIComponent(route.project)}/runs/${encodeURIComponent(route.name)}`;
      return route.id ? `${base}?id=${encodeURIComponent(route.id)}` : base;
    }
    case "submit":
      return route.project ? `/projects/${encodeURIComponent(route.project)}/submit` : "/submit";
    case "projects":
      return "/projects";
    case "users":
      return "/users";
    case "profile":
      return "/profile";
    case "not_found":
      return route.path;
  }
}

export const runHref = (project: string, name: string, id: string | null = null): string =>
  routeHref({ kind: "run", project, name, id });

function safeDecode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export const submitHref = (project: string | null): string => routeHref({ kind: "submit", project });

/** The address that pins a run's page to the run it shows (`?id=`), or null when it already does.
 * Other query parameters stay. */
export function pinnedRunHref(pathname: string, search: string, runId: string): string | null {
  const params = new URLSearchParams(search);
  if (params.get("id") === runId) return null;
  params.set("id", runId);
  return `${pathname}?${params.toString()}`;
}
