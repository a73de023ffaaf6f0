// The shell: who is signed in, the top bar, and the page for the current address.

import AppLayout from "@cloudscape-design/components/app-layout";
import Spinner from "@cloudscape-design/components/spinner";
import TopNavigation from "@cloudscape-design/components/top-navigation";
import { useEffect } from "react";
import { useSession } from "./auth/useSession";
import { NotFoundPage } from "./pages/NotFoundPage";
import { RunDetailsPage } from "./pages/RunDetailsPage";
import { RunsListPage } from "./pages/RunsListPage";
import { SignInPage } from "./pages/SignInPage";
import { NavigationContext } from "./routing/navigation";
import { useRoute } from "./routing/useRoute";

export function App() {
  const { session, signIn, signOut } = useSession();
  const [route, navigate] = useRoute();

  useEffect(() => {
    if (session.state === "signed_in" && route.kind === "home") navigate("/runs");
  }, [session.state, route.kind, navigate]);

  if (session.state === "checking") return <div style={{ padding: 40 }}><Spinner size="large" /></div>;
  if (session.state === "signed_out") return <SignInPage error={session.error} onSignIn={signIn} />;

  const { api, user } = session;
  const page = route.kind === "run"
    ? <RunDetailsPage key={`${route.project}/${route.name}/${route.id}`} api={api} project={route.project}
        name={route.name} id={route.id} />
    : route.kind === "not_found" ? <NotFoundPage path={route.path} /> : <RunsListPage api={api} />;

  return (
    <NavigationContext.Provider value={navigate}>
      <div id="top-nav" style={{ position: "sticky", top: 0, zIndex: 1002 }}>
        <TopNavigation
          identity={{ title: "durastack", href: "/runs", onFollow: (event) => { event.preventDefault(); navigate("/runs"); } }}
          utilities={[
            { type: "button", text: "Runs", href: "/runs", onClick: (event) => { event.preventDefault(); navigate("/runs"); } },
            {
              type: "menu-dropdown", text: user.username, description: `global role: ${user.global_role}`,
              iconName: "user-profile",
              items: [{ id: "signout", text: "Sign out" }],
              onItemClick: ({ detail }) => { if (detail.id === "signout") signOut(); },
            },
          ]}
        />
      </div>
      <AppLayout headerSelector="#top-nav" navigationHide toolsHide content={page} />
    </NavigationContext.Provider>
  );
}
