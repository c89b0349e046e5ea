host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "nas" {
  path             = "/mnt/nas/pgbackrest"
  retention_full   = 4
  cipher_pass_file = "/run/secrets/pgbackrest-cipher"
}

restic_repository "offsite" {
  url           = "/mnt/backup/restic"
  password_file = "/run/secrets/restic"
}

notifier "ops" {
  type = "ntfy"
  url  = "https://ntfy.example.org/ops"
}

service "postgresql" {
  user       = "postgres"
  group      = "postgres"
  mountpoint = "/var/lib/postgresql"
  notify     = ["ops"]
  dataset { profile = "postgres" }
  backup { repository = "offsite" }
  postgresql {
    data_dir = "/var/lib/postgresql/16"
    pitr {
      repository      = "nas"
      full_schedule   = "Sun *-*-* 03:00:00"
      diff_schedule   = "Mon..Sat *-*-* 03:00:00"
      archive_timeout = "5m"
    }
  }
  preseed { methods = ["pgbackrest", "syncoid", "local"] }
  replication { target = "backup/postgresql" }
}
