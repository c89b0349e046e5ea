host "db" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

pgbackrest_repository "cloud" {
  type           = "s3"
  path           = "pgbackrest"
  s3_bucket      = "backups"
  s3_region      = "eu-west-1"
  sftp_host      = "nas.example.org"
  retention_full = 0
}

pgbackrest_repository "other" {
  type = "azure"
  path = "/x"
}
