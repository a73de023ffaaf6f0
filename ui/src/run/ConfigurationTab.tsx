import Box from "@cloudscape-design/components/box";
import { stringify } from "yaml";

export function ConfigurationTab({ configuration }: { configuration: Record<string, unknown> }) {
  return (
    <Box variant="code">
      <pre data-testid="configuration-yaml" style={{ margin: 0, whiteSpace: "pre-wrap" }}>{stringify(configuration)}</pre>
    </Box>
  );
}
