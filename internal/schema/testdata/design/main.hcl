# The example spec of the documentation, plus the postgresql service its host names.
host "forge" {
  parent_dataset = "tank/services"   # required; every service dataset is created below it
  parent_mount   = "/srv"            # required, absolute; default mountpoint root
  services       = ["sonarr", "postgresql"]   # services this host runs; default: all
}

restic_repository "nas" {
  url              = "/mnt/nas/restic/forge"   # any restic repository string
  password_file    = "/run/secrets/restic-password"
  environment_file = "/run/secrets/restic-env"  # optional (S3 keys etc.)
  retention {
    daily   = 14
    weekly  = 8
    monthly = 6
    yearly  = 2
  }
}

notifier "phone" {
  type = "ntfy"                      # "ntfy" | "webhook"
  url  = "https://ntfy.example.net/homelab"
  token_file = "/run/secrets/ntfy-token"        # optional
}

profile "sqlite" {                   # reusable dataset settings; built-in profiles exist
  recordsize  = "16K"
  compression = "zstd"
  properties  = { atime = "off" }
}

snapshot_policy "production" {       # a sanoid template
  hourly  = 24
  daily   = 7
  weekly  = 4
  monthly = 3
}

service "sonarr" {
  unit  = "sonarr.service"           # default "<name>.service"
  user  = "sonarr"                   # owner of the mountpoint; default "root"
  group = "sonarr"                   # default "root"
  mode  = "0750"                     # default "0750"
  mountpoint = "/var/lib/sonarr"     # default "<parent_mount>/<name>"

  dataset {
    profile     = "sqlite"           # optional; explicit attributes override it
    recordsize  = "16K"
    compression = "zstd"
    properties  = { "com.sun:auto-snapshot" = "true" }
  }

  backup {                           # restic
    repository = "nas"
    exclude    = ["**/.cache", "**/*.tmp"]
    tags       = ["media"]
    schedule   = "daily"             # systemd OnCalendar
  }

  snapshots { policy = "production" }                       # sanoid
  replication { target = "zfs-recv@nas-1:backup/forge/sonarr" }   # syncoid

  preseed {
    methods    = ["syncoid", "local", "restic"]   # tried in this order
    timeout    = "30m"                            # per method
    on_failure = "start-empty"       # or "block": the service does not start
  }

  notify = ["phone"]
}

service "postgresql" {
  dataset { profile = "postgres" }
  backup { repository = "nas" }
  preseed {}
}
