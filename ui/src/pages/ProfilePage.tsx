// The signed-in user: who they are, their projects, and their own tokens (create, revoke).

import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Flashbar from "@cloudscape-design/components/flashbar";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useState } from "react";
import { RelativeTime } from "../components/RelativeTime";
import { ConfirmAction } from "../components/ConfirmAction";
import { type ApiClient, ApiError } from "../api/client";
import { createMyToken, getMyUser, listMyTokens, listProjects, revokeToken } from "../api/endpoints";
import type { IssuedTokenInfo, TokenInfo, UserInfo } from "../api/types";
import { FormModal } from "../components/FormModal";
import { NewTokenAlert } from "../components/NewTokenAlert";
import { useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";

const POLL_MS = 30_000; // last use moves by the minute

export function ProfilePage({ api, user }: { api: ApiClient; user: UserInfo }) {
  const flash = useFlash();
  const tokens = usePolling((signal) => listMyTokens(api, signal), POLL_MS, "tokens");
  const projects = usePolling((signal) => listProjects(api, signal), POLL_MS, "profile-projects");
  const [creating, setCreating] = useState(false);
  const [tokenName, setTokenName] = useState("");
  const [issued, setIssued] = useState<IssuedTokenInfo | null>(null);
  const [revoking, setRevoking] = useState<TokenInfo | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (): Promise<void> => {
    try {
      setIssued(await createMyToken(api, tokenName.trim()));
      setTokenName("");
    } catch (error) {
      flash.showError("Could not create the token", error);
    }
    setCreating(false);
    tokens.refresh();
  };

  const revoke = async (token: TokenInfo): Promise<void> => {
    setBusy(true);
    try {
      await revokeToken(api, token.id);
      if (await signedInWithRevoked(api)) {
        window.location.reload(); // the session finds its token revoked and asks to sign in again
        return;
      }
      flash.show({ type: "success", header: `Revoked token ${tokenLabel(token)}: requests with it are refused`,
        problems: [] });
    } catch (error) {
      flash.showError(`Could not revoke token ${tokenLabel(token)}`, error);
    } finally {
      setBusy(false);
      setRevoking(null);
      tokens.refresh();
    }
  };

  return (
    <SpaceBetween size="m">
      <Header variant="h1">Your profile</Header>
      <Flashbar items={flash.items} />
      {issued && (
        <NewTokenAlert header={`Token ${tokenLabel(issued)} created`} secret={issued.token}
          onDismiss={() => setIssued(null)} />
      )}
      <Container header={<Header variant="h2">User</Header>} data-testid="profile-user">
        <KeyValuePairs columns={4} items={[
          { label: "Username", value: user.username },
          { label: "Global role", value: user.global_role },
          { label: "Created", value: <RelativeTime iso={user.created_at} /> },
          {
            label: "Projects", value: projects.data
              ? projects.data.map((p) => `${p.project_name} (${p.project_role ?? "global admin"})`).join(", ") || "none"
              : projects.error?.message ?? "…",
          },
        ]} />
      </Container>
      <Table<TokenInfo>
        items={tokens.data ?? []}
        trackBy="id"
        loading={tokens.loading}
        loadingText="Loading your tokens"
        empty={<Box textAlign="center">No tokens: create one to use the CLI or the API</Box>}
        header={
          <Header variant="h2" counter={tokens.data ? `(${tokens.data.length})` : undefined}
            description="Tokens that still work; their secrets are shown only when created"
            actions={<Button onClick={() => setCreating(true)}>Create token</Button>}>
            Tokens
          </Header>
        }
        columnDefinitions={[
          { id: "name", header: "Name", isRowHeader: true, cell: (token) => tokenLabel(token) },
          { id: "id", header: "Id", cell: (token) => <Box variant="code">{token.id}</Box> },
          { id: "created", header: "Created", cell: (token) => <RelativeTime iso={token.created_at} /> },
          {
            id: "last_used", header: "Last used",
            cell: (token) => <RelativeTime iso={token.last_used_at} missing="never" />,
          },
          {
            id: "actions", header: "Actions",
            cell: (token) => (
              <Button ariaLabel={`Revoke token ${tokenLabel(token)}`} onClick={() => setRevoking(token)}>Revoke</Button>
            ),
          },
        ]}
      />
      {creating && (
        <FormModal header="Create a token" submitText="Create" onClose={() => setCreating(false)} onSubmit={create}>
          <FormField label="Name" description="A label to recognise it by, such as the machine it is for">
            <Input value={tokenName} onChange={({ detail }) => setTokenName(detail.value)} placeholder="laptop" />
          </FormField>
        </FormModal>
      )}
      <ConfirmAction busy={busy} onCancel={() => setRevoking(null)} onConfirm={() => revoking && void revoke(revoking)}
        confirmation={revoking && {
          header: `Revoke token ${tokenLabel(revoking)}?`, action: "Revoke", skippedNote: null,
          body: "Requests with this token are refused from now on. If this browser signed in with it, you will have "
            + "to sign in again.",
        }} />
    </SpaceBetween>
  );
}

const tokenLabel = (token: TokenInfo): string => token.name || "(unnamed)";

/** Whether the token this browser signed in with is the one just revoked. */
async function signedInWithRevoked(api: ApiClient): Promise<boolean> {
  try {
    await getMyUser(api);
    return false;
  } catch (error) {
    return error instanceof ApiError && error.status === 401;
  }
}
