# Restore drills per repository; restic reaches sftp: and rclone: repositories
# through ssh and rclone, so the drill units get those on their path.
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

restic_repository "offsite" {
  url            = "sftp:restic@offsite.example.net:/srv/restic/box"
  password_file  = "/run/secrets/restic/offsite"
  drill_schedule = "Mon *-*-* 07:00:00"
}

restic_repository "cloud" {
  url              = "rclone:b2:box-restic"
  password_file    = "/run/secrets/restic/cloud"
  environment_file = "/run/secrets/restic/cloud.env"
  drill_schedule   = "monthly"
  check_subset     = "2.5%"
}

service "photos" {
  backup { repository = "offsite" }
}

service "docs" {
  backup { repository = "cloud" }
}
