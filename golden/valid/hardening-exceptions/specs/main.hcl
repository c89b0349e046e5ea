# Settings that turn off a systemd sandboxing directive that would break the
# unit (docs/security.md).
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# rclone may rewrite its configuration below /root when it refreshes a
# token: no ProtectHome for its restic jobs and drill.
restic_repository "cloud" {
  url           = "rclone:gdrive:restic/box"
  password_file = "/run/secrets/restic-password"
}

restic_repository "local" {
  url           = "/mnt/restic"
  password_file = "/run/secrets/restic-password"
}

# A setgid directory: nixgen-datasets.service cannot have RestrictSUIDSGID.
service "shared" {
  group = "users"
  mode  = "2770"
  backup { repository = "cloud" }
}

# Data below /home: no ProtectHome for its backup.
service "photos" {
  mountpoint = "/home/photos"
  backup { repository = "local" }
}
