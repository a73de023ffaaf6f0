// The current route, following pushState navigation and the back/forward buttons.

import { useCallback, useEffect, useState } from "react";
import { parseRoute, type Route } from "./routes";

const current = (): Route => parseRoute(window.location.pathname, window.location.search);

export function useRoute(): [Route, (href: string) => void] {
  const [route, setRoute] = useState<Route>(current);
  useEffect(() => {
    const onPop = (): void => setRoute(current());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((href: string) => {
    if (href !== window.location.pathname + window.location.search) window.history.pushState(null, "", href);
    setRoute(current());
  }, []);
  return [route, navigate];
}
