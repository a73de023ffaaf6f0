// Every user and their global role: for global admins, who also create users (with a first token,
// shown once) and set global roles; anyone else is told they are not allowed.

import Alert from "@cloudscape-design/components/alert";
import Button from "@cloudscape-design/components/button";
import Flashbar from "@cloudscape-design/components/flashbar";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import RadioGroup from "@cloudscape-design/components/radio-group";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useState } from "react";
import { RelativeTime } from "../components/RelativeTime";
import type { ApiClient } from "../api/client";
import { createUser, listUsers, setGlobalRole } from "../api/endpoints";
import type { GlobalRole, UserInfo, UserWithToken } from "../api/types";
import { FormModal } from "../components/FormModal";
import { NewTokenAlert } from "../components/NewTokenAlert";
import { useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";

const POLL_MS = 10_000;

const GLOBAL_ROLES = [
  { value: "user", label: "user", description: "Sees and uses the projects they are a member of; may create projects" },
  { value: "admin", label: "admin", description: "Everything: every project, user and token" },
];

export function UsersPage({ api, user }: { api: ApiClient; user: UserInfo }) {
  const admin = user.global_role === "admin";
  const users = usePolling((signal) => listUsers(api, signal), POLL_MS, "users", admin);
  const flash = useFlash();
  const [selected, setSelected] = useState<UserInfo[]>([]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<UserWithToken | null>(null);
  const [settingRole, setSettingRole] = useState<UserInfo | null>(null);

  if (!admin) {
    return (
      <Alert type="info" header="Not allowed">
        Only global admins can see the users. You are {user.username}, with the global role {user.global_role}.
      </Alert>
    );
  }
  const chosen = users.data?.find((row) => row.username === selected[0]?.username);
  return (
    <SpaceBetween size="m">
      <Flashbar items={flash.items} />
      {created && (
        <NewTokenAlert header={`User ${created.username} created; their first token:`} secret={created.token.token}
          onDismiss={() => setCreated(null)} />
      )}
      {users.error && <Alert type="error" header="Could not load the users">{users.error.message}</Alert>}
      <Table<UserInfo>
        variant="full-page"
        items={users.data ?? []}
        trackBy="username"
        loading={users.loading}
        loadingText="Loading users"
        selectionType="single"
        selectedItems={chosen ? [chosen] : []}
        onSelectionChange={({ detail }) => setSelected(detail.selectedItems)}
        ariaLabels={{ itemSelectionLabel: (_, row) => `Select user ${row.username}`, selectionGroupLabel: "Users" }}
        header={
          <Header variant="awsui-h1-sticky" counter={users.data ? `(${users.data.length})` : undefined}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button disabled={!chosen} disabledReason="Select a user first"
                  onClick={() => chosen && setSettingRole(chosen)}>Set global role</Button>
                <Button variant="primary" onClick={() => setCreating(true)}>Create user</Button>
              </SpaceBetween>
            }>
            Users
          </Header>
        }
        columnDefinitions={[
          { id: "name", header: "Username", isRowHeader: true, cell: (row) => row.username },
          { id: "role", header: "Global role", cell: (row) => row.global_role },
          { id: "created", header: "Created", cell: (row) => <RelativeTime iso={row.created_at} /> },
        ]}
      />
      {creating && (
        <CreateUserModal onClose={() => setCreating(false)} onSubmit={async (username, role) => {
          try {
            setCreated(await createUser(api, username, role));
          } catch (error) {
            flash.showError(`Could not create user ${username}`, error);
          }
          setCreating(false);
          users.refresh();
        }} />
      )}
      {settingRole && (
        <GlobalRoleModal target={settingRole} onClose={() => setSettingRole(null)} onSubmit={async (role) => {
          try {
            await setGlobalRole(api, settingRole.username, role);
            flash.show({ type: "success", header: `${settingRole.username} is now a global ${role}`, problems: [] });
          } catch (error) {
            flash.showError(`Could not set the global role of ${settingRole.username}`, error);
          }
          setSettingRole(null);
          users.refresh();
        }} />
      )}
    </SpaceBetween>
  );
}

function CreateUserModal({ onClose, onSubmit }: {
  onClose: () => void; onSubmit: (username: string, role: GlobalRole) => Promise<void>;
}) {
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<GlobalRole>("user");
  return (
    <FormModal header="Create a user" submitText="Create" onClose={onClose} submitDisabledReason={
      username.trim() ? undefined : "Enter a username"} onSubmit={() => onSubmit(username.trim(), role)}>
      <FormField label="Username" description="Letters, digits, '.', '_' and '-'">
        <Input value={username} onChange={({ detail }) => setUsername(detail.value)} placeholder="alice" />
      </FormField>
      <FormField label="Global role">
        <RadioGroup value={role} items={GLOBAL_ROLES} onChange={({ detail }) => setRole(detail.value as GlobalRole)} />
      </FormField>
    </FormModal>
  );
}

function GlobalRoleModal({ target, onClose, onSubmit }: {
  target: UserInfo; onClose: () => void; onSubmit: (role: GlobalRole) => Promise<void>;
}) {
  const [role, setRole] = useState<GlobalRole>(target.global_role);
  return (
    <FormModal header={`Set the global role of ${target.username}`} submitText="Save" onClose={onClose}
      submitDisabledReason={role === target.global_role ? `${target.username} is already a global ${role}` : undefined}
      onSubmit={() => onSubmit(role)}>
      <FormField label="Global role">
        <RadioGroup value={role} items={GLOBAL_ROLES} onChange={({ detail }) => setRole(detail.value as GlobalRole)} />
      </FormField>
    </FormModal>
  );
}
