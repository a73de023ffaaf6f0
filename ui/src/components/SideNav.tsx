import SideNavigation, { type SideNavigationProps } from "@cloudscape-design/components/side-navigation";
import type { UserInfo } from "../api/types";
import { useFollow } from "../routing/navigation";
import type { Route } from "../routing/routes";

/** The side navigation's entry for a route: a run's page belongs to the runs. */
function activeHref(route: Route): string {
  switch (route.kind) {
    case "submit":
      return "/submit";
    case "fleets":
      return "/fleets";
    case "projects":
      return "/projects";
    case "users":
      return "/users";
    case "profile":
      return "/profile";
    default:
      return "/runs";
  }
}

/** Runs, fleets, submitting, projects; users only for global admins (the API refuses anyone else). */
export function SideNav({ route, user }: { route: Route; user: UserInfo }) {
  const follow = useFollow();
  const items: SideNavigationProps.Item[] = [
    { type: "link", text: "Runs", href: "/runs" },
    { type: "link", text: "Fleets", href: "/fleets" },
    { type: "link", text: "Submit a run", href: "/submit" },
    { type: "divider" },
    { type: "link", text: "Projects", href: "/projects" },
  ];
  if (user.global_role === "admin") items.push({ type: "link", text: "Users", href: "/users" });
  return (
    <SideNavigation activeHref={activeHref(route)} items={items} onFollow={follow} />
  );
}
