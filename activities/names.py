"""Activity names, shared by the workflow (which schedules them) and the workers."""

PROVISION_INSTANCE = "provision_instance"
WAIT_FOR_INSTANCE = "wait_for_instance"
RELEASE_INSTANCE = "release_instance"
WRITE_PROJECTION = "write_projection"
START_REPLICA = "start_replica"
WATCH_REPLICA = "watch_replica"
TERMINATE_REPLICA = "terminate_replica"
