# One mistake, one error: the bad mountpoint and dataset name are not
# re-reported by the backup-path, overlap and system-directory checks.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

service "radarr" {
  mountpoint = "var/lib/media"
  dataset {
    name = "media/"
  }
  backup {
    repository = "nas"
    paths      = ["/var/lib/media/db"]
  }
}

service "sonarr" {
  mountpoint = "/var/lib/media"
  dataset {
    name = "media"
  }
}
