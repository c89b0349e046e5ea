host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/restic"
  password_file = "/run/secrets/restic-password"
  prune_timeout = "forever"
  check_timeout = "0"
  drill_timeout = "500ms"
}

service "photos" {
  backup {
    repository = "nas"
    timeout    = "1 fortnight"
  }
}
