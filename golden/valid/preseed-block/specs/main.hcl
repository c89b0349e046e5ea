host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "sftp:backup@nas:/restic"
  password_file = "/run/secrets/restic"
}

service "immich" {
  user  = "immich"
  group = "immich"
  backup { repository = "nas" }
  replication { target = "recv@nas:backup/immich" }
  preseed {
    methods    = ["syncoid", "local", "restic"]
    timeout    = "2h"
    on_failure = "block"
  }
}

# Defaults: every method the service can use, 30m each, block.
service "gitea" {
  backup { repository = "nas" }
  preseed {}
}
