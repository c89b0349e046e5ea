host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["sonarr"]
}

restic_repository "nas" {
  url              = "/mnt/nas/restic/forge"
  password_file    = "/run/secrets/restic-password"
  environment_file = "/run/secrets/restic-env"
  retention {
    daily   = 14
    weekly  = 8
    monthly = 6
    yearly  = 2
  }
}

notifier "phone" {
  type       = "ntfy"
  url        = "https://ntfy.example.net/homelab"
  token_file = "/run/secrets/ntfy-token"
}

profile "sqlite" {
  recordsize  = "16K"
  compression = "zstd"
  properties  = { atime = "off" }
}

snapshot_policy "production" {
  hourly  = 24
  daily   = 7
  weekly  = 4
  monthly = 3
}

service "sonarr" {
  unit       = "sonarr.service"
  user       = "sonarr"
  group      = "sonarr"
  mode       = "0750"
  mountpoint = "/var/lib/sonarr"

  dataset {
    profile     = "sqlite"
    recordsize  = "16K"
    compression = "zstd"
    properties  = { "com.sun:auto-snapshot" = "true" }
  }

  backup {
    repository = "nas"
    exclude    = ["**/.cache", "**/*.tmp"]
    tags       = ["media"]
    schedule   = "daily"
  }

  snapshots { policy = "production" }
  replication { target = "zfs-recv@nas-1:backup/forge/sonarr" }

  preseed {
    methods    = ["syncoid", "local", "restic"]
    timeout    = "30m"
    on_failure = "start-empty"
  }

  notify = ["phone"]
}
