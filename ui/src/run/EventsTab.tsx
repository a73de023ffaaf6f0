import Table from "@cloudscape-design/components/table";
import type { RunEvent } from "../api/types";
import { formatTime } from "../runs/format";

/** The run's timeline, as the workflow recorded it (a bounded list, oldest first). */
export function EventsTab({ events }: { events: RunEvent[] }) {
  return (
    <Table<RunEvent>
      variant="embedded"
      items={events}
      empty={<span>No events</span>}
      columnDefinitions={[
        { id: "time", header: "Time", cell: (event) => formatTime(event.timestamp) },
        { id: "replica", header: "Replica", cell: (event) => event.replica_num ?? "-" },
        { id: "submission", header: "Submission", cell: (event) => event.submission_num ?? "-" },
        { id: "message", header: "Event", cell: (event) => event.message },
      ]}
    />
  );
}
