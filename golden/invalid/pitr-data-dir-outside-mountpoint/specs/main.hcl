host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "nas" {
  path = "/mnt/nas/pgbackrest"
}

service "postgresql" {
  postgresql {
    data_dir = "/var/lib/postgresql/16"
    pitr { repository = "nas" }
  }
}
