# A "%" in a repository URL (here a percent-encoded password) would be expanded
# by systemd in Environment=, so restic gets the URL from a file instead.
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "rest" {
  url           = "rest:https://box:s3cr%40t@backup.example.net/box"
  password_file = "/run/secrets/restic/password"
  retention { daily = 14 }
}

service "notes" {
  backup { repository = "rest" }
}
