# A "%" in a repository URL (here a percent-encoded path) would be expanded
# by systemd in Environment=, so restic gets the URL from a file instead. (A
# password in a URL is an error: use repository_file.)
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "rest" {
  url           = "rest:https://backup.example.net/b%6Fx%20repo"
  password_file = "/run/secrets/restic/password"
  retention { daily = 14 }
}

service "notes" {
  backup { repository = "rest" }
}
