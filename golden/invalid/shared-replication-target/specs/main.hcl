host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {
  replication {
    target = "backup@nas:backup/media"
  }
}

service "sonarr" {
  replication {
    target = "nas:backup/media/sonarr"
  }
}
