host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "b2" {
  url              = "s3:https://s3.example.com/bucket/box"
  password_file    = "/run/secrets/restic/password"
  environment_file = "/run/secrets/restic/env"
  prune_schedule   = "Sun 03:00"
  check_schedule   = "monthly"
  check_subset     = "10%"
  drill_schedule   = "Sat *-*-* 05:00:00"
  retention {
    last    = 3
    hourly  = 24
    daily   = 7
    weekly  = 4
    monthly = 12
    yearly  = 3
  }
}

restic_repository "local" {
  url           = "/backup/restic"
  password_file = "/etc/nixos/secrets/restic"
}

service "paperless" {
  user  = "paperless"
  group = "paperless"
  backup {
    repository = "b2"
    paths      = ["/srv/paperless/media", "/srv/paperless/data"]
    exclude    = ["**/thumbnails", "*.log"]
    tags       = ["documents", "critical"]
    schedule   = "*-*-* 02:30:00"
  }
}

service "notes" {
  backup { repository = "local" }
}
