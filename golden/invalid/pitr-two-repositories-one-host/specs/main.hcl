host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "nas" {
  path = "/mnt/nas/pgbackrest"
}

pgbackrest_repository "cloud" {
  type        = "s3"
  path        = "/pgbackrest"
  s3_bucket   = "backups"
  s3_endpoint = "s3.example.org"
  s3_region   = "eu-west-1"
}

service "a" {
  postgresql {
    pitr { repository = "nas" }
  }
}

service "b" {
  postgresql {
    pitr { repository = "cloud" }
  }
}
