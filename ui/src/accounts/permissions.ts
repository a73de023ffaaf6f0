// Who may do what with projects and members, as the API decides it (core/roles.py), so that the
// pages disable what would be refused and say why. The API checks again: this only spares a refusal.

import type { GlobalRole, ProjectRole } from "../api/types";

export interface Caller {
  globalRole: GlobalRole;
  /** The caller's role in the project; null for a global admin who is not a member. */
  projectRole: ProjectRole | null | undefined;
}

export const PROJECT_ROLES: readonly ProjectRole[] = ["admin", "manager", "user"];

const administers = (caller: Caller): boolean => caller.globalRole === "admin" || caller.projectRole === "admin";

/** Why `caller` may not move a user from role `current` to `next` (null: not a member), or null
 * when they may. Admins manage every member; managers add, remove and keep `user` members only. */
export function memberChangeRefusal(caller: Caller, current: ProjectRole | null, next: ProjectRole | null): string | null {
  if (administers(caller)) return null;
  if (caller.projectRole !== "manager") return "Only project admins and managers may change the members of a project";
  for (const role of [current, next]) {
    if (role !== null && role !== "user") return `Only a project admin may add, remove or change a project ${role}`;
  }
  return null;
}

/** The roles `caller` may give a member whose role is `current` (null: someone new), in PROJECT_ROLES' order. */
export const assignableRoles = (caller: Caller, current: ProjectRole | null): ProjectRole[] =>
  PROJECT_ROLES.filter((role) => memberChangeRefusal(caller, current, role) === null);

/** Why `caller` may not delete the project, or null when they may. */
export function projectDeleteRefusal(caller: Caller, projectName: string): string | null {
  return administers(caller) ? null : `Only admins of project ${projectName} and global admins may delete it`;
}

/** Why `caller` may not give a member whose role is `current` any other role, or null when they may. */
export function roleChangeRefusal(caller: Caller, current: ProjectRole): string | null {
  const refusal = memberChangeRefusal(caller, current, current);
  if (refusal) return refusal;
  return assignableRoles(caller, current).some((role) => role !== current)
    ? null : "Only a project admin may make a member a manager or an admin";
}
