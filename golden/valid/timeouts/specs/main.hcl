host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic-password"
  prune_timeout = "3h"
  check_timeout = "90min"
  drill_timeout = "1h 30min"
  retention {
    daily = 7
  }
}

service "media" {
  backup {
    repository = "nas"
    timeout    = "6h"
  }
  replication {
    target  = "syncoid@nas.example.net:backup/media"
    ssh_key = "/run/secrets/syncoid-key"
    timeout = "2h"
  }
}

# The defaults: 12 hours everywhere.
service "notes" {
  backup { repository = "nas" }
  replication { target = "tank/replicas/notes" }
}
