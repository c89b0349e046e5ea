host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "both" {
  url             = "/mnt/restic"
  repository_file = "/run/secrets/restic-repository"
  password_file   = "/run/secrets/restic-password"
}

restic_repository "neither" {
  password_file = "/run/secrets/restic-password"
}

restic_repository "relative" {
  repository_file = "secrets/restic-repository"
  password_file   = "/run/secrets/restic-password"
}

restic_repository "percent" {
  repository_file = "/run/secrets/%H-repository"
  password_file   = "/run/secrets/restic-password"
}
