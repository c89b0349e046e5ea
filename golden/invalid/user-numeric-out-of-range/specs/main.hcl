host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {
  user  = "4294967295"
  group = "0568"
}
