host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {
  container = "../radarr"
}
