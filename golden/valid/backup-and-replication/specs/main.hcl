# One dataset that is backed up, snapshotted and replicated: the backup and the
# replication take the same lock (/run/nixgen/locks/wiki.lock), so they never
# run at once. Each job unit reports to the notifiers through OnFailure= and
# OnSuccess=; repository jobs report to the union of the services' notifiers.
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url            = "rest:https://backup.example.net/box"
  password_file  = "/run/secrets/restic/password"
  check_schedule = "Sun 04:00"
  drill_schedule = "*-*-01 06:00:00"
  retention {
    daily  = 7
    weekly = 4
  }
}

notifier "phone" {
  type = "ntfy"
  url  = "https://ntfy.sh/box"
}

notifier "ops" {
  type = "webhook"
  url  = "https://hooks.example.net/nixgen"
}

snapshot_policy "hourly" {
  hourly = 24
  daily  = 7
}

service "wiki" {
  backup {
    repository = "nas"
    schedule   = "*-*-* 01:15:00"
  }
  snapshots { policy = "hourly" }
  replication {
    target   = "zfs-recv@vault:backup/box/wiki"
    ssh_key  = "/run/secrets/syncoid-key"
    schedule = "*:0/30"
  }
  preseed { methods = ["syncoid", "restic"] }
  notify = ["phone"]
}

service "chat" {
  backup { repository = "nas" }
  notify = ["ops", "phone"]
}
