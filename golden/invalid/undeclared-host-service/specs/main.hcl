host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["sonarr", "radar"]
}

service "sonarr" {}
service "radarr" {}
