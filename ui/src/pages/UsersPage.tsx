// Every user and their global role: for global admins; anyone else is told so.

import Alert from "@cloudscape-design/components/alert";
import Header from "@cloudscape-design/components/header";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import type { ApiClient } from "../api/client";
import { listUsers } from "../api/endpoints";
import type { UserInfo } from "../api/types";
import { usePolling } from "../hooks/usePolling";
import { formatTime } from "../runs/format";

const POLL_MS = 10_000;

export function UsersPage({ api, user }: { api: ApiClient; user: UserInfo }) {
  const admin = user.global_role === "admin";
  const users = usePolling((signal) => listUsers(api, signal), POLL_MS, "users", admin);

  if (!admin) {
    return (
      <Alert type="info" header="Not allowed">
        Only global admins can see the users. You are {user.username}, with the global role {user.global_role}.
      </Alert>
    );
  }
  return (
    <SpaceBetween size="m">
      {users.error && <Alert type="error" header="Could not load the users">{users.error.message}</Alert>}
      <Table<UserInfo>
        variant="full-page"
        items={users.data ?? []}
        trackBy="username"
        loading={users.loading}
        loadingText="Loading users"
        header={<Header variant="awsui-h1-sticky" counter={users.data ? `(${users.data.length})` : undefined}>Users</Header>}
        columnDefinitions={[
          { id: "name", header: "Username", isRowHeader: true, cell: (row) => row.username },
          { id: "role", header: "Global role", cell: (row) => row.global_role },
          { id: "created", header: "Created", cell: (row) => formatTime(row.created_at) },
        ]}
      />
    </SpaceBetween>
  );
}
