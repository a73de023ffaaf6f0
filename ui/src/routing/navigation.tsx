// In-app navigation without reloads: links call `navigate`, which pushes the address.

import { createContext, useContext } from "react";

export type Navigate = (href: string) => void;

export const NavigationContext = createContext<Navigate>((href) => window.location.assign(href));

export const useNavigate = (): Navigate => useContext(NavigationContext);

/** An onFollow for Cloudscape links and buttons with an href: plain clicks stay in the app. */
export function useFollow(): (event: CustomEvent<{ href?: string; external?: boolean }>) => void {
  const navigate = useNavigate();
  return (event) => {
    const { href, external } = event.detail;
    if (!href || external) return;
    event.preventDefault();
    navigate(href);
  };
}

/** Rewrites the address without a new history entry and without re-rendering: for an address that
 * comes to name more exactly what the page already shows (a run's page pinned to its run's id). */
export function replaceAddress(href: string): void {
  window.history.replaceState(window.history.state, "", href);
}
