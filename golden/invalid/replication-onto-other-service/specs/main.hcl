host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {}

service "sonarr" {
  replication {
    target = "tank/services/radarr/sonarr"
  }
}
