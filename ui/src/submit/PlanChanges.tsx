import Table from "@cloudscape-design/components/table";
import { stringify } from "yaml";
import type { FieldChange } from "../api/types";

const show = (value: unknown): string => (value === undefined || value === null ? "-" : stringify(value).trim());

/** What differs from the active run's configuration, field by field. */
export function PlanChanges({ changes }: { changes: FieldChange[] }) {
  return (
    <Table<FieldChange>
      variant="embedded"
      items={changes}
      ariaLabels={{ tableLabel: "Changes" }}
      columnDefinitions={[
        { id: "field", header: "Field", isRowHeader: true, cell: (change) => change.field },
        { id: "old", header: "Active run", cell: (change) => <pre style={{ margin: 0 }}>{show(change.old)}</pre> },
        { id: "new", header: "This configuration", cell: (change) => <pre style={{ margin: 0 }}>{show(change.new)}</pre> },
      ]}
    />
  );
}
