host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic-password"
}

service "media" {
  backup {
    repository = "nas"
    paths      = ["/srv/media/Movies ", "/srv/media/Shows"]
  }
}
