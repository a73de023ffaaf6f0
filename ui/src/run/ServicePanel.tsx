import Box from "@cloudscape-design/components/box";
import Container from "@cloudscape-design/components/container";
import CopyToClipboard from "@cloudscape-design/components/copy-to-clipboard";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import Link from "@cloudscape-design/components/link";
import { formatTime } from "../runs/format";
import type { Serving } from "../service/serving";

/** Where a service is reached (the API's proxy), its ready replicas, autoscaling and deployment. */
export function ServicePanel({ service }: { service: Serving }) {
  return (
    <Container header={<Header variant="h2">Service</Header>}>
      <KeyValuePairs
        columns={4}
        items={[
          {
            label: "URL",
            value: (
              <span data-testid="service-url">
                <Link href={service.url} external>{service.url}</Link>{" "}
                <CopyToClipboard variant="icon" textToCopy={service.url} copyButtonAriaLabel="Copy the URL"
                  copySuccessText="URL copied" copyErrorText="Could not copy the URL" />
              </span>
            ),
          },
          { label: "Ready replicas", value: <span data-testid="ready-replicas">{service.readyReplicas}</span> },
          {
            label: "Autoscaling",
            value: service.autoscaling ? (
              <span data-testid="autoscaling">
                {service.autoscaling}
                {service.lastDecision && (
                  <Box variant="small" display="block" color="text-body-secondary">
                    {service.lastDecision.message} · {formatTime(service.lastDecision.timestamp)}
                  </Box>
                )}
              </span>
            ) : "off (scaled by hand)",
          },
          {
            label: "Deployment",
            value: <span data-testid="deployment">{service.deployment}{service.rollingOut ? " (rolling update under way)" : ""}</span>,
          },
        ]}
      />
    </Container>
  );
}
