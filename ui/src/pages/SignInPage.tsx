// Sign in with an API token (the server prints the admin's; `durastack token create` makes more).

import Alert from "@cloudscape-design/components/alert";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Form from "@cloudscape-design/components/form";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { useState } from "react";

interface Props {
  error?: string;
  onSignIn: (token: string) => Promise<void>;
}

export function SignInPage({ error, onSignIn }: Props) {
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (): Promise<void> => {
    setBusy(true);
    try {
      await onSignIn(token.trim());
    } finally {
      setBusy(false);
    }
  };
  return (
    <div style={{ maxWidth: 520, margin: "10vh auto" }}>
      <form onSubmit={(event) => { event.preventDefault(); void submit(); }}>
        <Form actions={<Button variant="primary" formAction="submit" loading={busy} disabled={!token.trim()}>Sign in</Button>}>
          <Container header={<Header variant="h1" description="Use a token printed by `durastack server` or made with `durastack token create`.">Sign in to durastack</Header>}>
            <SpaceBetween size="m">
              {error && <Alert type="error" header="Could not sign in">{error}</Alert>}
              <FormField label="Token" controlId="token">
                <Input controlId="token" type="password" value={token} autoFocus
                  onChange={({ detail }) => setToken(detail.value)} />
              </FormField>
            </SpaceBetween>
          </Container>
        </Form>
      </form>
    </div>
  );
}
