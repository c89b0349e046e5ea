host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "nas" {
  path = "/mnt/nas/pgbackrest"
}

service "postgresql" {
  unit = "postgresql@15.service"
  postgresql {
    pitr { repository = "nas" }
  }
}

service "pg-container" {
  container = "pg"
  postgresql {
    pitr { repository = "nas" }
  }
}
