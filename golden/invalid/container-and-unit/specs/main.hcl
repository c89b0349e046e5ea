host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {
  unit      = "radarr.service"
  container = "radarr"
}
