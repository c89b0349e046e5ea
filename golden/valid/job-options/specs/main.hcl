host "box" {
  parent_dataset  = "tank/services"
  parent_mount    = "/srv"
  sanoid_interval = "*:0/5"

  # All backup, replication, maintenance and drill units share one slice.
  jobs {
    memory_max       = "4G"
    cpu_quota        = "200%"
    io_weight        = 50
    randomized_delay = "2h"
  }
}

restic_repository "fresh" {
  url           = "/mnt/backup/restic"
  password_file = "/run/secrets/restic"
  # The repository does not exist yet: the first backup may create it.
  initialize = true
}

snapshot_policy "often" {
  frequently = 4
  hourly     = 24
}

service "vault" {
  backup { repository = "fresh" }
  snapshots { policy = "often" }
  replication {
    target       = "syncoid@backup.example.net:backup/box/vault"
    send_options = "wp"
  }
}
