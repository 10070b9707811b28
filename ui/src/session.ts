// Who is signed in: the role decides whether action buttons are enabled.
import { createContext, useContext } from "react";

/** The signed-in session. */
export interface Session {
  role: "admin" | "read";
  authEnabled: boolean;
}

export const SessionContext = createContext<Session>({ role: "read", authEnabled: false });

/** The current session. */
export function useSession(): Session {
  return useContext(SessionContext);
}

/** True when the session may change state. */
export function useCanAct(): boolean {
  return useSession().role === "admin";
}
