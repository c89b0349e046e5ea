host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  backup {
    repository = "nas"
    exclude    = ["\u001b[31m"]
  }
}
restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}
