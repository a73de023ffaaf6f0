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
