host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url              = "s3:s3.example.net/backups"
  password_file    = "/run/secrets/restic"
  environment_file = "/run/secrets/100%-s3.env"
}
