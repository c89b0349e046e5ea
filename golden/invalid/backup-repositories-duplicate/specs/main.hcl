host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

service "vault" {
  backup { repositories = ["nas", "nass", "nas"] }
}

service "notes" {
  backup { repositories = [] }
}
