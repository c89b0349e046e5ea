host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = "sonarr"
}

service "sonarr" {}
