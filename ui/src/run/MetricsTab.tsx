import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import ColumnLayout from "@cloudscape-design/components/column-layout";
import Header from "@cloudscape-design/components/header";
import LineChart from "@cloudscape-design/components/line-chart";
import SpaceBetween from "@cloudscape-design/components/space-between";
import type { ApiClient } from "../api/client";
import type { Run } from "../api/types";
import { useReplicaMetrics } from "../hooks/useReplicaMetrics";
import {
  chartSeries, cpuDomain, fewestSamples, formatPercent, type MemoryScale, memoryScale, type ReplicaSamples,
} from "../metrics/series";

const time = (date: Date): string => date.toLocaleTimeString();

/** CPU and memory of each replica over time, as the host samples them (every 5 s). */
export function MetricsTab({ api, run }: { api: ApiClient; run: Run }) {
  const { samples, loaded, error } = useReplicaMetrics(api, run);
  const memory = memoryScale(samples);
  return (
    <SpaceBetween size="m">
      {error && <Alert type="warning" header="Could not read the metrics">{error.message}</Alert>}
      <ColumnLayout columns={2}>
        <MetricChart testId="cpu-chart" title="CPU" description="100% is one busy core" samples={samples} metric="cpu"
          loaded={loaded} yTickFormatter={formatPercent} yDomain={cpuDomain(samples)} />
        <MetricChart testId="memory-chart" title="Memory" description="resident memory of the replica's processes"
          samples={samples} metric="memory" loaded={loaded} yTickFormatter={memory.format} yDomain={memory.domain}
          memory={memory} />
      </ColumnLayout>
    </SpaceBetween>
  );
}

interface ChartProps {
  testId: string;
  title: string;
  description: string;
  samples: ReplicaSamples;
  metric: "cpu" | "memory";
  loaded: boolean;
  yTickFormatter: (value: number) => string;
  yDomain?: [number, number];
  /** How memory is drawn (in one binary unit); bytes for CPU's chart. */
  memory?: MemoryScale;
}

function MetricChart({ testId, title, description, samples, metric, loaded, yTickFormatter, yDomain, memory }: ChartProps) {
  const series = chartSeries(samples, metric, memory);
  // A line needs two samples: the fewest any replica has says whether every line is drawn (tests wait on it).
  return (
    <div data-testid={testId} data-fewest-samples={fewestSamples(samples)}>
      <Header variant="h3" description={description}>{title}</Header>
      <LineChart<Date>
        series={series}
        xScaleType="time"
        xTickFormatter={time}
        yTickFormatter={yTickFormatter}
        yDomain={yDomain}
        ariaLabel={`${title} per replica`}
        height={220}
        hideFilter
        statusType={loaded ? "finished" : "loading"}
        loadingText="Reading samples"
        empty={<Box textAlign="center" color="inherit">No samples yet: replicas are sampled every 5 s while they run</Box>}
        i18nStrings={{ xTickFormatter: time, yTickFormatter }}
      />
    </div>
  );
}
