// The caller's projects (every project for a global admin), with their members and roles.

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Header from "@cloudscape-design/components/header";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import type { ApiClient } from "../api/client";
import { getProject, listProjects } from "../api/endpoints";
import type { ProjectWithMembers, UserInfo } from "../api/types";
import { usePolling } from "../hooks/usePolling";
import { formatTime } from "../runs/format";

const POLL_MS = 10_000; // members change rarely; a slow refresh keeps the page true without a reload

export function ProjectsPage({ api, user }: { api: ApiClient; user: UserInfo }) {
  // The list has no members; each project's `get` has them (a page of projects, not of runs).
  const projects = usePolling(async (signal) => {
    const found = await listProjects(api, signal);
    return Promise.all(found.map((project) => getProject(api, project.project_name, signal)));
  }, POLL_MS, "projects");
  const admin = user.global_role === "admin";

  return (
    <SpaceBetween size="m">
      {projects.error && <Alert type="error" header="Could not load the projects">{projects.error.message}</Alert>}
      <Table<ProjectWithMembers>
        variant="full-page"
        items={projects.data ?? []}
        trackBy="project_name"
        loading={projects.loading}
        loadingText="Loading projects"
        empty={<Box textAlign="center">You are not a member of any project</Box>}
        header={
          <Header variant="awsui-h1-sticky" counter={projects.data ? `(${projects.data.length})` : undefined}
            description={admin ? "Every project: you are a global admin" : "The projects you are a member of"}>
            Projects
          </Header>
        }
        columnDefinitions={[
          { id: "name", header: "Name", isRowHeader: true, cell: (project) => project.project_name },
          { id: "role", header: "Your role", cell: (project) => project.project_role ?? "- (global admin)" },
          {
            id: "members", header: "Members",
            cell: (project) => (
              <ul data-testid={`members-${project.project_name}`} style={{ margin: 0, paddingLeft: 16 }}>
                {project.members.map((member) => <li key={member.username}>{`${member.username} (${member.project_role})`}</li>)}
              </ul>
            ),
          },
          { id: "created", header: "Created", cell: (project) => formatTime(project.created_at) },
        ]}
      />
    </SpaceBetween>
  );
}
