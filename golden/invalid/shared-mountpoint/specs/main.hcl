host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {
  mountpoint = "/var/lib/media"
}

service "sonarr" {
  mountpoint = "/var/lib/media"
}
