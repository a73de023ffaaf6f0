// Whether this browser can open the "Open in Temporal UI" link. The API gives the link to global
// admins only (the Temporal UI shows every project); its address is the server's view of the
// Temporal UI, which is loopback in the embedded setup: from another machine it leads nowhere.

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return LOOPBACK.has(host) || host.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The link to show, or null: none given, one this page can't reach (a loopback address seen from
 * a page that is not itself on loopback), or one that is not an http(s) address. */
export function reachableTemporalUiUrl(url: string | null, pageHostname: string): string | null {
  if (!url) return null;
  let link: URL;
  try {
    link = new URL(url);
  } catch {
    return null;
  }
  if (link.protocol !== "http:" && link.protocol !== "https:") return null;
  return isLoopback(link.hostname) && !isLoopback(pageHostname) ? null : url;
}
