// The caller's projects (every project for a global admin), with their members and roles: create
// and delete projects, add and remove members and change their roles, as far as the caller may
// (accounts/permissions.ts); what the caller may not do is disabled, with the reason.

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Flashbar from "@cloudscape-design/components/flashbar";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import RadioGroup from "@cloudscape-design/components/radio-group";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useState } from "react";
import {
  assignableRoles,
  type Caller,
  memberChangeRefusal,
  projectDeleteRefusal,
  roleChangeRefusal,
} from "../accounts/permissions";
import { RelativeTime } from "../components/RelativeTime";
import { ConfirmAction } from "../components/ConfirmAction";
import type { ApiClient } from "../api/client";
import { addMembers, createProject, deleteProjects, getProject, listProjects, removeMembers } from "../api/endpoints";
import type { Member, ProjectRole, ProjectWithMembers, UserInfo } from "../api/types";
import { FormModal } from "../components/FormModal";
import { type Flash, useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";

const POLL_MS = 10_000; // members change rarely; a slow refresh keeps the page true without a reload

const ROLE_TEXT: Record<ProjectRole, string> = {
  admin: "Everything in the project, its members included",
  manager: "Manages every run, and members with the user role",
  user: "Submits runs; manages their own",
};

export function ProjectsPage({ api, user }: { api: ApiClient; user: UserInfo }) {
  // The list has no members; each project's `get` has them (a page of projects, not of runs).
  const projects = usePolling(async (signal) => {
    const found = await listProjects(api, signal);
    return Promise.all(found.map((project) => getProject(api, project.project_name, signal)));
  }, POLL_MS, "projects");
  const flash = useFlash();
  const [selectedName, setSelectedName] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<ProjectWithMembers | null>(null);
  const [busy, setBusy] = useState(false);
  const admin = user.global_role === "admin";
  const selected = projects.data?.find((project) => project.project_name === selectedName);
  const caller = (project: ProjectWithMembers): Caller => ({ globalRole: user.global_role, projectRole: project.project_role });
  const deleteReason = selected ? projectDeleteRefusal(caller(selected), selected.project_name) : "Select a project first";

  const create = async (name: string): Promise<void> => {
    try {
      const project = await createProject(api, name);
      flash.show({ type: "success", header: `Project ${project.project_name} created; you are its admin`, problems: [] });
      setSelectedName(project.project_name);
    } catch (error) {
      flash.showError(`Could not create project ${name}`, error);
    }
    setCreating(false);
    projects.refresh();
  };

  const confirmDelete = async (project: ProjectWithMembers): Promise<void> => {
    setBusy(true);
    try {
      await deleteProjects(api, [project.project_name]);
      flash.show({ type: "success", header: `Project ${project.project_name} deleted`, problems: [] });
      setSelectedName(null);
    } catch (error) {
      flash.showError(`Could not delete project ${project.project_name}`, error);
    } finally {
      setBusy(false);
      setDeleting(null);
      projects.refresh();
    }
  };

  return (
    <SpaceBetween size="m">
      <Flashbar items={flash.items} />
      {projects.error && <Alert type="error" header="Could not load the projects">{projects.error.message}</Alert>}
      <Table<ProjectWithMembers>
        variant="full-page"
        items={projects.data ?? []}
        trackBy="project_name"
        loading={projects.loading}
        loadingText="Loading projects"
        selectionType="single"
        selectedItems={selected ? [selected] : []}
        onSelectionChange={({ detail }) => setSelectedName(detail.selectedItems[0]?.project_name ?? null)}
        ariaLabels={{ itemSelectionLabel: (_, project) => `Select project ${project.project_name}`,
          selectionGroupLabel: "Projects", tableLabel: "Projects" }}
        empty={<Box textAlign="center">You are not a member of any project</Box>}
        header={
          <Header variant="awsui-h1-sticky" counter={projects.data ? `(${projects.data.length})` : undefined}
            description={admin ? "Every project: you are a global admin" : "The projects you are a member of"}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button disabled={!!deleteReason} disabledReason={deleteReason ?? undefined}
                  onClick={() => selected && setDeleting(selected)}>Delete</Button>
                <Button variant="primary" onClick={() => setCreating(true)}>Create project</Button>
              </SpaceBetween>
            }>
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
          { id: "created", header: "Created", cell: (project) => <RelativeTime iso={project.created_at} /> },
        ]}
      />
      {selected
        ? <MembersTable key={selected.project_name} api={api} project={selected} caller={caller(selected)} flash={flash}
            onChanged={projects.refresh} />
        : projects.data?.length ? <Box color="text-body-secondary">Select a project to manage its members.</Box> : null}
      {creating && <CreateProjectModal onClose={() => setCreating(false)} onSubmit={create} />}
      <ConfirmAction busy={busy} onCancel={() => setDeleting(null)} onConfirm={() => deleting && void confirmDelete(deleting)}
        confirmation={deleting && {
          header: `Delete project ${deleting.project_name}?`, action: "Delete", skippedNote: null,
          body: (
            <span>
              Its {deleting.members.length} member{deleting.members.length === 1 ? "" : "s"} lose access to
              project <b>{deleting.project_name}</b> and to its runs' history, and its name becomes free for a new
              project. A project with active runs or fleets can't be deleted: stop or delete them first.
            </span>
          ),
        }} />
    </SpaceBetween>
  );
}

