host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

restic_repository "b" {
  url           = "/mnt/b/restic"
  password_file = "/run/secrets/restic"
}

service "a" {
  backup { repositories = ["nas", "b"] }
}

service "a-b" {
  backup { repository = "nas" }
}
