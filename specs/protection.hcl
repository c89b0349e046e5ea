# Where data goes: backups, snapshots and alerts.

restic_repository "nas" {
  url              = "sftp:restic@nas.lan:/backup/restic/homelab"
  password_file    = "/run/secrets/restic-password"
  environment_file = "/run/secrets/restic-env"

  retention {
    daily   = 14
    weekly  = 8
    monthly = 6
    yearly  = 2
  }

  prune_schedule = "Sun *-*-* 04:00:00"
  check_schedule = "monthly"
  check_subset   = "5%"
  drill_schedule = "weekly"
}

notifier "phone" {
  type       = "ntfy"
  url        = "https://ntfy.example.net/homelab"
  token_file = "/run/secrets/ntfy-token"
}

snapshot_policy "production" {
  frequently = 0
  hourly     = 24
  daily      = 7
  weekly     = 4
  monthly    = 3
}

snapshot_policy "media" {
  daily  = 7
  weekly = 2
}
