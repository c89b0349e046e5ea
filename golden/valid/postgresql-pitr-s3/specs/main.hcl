host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "cloud" {
  type             = "s3"
  path             = "/pgbackrest"
  s3_bucket        = "backups"
  s3_endpoint      = "s3.example.org"
  s3_region        = "eu-west-1"
  environment_file = "/run/secrets/pgbackrest-s3.env"
}

service "pg" {
  unit  = "postgresql.service"
  user  = "postgres"
  group = "postgres"
  dataset { profile = "postgres" }
  postgresql {
    pitr {
      repository    = "cloud"
      diff_schedule = "Wed *-*-* 03:00:00"
    }
  }
  preseed {}
}
