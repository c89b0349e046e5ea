host "box" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"

  # Impermanence: /persist holds the SSH host key (and so the secrets
  # identity). nixgen backs it up, snapshots and replicates it, and never
  # creates, changes or restores it.
  protect "persist" {
    dataset    = "rpool/safe/persist"
    mountpoint = "/persist"
    backup {
      repositories = ["nas", "r2"]
      exclude      = ["/persist/var/cache"]
    }
    snapshots { policy = "production" }
    replication {
      target       = "syncoid@backup.example.net:backup/box/persist"
      send_options = "wp"
    }
    notify = ["phone"]
  }

  protect "home" {
    dataset    = "rpool/safe/home"
    mountpoint = "/home"
    backup { repository = "nas" }
  }
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

restic_repository "r2" {
  url              = "s3:https://example.r2.cloudflarestorage.com/box"
  password_file    = "/run/secrets/restic-r2"
  environment_file = "/run/secrets/restic-r2.env"
}

snapshot_policy "production" {
  hourly = 24
  daily  = 7
}

notifier "phone" {
  type = "ntfy"
  url  = "https://ntfy.sh/my-homelab"
}

service "app" {}
