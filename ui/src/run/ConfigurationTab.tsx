import Box from "@cloudscape-design/components/box";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { stringify } from "yaml";
import type { Run } from "../api/types";

/** The configuration as it was submitted (comments, order, `|` blocks and quotes as written), when
 * the client sent its text; otherwise as the server reads it, rendered as YAML. */
export function ConfigurationTab({ run }: { run: Pick<Run, "configuration" | "configuration_yaml"> }) {
  const submitted = run.configuration_yaml ?? null;
  return (
    <SpaceBetween size="xs">
      <Box variant="small" color="text-body-secondary" data-testid="configuration-source">
        {submitted !== null
          ? "As submitted."
          : "As the server reads it (its submitted text was not kept: an older client, or a configuration changed since)."}
      </Box>
      <Box variant="code">
        <pre data-testid="configuration-yaml" style={{ margin: 0, whiteSpace: "pre-wrap" }}>
          {submitted ?? stringify(run.configuration)}
        </pre>
      </Box>
    </SpaceBetween>
  );
}
