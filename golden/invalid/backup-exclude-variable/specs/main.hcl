host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic-password"
}

service "samba" {
  backup {
    repository = "nas"
    exclude    = ["**/$RECYCLE.BIN", "**/$${USER}-cache", "**/[$]ok", "**/cost$"]
  }
}