function MembersTable({ api, project, caller, flash, onChanged }: {
  api: ApiClient; project: ProjectWithMembers; caller: Caller; flash: Flash; onChanged: () => void;
}) {
  const [selectedName, setSelectedName] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [changing, setChanging] = useState<Member | null>(null);
  const [removing, setRemoving] = useState(false);
  const name = project.project_name;
  const selected = project.members.find((member) => member.username === selectedName);
  const addReason = assignableRoles(caller, null).length ? null : memberChangeRefusal(caller, null, "user");
  const changeReason = selected ? roleChangeRefusal(caller, selected.project_role) : "Select a member first";
  const removeReason = selected ? memberChangeRefusal(caller, selected.project_role, null) : "Select a member first";

  const setRole = async (username: string, role: ProjectRole, verb: string): Promise<void> => {
    try {
      await addMembers(api, name, [{ username, project_role: role }]);
      flash.show({ type: "success", header: `${username} ${verb} project ${name} as ${role}`, problems: [] });
      setSelectedName(username);
    } catch (error) {
      flash.showError(`Could not make ${username} a ${role} of project ${name}`, error);
    }
    setAdding(false);
    setChanging(null);
    onChanged();
  };

  const remove = async (member: Member): Promise<void> => {
    setRemoving(true);
    try {
      await removeMembers(api, name, [member.username]);
      flash.show({ type: "success", header: `${member.username} removed from project ${name}`, problems: [] });
      setSelectedName(null);
    } catch (error) {
      flash.showError(`Could not remove ${member.username} from project ${name}`, error);
    } finally {
      setRemoving(false);
      onChanged();
    }
  };

  return (
    <>
      <Table<Member>
        items={project.members}
        trackBy="username"
        selectionType="single"
        selectedItems={selected ? [selected] : []}
        onSelectionChange={({ detail }) => setSelectedName(detail.selectedItems[0]?.username ?? null)}
        ariaLabels={{ itemSelectionLabel: (_, member) => `Select member ${member.username}`,
          selectionGroupLabel: `Members of ${name}`, tableLabel: `Members of ${name}` }}
        empty={<Box textAlign="center">No members</Box>}
        header={
          <Header variant="h2" counter={`(${project.members.length})`}
            description={caller.projectRole ? `Your role: ${caller.projectRole}` : "You are a global admin"}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button disabled={!!removeReason} disabledReason={removeReason ?? undefined} loading={removing}
                  onClick={() => selected && void remove(selected)}>Remove</Button>
                <Button disabled={!!changeReason} disabledReason={changeReason ?? undefined}
                  onClick={() => selected && setChanging(selected)}>Change role</Button>
                <Button disabled={!!addReason} disabledReason={addReason ?? undefined}
                  onClick={() => setAdding(true)}>Add member</Button>
              </SpaceBetween>
            }>
            {`Members of ${name}`}
          </Header>
        }
        columnDefinitions={[
          { id: "username", header: "User", isRowHeader: true, cell: (member) => member.username },
          { id: "role", header: "Project role", cell: (member) => member.project_role },
        ]}
      />
      {adding && (
        <MemberModal header={`Add a member to ${name}`} submitText="Add" roles={assignableRoles(caller, null)}
          onClose={() => setAdding(false)} onSubmit={(username, role) => setRole(username, role, "added to")} />
      )}
      {changing && (
        <MemberModal header={`Change the role of ${changing.username} in ${name}`} submitText="Save" member={changing}
          roles={assignableRoles(caller, changing.project_role)} onClose={() => setChanging(null)}
          onSubmit={(username, role) => setRole(username, role, "is now in")} />
      )}
    </>
  );
}

/** Adds a member (`member` unset: the username is asked for) or changes one's role, among `roles`. */
function MemberModal({ header, submitText, member, roles, onClose, onSubmit }: {
  header: string; submitText: string; member?: Member; roles: ProjectRole[]; onClose: () => void;
  onSubmit: (username: string, role: ProjectRole) => Promise<void>;
}) {
  const [username, setUsername] = useState(member?.username ?? "");
  const [role, setRole] = useState<ProjectRole>(member?.project_role ?? (roles.includes("user") ? "user" : roles[0] ?? "user"));
  const reason = !username.trim() ? "Enter a username"
    : member && role === member.project_role ? `${member.username} is already a ${role}` : undefined;
  return (
    <FormModal header={header} submitText={submitText} onClose={onClose} submitDisabledReason={reason}
      onSubmit={() => onSubmit(username.trim(), role)}>
      {!member && (
        <FormField label="Username" description="An existing user (global admins create users on the Users page)">
          <Input value={username} onChange={({ detail }) => setUsername(detail.value)} placeholder="alice" />
        </FormField>
      )}
      <FormField label="Project role" description={roles.length < 3 ? "Only project admins may give other roles" : undefined}>
        <RadioGroup value={role} onChange={({ detail }) => setRole(detail.value as ProjectRole)}
          items={roles.map((value) => ({ value, label: value, description: ROLE_TEXT[value] }))} />
      </FormField>
    </FormModal>
  );
}

function CreateProjectModal({ onClose, onSubmit }: { onClose: () => void; onSubmit: (name: string) => Promise<void> }) {
  const [name, setName] = useState("");
  return (
    <FormModal header="Create a project" submitText="Create" onClose={onClose}
      submitDisabledReason={name.trim() ? undefined : "Enter a name"} onSubmit={() => onSubmit(name.trim())}>
      <FormField label="Name" description="Lowercase letters, digits and '-', starting with a letter; you become its admin">
        <Input value={name} onChange={({ detail }) => setName(detail.value)} placeholder="research" />
      </FormField>
    </FormModal>
  );
}
