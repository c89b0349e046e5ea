host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "rest" {
  url           = "rest:https://backup:hunter2@backup.example.net:8000/forge"
  password_file = "/run/secrets/restic-password"
}

restic_repository "sftp" {
  url           = "sftp://backup:hunter2@nas.example.net//srv/restic"
  password_file = "/run/secrets/restic-password"
}

restic_repository "token" {
  url           = "rest:https://backup.example.net/forge?token=hunter2"
  password_file = "/run/secrets/restic-password"
}

restic_repository "rclone" {
  url           = "rclone::s3,provider=AWS,secret_access_key=hunter2:bucket/forge"
  password_file = "/run/secrets/restic-password"
}
