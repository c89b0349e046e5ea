host "box" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"

  protect "all" {
    dataset    = "rpool"
    mountpoint = "/"
    backup { repository = "nas" }
  }

  protect "app" {
    dataset    = "rpool/safe/app"
    mountpoint = "/var/lib/app"
  }
}

restic_repository "nas" {
  url           = "/mnt/nas/restic"
  password_file = "/run/secrets/restic"
}

service "app" {}
