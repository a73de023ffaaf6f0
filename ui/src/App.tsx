// The shell: who is signed in, the top bar, and the page for the current address.

import AppLayout from "@cloudscape-design/components/app-layout";
import Spinner from "@cloudscape-design/components/spinner";
import TopNavigation from "@cloudscape-design/components/top-navigation";
import { type ReactNode, useEffect, useState } from "react";
import type { ApiClient } from "./api/client";
import type { UserInfo } from "./api/types";
import { useSession } from "./auth/useSession";
import { SideNav } from "./components/SideNav";
import { FleetsPage } from "./pages/FleetsPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { ProfilePage } from "./pages/ProfilePage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { RunDetailsPage } from "./pages/RunDetailsPage";
import { RunsListPage } from "./pages/RunsListPage";
import { SignInPage } from "./pages/SignInPage";
import { SubmitPage } from "./pages/SubmitPage";
import { UsersPage } from "./pages/UsersPage";
import { NavigationContext } from "./routing/navigation";
import type { Route } from "./routing/routes";
import { useRoute } from "./routing/useRoute";

export function App() {
  const { session, signIn, signOut } = useSession();
  const [route, navigate] = useRoute();
  const [navigationOpen, setNavigationOpen] = useState(true);

  useEffect(() => {
    if (session.state === "signed_in" && route.kind === "home") navigate("/runs");
  }, [session.state, route.kind, navigate]);

  if (session.state === "checking") return <div style={{ padding: 40 }}><Spinner size="large" /></div>;
  if (session.state === "signed_out") return <SignInPage error={session.error} onSignIn={signIn} />;

  const { api, user } = session;
  const page = pageOf(route, api, user);

  return (
    <NavigationContext.Provider value={navigate}>
      <div id="top-nav" style={{ position: "sticky", top: 0, zIndex: 1002 }}>
        <TopNavigation
          identity={{ title: "durastack", href: "/runs", onFollow: (event) => { event.preventDefault(); navigate("/runs"); } }}
          utilities={[
            {
              type: "menu-dropdown", text: user.username, description: `global role: ${user.global_role}`,
              iconName: "user-profile",
              items: [{ id: "profile", text: "Profile", href: "/profile" }, { id: "signout", text: "Sign out" }],
              onItemClick: ({ detail }) => { if (detail.id === "signout") signOut(); },
              onItemFollow: (event) => {
                if (event.detail.id !== "profile") return;
                event.preventDefault(); // in the app, without a reload
                navigate("/profile");
              },
            },
          ]}
        />
      </div>
      <AppLayout headerSelector="#top-nav" toolsHide navigation={<SideNav route={route} user={user} />}
        navigationOpen={navigationOpen} onNavigationChange={({ detail }) => setNavigationOpen(detail.open)}
        ariaLabels={{ navigation: "Side navigation", navigationToggle: "Open the side navigation",
          navigationClose: "Close the side navigation" }}
        content={page} />
    </NavigationContext.Provider>
  );
}

function pageOf(route: Route, api: ApiClient, user: UserInfo): ReactNode {
  switch (route.kind) {
    case "run":
      return <RunDetailsPage key={`${route.project}/${route.name}/${route.id}`} api={api} project={route.project}
        name={route.name} id={route.id} />;
    case "submit":
      return <SubmitPage api={api} project={route.project} />;
    case "fleets":
      return <FleetsPage api={api} user={user} />;
    case "projects":
      return <ProjectsPage api={api} user={user} />;
    case "users":
      return <UsersPage api={api} user={user} />;
    case "profile":
      return <ProfilePage api={api} user={user} />;
    case "not_found":
      return <NotFoundPage path={route.path} />;
    case "home":
      return <RunsListPage api={api} />;
    case "runs":
      // A link to other filters opens the list anew; the list keeps the address up to date itself.
      return <RunsListPage key={route.search} api={api} />;
  }
}
