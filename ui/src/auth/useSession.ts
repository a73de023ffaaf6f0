// Who is signed in: the stored token, checked against the server (`get_my_user`).

import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiClient, ApiError } from "../api/client";
import { getMyUser } from "../api/endpoints";
import type { UserInfo } from "../api/types";
import { forgetToken, loadToken, saveToken } from "./tokenStore";

export type Session =
  | { state: "checking" }
  | { state: "signed_out"; error?: string }
  | { state: "signed_in"; api: ApiClient; user: UserInfo };

export interface SessionControls {
  session: Session;
  signIn: (token: string) => Promise<void>;
  signOut: () => void;
}

export function useSession(): SessionControls {
  const [session, setSession] = useState<Session>(() => (loadToken() ? { state: "checking" } : { state: "signed_out" }));

  const check = useCallback(async (token: string): Promise<void> => {
    const api = new ApiClient(token);
    try {
      const user = await getMyUser(api);
      saveToken(token);
      setSession({ state: "signed_in", api, user });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) forgetToken();
      setSession({ state: "signed_out", error: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  useEffect(() => {
    const token = loadToken();
    if (token) void check(token);
  }, [check]);

  const signOut = useCallback(() => {
    forgetToken();
    setSession({ state: "signed_out" });
  }, []);

  return useMemo(() => ({ session, signIn: check, signOut }), [session, check, signOut]);
}
