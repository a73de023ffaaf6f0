import { describe, expect, it } from "vitest";
import { assignableRoles, type Caller, memberChangeRefusal, projectDeleteRefusal, roleChangeRefusal } from "./permissions";

const globalAdmin: Caller = { globalRole: "admin", projectRole: null };
const admin: Caller = { globalRole: "user", projectRole: "admin" };
const manager: Caller = { globalRole: "user", projectRole: "manager" };
const member: Caller = { globalRole: "user", projectRole: "user" };

describe("memberChangeRefusal (core/roles.py's rules)", () => {
  it("lets global admins and project admins change anyone", () => {
    for (const caller of [globalAdmin, admin]) {
      expect(memberChangeRefusal(caller, "admin", null)).toBeNull();
      expect(memberChangeRefusal(caller, null, "admin")).toBeNull();
      expect(memberChangeRefusal(caller, "manager", "user")).toBeNull();
    }
  });

  it("lets managers add, remove and keep user members only", () => {
    expect(memberChangeRefusal(manager, null, "user")).toBeNull();
    expect(memberChangeRefusal(manager, "user", null)).toBeNull();
    expect(memberChangeRefusal(manager, "user", "manager"))
      .toBe("Only a project admin may add, remove or change a project manager");
    expect(memberChangeRefusal(manager, "admin", null))
      .toBe("Only a project admin may add, remove or change a project admin");
  });

  it("refuses plain members", () => {
    expect(memberChangeRefusal(member, null, "user"))
      .toBe("Only project admins and managers may change the members of a project");
  });
});

describe("assignableRoles", () => {
  it("offers only the roles the caller may give", () => {
    expect(assignableRoles(admin, "user")).toEqual(["admin", "manager", "user"]);
    expect(assignableRoles(manager, null)).toEqual(["user"]);
    expect(assignableRoles(manager, "admin")).toEqual([]);
    expect(assignableRoles(member, null)).toEqual([]);
  });
});

describe("projectDeleteRefusal", () => {
  it("lets project admins and global admins delete", () => {
    expect(projectDeleteRefusal(globalAdmin, "lab")).toBeNull();
    expect(projectDeleteRefusal(admin, "lab")).toBeNull();
    expect(projectDeleteRefusal(manager, "lab")).toBe("Only admins of project lab and global admins may delete it");
  });
});

describe("roleChangeRefusal", () => {
  it("says why a member's role can't change", () => {
    expect(roleChangeRefusal(admin, "user")).toBeNull();
    expect(roleChangeRefusal(manager, "user")).toBe("Only a project admin may make a member a manager or an admin");
    expect(roleChangeRefusal(manager, "admin")).toBe("Only a project admin may add, remove or change a project admin");
    expect(roleChangeRefusal(member, "user"))
      .toBe("Only project admins and managers may change the members of a project");
  });
});
