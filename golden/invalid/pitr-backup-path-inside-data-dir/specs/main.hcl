host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "nas" {
  path = "/mnt/nas/pgbackrest"
}

restic_repository "offsite" {
  url           = "/mnt/backup/restic"
  password_file = "/run/secrets/restic"
}

service "postgresql" {
  backup {
    repository = "offsite"
    paths      = ["/srv/postgresql/base"]
  }
  postgresql {
    pitr { repository = "nas" }
  }
}
